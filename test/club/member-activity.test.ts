import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activitySplit, refreshMemberActivity } from '../../src/club/analytics/activity.ts';
import { cohortReport } from '../../src/club/analytics/cohorts.ts';
import { membersReport } from '../../src/club/analytics/members.ts';
import { addDays, customPeriod, jalaliMonthStarts, nextJalaliMonth, periodFor, type Period } from '../../src/club/analytics/period.ts';
import { applyImport, previewImport } from '../../src/club/import/imports.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase, voidPurchase } from '../../src/club/purchases.ts';
import { createBranch } from '../../src/club/staff.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { zonedMidnight } from '../../src/lib/zoned.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const TZ = 'Asia/Tehran';
const DAY = 86_400_000;
// Sunday 8 Azar 1405, noon in Tehran: Aban and the months before it are over, Azar is open.
const now = new Date('2026-11-29T08:30:00Z');
// 1 Aban 1405 begins at 2026-10-22T20:30Z in Tehran; in UTC it begins three and a half hours later.
const ABAN_TEHRAN = new Date('2026-10-22T20:30:00Z');

interface Expected {
  frequency: number[];
  sizes: number[];
  retained: (number | null)[][];
}

/**
 * The per-member monthly activity rollup (src/club/analytics/activity.ts) behind the members
 * report's frequency bands and the cohort grid: the reports' numbers are compared with a direct
 * count over the purchases and members tables, before the job ran, after it, after a void in a
 * month it holds, after a purchase imported into such a month, across a month boundary of the
 * club's zone, and after the zone changed.
 */
describe(`member activity rollup keeps the reports exact (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let owner = 0;
  let north = 0;
  const members: number[] = [];
  const periods = (tz: string): Period[] => [
    periodFor('year', now, tz),
    periodFor('month', now, tz),
    periodFor('last_month', now, tz),
    periodFor('week', now, tz),
    customPeriod('1405/2/15', '1405/7/10', tz), // starts and ends inside months
    customPeriod('1404/8/1', '1405/8/30', tz), // whole months, more than a year
  ];

  /** The direct way: every recorded purchase and member, counted here. */
  async function expected(period: Period, branchId: number | null): Promise<Expected> {
    const db = database.db;
    const purchases = (await db.selectFrom('purchases').select(['member_id', 'branch_id', 'created_at']).where('status', '=', 'recorded').execute())
      .filter((p) => branchId === null || p.branch_id === branchId);
    const joined = await db.selectFrom('members').select(['id', 'joined_at']).execute();
    const counts = new Map<number, number>();
    for (const p of purchases) if (p.created_at >= period.from && p.created_at < period.to) counts.set(p.member_id, (counts.get(p.member_id) ?? 0) + 1);
    const frequency = [0, 0, 0, 0, 0];
    for (const n of counts.values()) frequency[n >= 10 ? 4 : n >= 5 ? 3 : n >= 3 ? 2 : n >= 2 ? 1 : 0]!++;
    const starts = jalaliMonthStarts(addDays(period.endIso, -1), 12);
    const bounds = [...starts, nextJalaliMonth(starts.at(-1)!)].map((iso) => zonedMidnight(iso, period.timeZone));
    const monthOf = (t: Date) => bounds.findIndex((b, i) => i < 12 && t >= b && t < bounds[i + 1]!);
    const cohort = new Map(joined.map((m) => [m.id, monthOf(m.joined_at)]));
    const sizes = starts.map((_, c) => [...cohort.values()].filter((x) => x === c).length);
    const retained = starts.map((_, c) => starts.map((__, k) => (c + k < 12 ? 0 : null)) as (number | null)[]);
    const pairs = new Set(purchases.map((p) => `${p.member_id}:${monthOf(p.created_at)}`));
    for (const pair of pairs) {
      const [member, k] = pair.split(':').map(Number) as [number, number];
      const c = cohort.get(member) ?? -1;
      if (c >= 0 && k >= c) retained[c]![k - c]!++;
    }
    return { frequency, sizes, retained };
  }

  async function reported(period: Period, branchId: number | null): Promise<Expected> {
    const scope = { period, branchId };
    const m = await membersReport(database.db, scope, now);
    const c = await cohortReport(database.db, scope);
    expect(m.active).toBe(m.frequency.reduce((s, f) => s + f.members, 0));
    return { frequency: m.frequency.map((f) => f.members), sizes: c.sizes, retained: c.retained };
  }

  async function expectExact(tz: string) {
    for (const period of periods(tz)) {
      for (const branchId of [null, 1, north]) {
        expect(await reported(period, branchId), `${period.startIso}..${period.endIso} branch ${branchId} in ${tz}`).toEqual(await expected(period, branchId));
      }
    }
  }

  const monthsHeld = async () =>
    (await sql<{ month: string; dirty: boolean }>`select month::text as month, dirty from member_activity_months order by month`.execute(database.db)).rows;

  beforeAll(async () => {
    database = await testDatabase();
    const db = database.db;
    const opened = new Date('2025-09-01T08:00:00Z');
    const join = (i: number, at: Date, ownerPhones: string[] = []) =>
      joinClub(db, { platform: 'telegram', userId: 9500 + i, chatId: 9500 + i }, { phone: `+9891200005${String(i).padStart(2, '0')}`, firstName: `M${i}`, locale: 'fa' }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones, now: at });
    owner = (await join(0, opened, ['+989120000500'])).member.id;
    north = (await createBranch(db, owner, 'North', opened)).id;
    // Eight members joining a month or so apart, each buying at either branch every 12 to 45 days.
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 1; i <= 8; i++) {
      const joined = new Date(opened.getTime() + i * 41 * DAY + random() * DAY);
      const id = (await join(i, joined)).member.id;
      members.push(id);
      for (let at = joined.getTime() + random() * 5 * DAY; at < now.getTime() - DAY; at += (12 + random() * 33) * DAY) {
        await recordPurchase(db, { memberId: id, branchId: random() < 0.6 ? 1 : north, cashierMemberId: owner, amountRials: 1_000_000, operationId: randomUUID() }, { now: new Date(at), timeZone: TZ });
      }
    }
    // On the last millisecond of Mehr and the first of Aban in Tehran (both Mehr in UTC), and
    // today, in the open month.
    for (const at of [new Date(ABAN_TEHRAN.getTime() - 1), ABAN_TEHRAN, new Date(now.getTime() - 3_600_000)]) {
      await recordPurchase(db, { memberId: members[0]!, branchId: 1, cashierMemberId: owner, amountRials: 2_000_000, operationId: randomUUID() }, { now: at, timeZone: TZ });
    }
  }, 180_000);
  afterAll(() => database?.close());

  it('before the job: nothing held, every report read from purchases', async () => {
    expect(await activitySplit(database.db, periodFor('year', now, TZ).from, periodFor('year', now, TZ).to, TZ)).toEqual({ months: [], live: [[periodFor('year', now, TZ).from, periodFor('year', now, TZ).to]] });
    await expectExact(TZ);
  });

  it('the job holds each month over (an hour after it ends), once; the open month stays live', async () => {
    const first = await refreshMemberActivity(database.db, now, TZ);
    // From the first purchase's month (Mehr 1404) to Aban 1405; Azar is open.
    expect(first.built[0]).toBe('2025-09-23');
    expect(first.built.at(-1)).toBe('2026-10-23');
    expect(first.built).toHaveLength(14);
    expect(await refreshMemberActivity(database.db, now, TZ)).toEqual({ built: [], rezoned: false });
    const year = periodFor('year', now, TZ);
    const split = await activitySplit(database.db, year.from, year.to, TZ);
    expect(split.months).toEqual(jalaliMonthStarts('2026-10-23', 8));
    expect(split.live).toEqual([[zonedMidnight('2026-11-22', TZ), year.to]]);
    // The two purchases either side of the zone's midnight sit in their own months.
    const { rows } = await sql<{ month: string; purchases: number }>`
      select month::text as month, sum(purchases)::int as purchases from member_activity where member_id = ${members[0]!} and month in ('2026-09-23', '2026-10-23') and amount_rials >= 2000000 group by 1 order by 1`.execute(database.db);
    expect(rows.map((r) => r.month)).toEqual(['2026-09-23', '2026-10-23']);
    await expectExact(TZ);
  });

  it('a void in a month held marks it; reports read it live until the job rebuilds that month alone', async () => {
    const db = database.db;
    const mehr = await db.selectFrom('purchases').select('id').where('created_at', '=', new Date(ABAN_TEHRAN.getTime() - 1)).executeTakeFirstOrThrow();
    await voidPurchase(db, mehr.id, owner, 'wrong member', { now, timeZone: TZ });
    expect((await monthsHeld()).filter((m) => m.dirty).map((m) => m.month)).toEqual(['2026-09-23']);
    const year = periodFor('year', now, TZ);
    expect((await activitySplit(db, year.from, year.to, TZ)).months).not.toContain('2026-09-23');
    await expectExact(TZ);
    expect((await refreshMemberActivity(db, now, TZ)).built).toEqual(['2026-09-23']);
    expect((await monthsHeld()).filter((m) => m.dirty)).toEqual([]);
    await expectExact(TZ);
  });

  it('a purchase imported into a month held marks it in the same transaction', async () => {
    const db = database.db;
    const file = ['date,branch,receipt,phone,amount', '1405/06/15 12:00,1,R-1,09120000503,3000000'].join('\n');
    const env = { now, timeZone: TZ, pointsValidityDays: 365 };
    const preview = await previewImport(db, { fileName: 'pos.csv', bytes: Buffer.from(file), actorMemberId: owner }, env);
    expect(await applyImport(db, preview.id!, owner, env)).toMatchObject({ recorded: 1 });
    expect((await monthsHeld()).filter((m) => m.dirty).map((m) => m.month)).toEqual(['2026-08-23']);
    await expectExact(TZ);
    expect((await refreshMemberActivity(db, now, TZ)).built).toEqual(['2026-08-23']);
    await expectExact(TZ);
  });

  it('another zone reads everything live until the job rebuilds the rollup in it', async () => {
    const db = database.db;
    const year = periodFor('year', now, 'UTC');
    expect((await activitySplit(db, year.from, year.to, 'UTC')).months).toEqual([]);
    await expectExact('UTC');
    const rezoned = await refreshMemberActivity(db, now, 'UTC');
    expect(rezoned.rezoned).toBe(true);
    expect(rezoned.built).toHaveLength(14);
    expect((await activitySplit(db, year.from, year.to, 'UTC')).months).toHaveLength(8);
    // Both boundary purchases are Mehr in UTC (the voided one no longer counts).
    const { rows } = await sql<{ month: string }>`select month::text as month from member_activity where member_id = ${members[0]!} and amount_rials >= 2000000 and month >= '2026-09-23'`.execute(db);
    expect(rows.map((r) => r.month)).toEqual(['2026-09-23']);
    await expectExact('UTC');
    await expectExact(TZ);
  }, 120_000);

  it('the month that ends is held from an hour after its end, by the clock the job is given', async () => {
    const db = database.db;
    const azarEnd = zonedMidnight('2026-12-22', 'UTC');
    expect((await refreshMemberActivity(db, new Date(azarEnd.getTime() + 30 * 60_000), 'UTC')).built).toEqual([]);
    expect((await refreshMemberActivity(db, new Date(azarEnd.getTime() + 61 * 60_000), 'UTC')).built).toEqual(['2026-11-22']);
  });
});
