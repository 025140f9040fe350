import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cohortReport } from '../../src/club/analytics/cohorts.ts';
import { ledgerExport, memberExport } from '../../src/club/analytics/export.ts';
import { loyaltyReport } from '../../src/club/analytics/loyalty.ts';
import { membersReport } from '../../src/club/analytics/members.ts';
import { customPeriod, periodFor } from '../../src/club/analytics/period.ts';
import { rfmFilter, rfmReport } from '../../src/club/analytics/rfm.ts';
import { salesReport } from '../../src/club/analytics/sales.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase, voidPurchase } from '../../src/club/purchases.ts';
import { ALL_MEMBERS, countSegment, parseSegment } from '../../src/club/segments.ts';
import { createBranch } from '../../src/club/staff.ts';
import { convertPointsToCredit } from '../../src/club/wallet.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const TZ = 'Asia/Tehran';
const DAY = 86_400_000;
// Sunday 8 Azar 1405, noon in Tehran.
const now = new Date('2026-11-29T08:30:00Z');

describe(`reports over a hand-made club (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  const ids: Record<string, number> = {};
  let branch2 = 0;

  async function member(key: string, phone: string, joined: Date, extra: { gender?: 'female' | 'male'; birthDate?: string } = {}) {
    const { member } = await joinClub(database.db, { platform: 'telegram', userId: 9100 + Object.keys(ids).length, chatId: 9100 + Object.keys(ids).length }, { phone, firstName: key, locale: 'fa', ...extra }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: joined });
    ids[key] = member.id;
    return member.id;
  }
  const buy = (key: string, branchId: number, amountRials: number, at: string | Date) =>
    recordPurchase(database.db, { memberId: ids[key]!, branchId, cashierMemberId: ids.D!, amountRials, operationId: randomUUID() }, { now: new Date(at), timeZone: TZ });

  beforeAll(async () => {
    database = await testDatabase();
    const db = database.db;
    await member('D', '+989120000004', new Date('2026-10-01T08:00:00Z'));
    branch2 = (await createBranch(db, ids.D!, 'North', new Date('2026-10-01T08:00:00Z'))).id;
    await member('B', '+989120000002', new Date('2026-11-01T08:00:00Z'), { gender: 'male', birthDate: '2010-05-05' });
    await member('A', '+989120000001', new Date('2026-11-22T06:30:00Z'), { gender: 'female', birthDate: '1990-01-01' });
    await member('C', '+989120000003', new Date('2026-11-25T10:00:00Z'));
    await db.updateTable('members').set({ city: 'Tehran' }).where('id', '=', ids.A!).execute();
    await db.updateTable('members').set({ city: ' Shiraz ' }).where('id', '=', ids.B!).execute();
    await buy('B', 1, 1_000_000, '2026-11-05T08:00:00Z'); // Aban: before the period
    await buy('A', 1, 1_000_000, '2026-11-22T06:30:00Z'); // Sunday 1 Azar, 10:00
    await buy('A', branch2, 3_000_000, '2026-11-24T15:00:00Z'); // Tuesday 18:30
    await buy('B', 1, 2_000_000, '2026-11-24T15:10:00Z'); // Tuesday 18:40
    await buy('C', 1, 500_000, '2026-11-28T20:40:00Z'); // Sunday 00:10 in Tehran, still Saturday in UTC
    const voided = await buy('C', 1, 9_000_000, '2026-11-28T21:00:00Z');
    await voidPurchase(db, voided.purchase.id, ids.D!, 'wrong amount', { now: new Date('2026-11-28T21:05:00Z'), timeZone: TZ });
    await convertPointsToCredit(db, ids.A!, 100, randomUUID(), { now: new Date('2026-11-26T09:00:00Z'), timeZone: TZ });
  });
  afterAll(() => database?.close());

  it('periods are Jalali: the week from Saturday, Azar from its first day, two typed dates inclusive', () => {
    expect(periodFor('week', now, TZ)).toMatchObject({ startIso: '2026-11-28', endIso: '2026-11-30' });
    expect(periodFor('month', now, TZ)).toMatchObject({ startIso: '2026-11-22', endIso: '2026-11-30' });
    expect(periodFor('last_month', now, TZ)).toMatchObject({ startIso: '2026-10-23', endIso: '2026-11-22' });
    expect(periodFor('year', now, TZ)).toMatchObject({ startIso: '2026-03-21', endIso: '2026-11-30' });
    expect(customPeriod('۱۴۰۵/۹/۸', '1405/9/1', TZ)).toMatchObject({ startIso: '2026-11-22', endIso: '2026-11-30' });
    expect(() => customPeriod('1405/7/31', '1405/9/1', TZ)).toThrow();
  });

  it('sales: totals, days and hours in the club zone, weekdays from Saturday, branches; voided sales left out', async () => {
    const s = await salesReport(database.db, { period: periodFor('month', now, TZ), branchId: null });
    expect(s).toMatchObject({ purchases: 4, revenue: 6_500_000, averageBasket: 1_625_000 });
    expect(s.byDay).toEqual([
      { day: '2026-11-22', purchases: 1, revenue: 1_000_000 },
      { day: '2026-11-24', purchases: 2, revenue: 5_000_000 },
      { day: '2026-11-29', purchases: 1, revenue: 500_000 },
    ]);
    expect(s.byBranch.map((b) => [b.branchId, b.purchases, b.revenue])).toEqual([[1, 3, 3_500_000], [branch2, 1, 3_000_000]]);
    expect(s.byHour[10]).toEqual({ purchases: 1, revenue: 1_000_000 });
    expect(s.byHour[18]).toEqual({ purchases: 2, revenue: 5_000_000 });
    expect(s.byHour[0]).toEqual({ purchases: 1, revenue: 500_000 });
    expect(s.byWeekday.map((w) => w.purchases)).toEqual([0, 2, 0, 2, 0, 0, 0]);
    const north = await salesReport(database.db, { period: periodFor('month', now, TZ), branchId: branch2 });
    expect(north).toMatchObject({ purchases: 1, revenue: 3_000_000, averageBasket: 3_000_000 });
  });

  it('members: joins, buyers and how often they bought, tiers, ages, genders, cities', async () => {
    const m = await membersReport(database.db, { period: periodFor('month', now, TZ), branchId: null }, now);
    expect(m).toMatchObject({ members: 4, joined: 2, active: 3, activeRate: 0.75 });
    expect(m.joinedByDay).toEqual([{ day: '2026-11-22', members: 1 }, { day: '2026-11-25', members: 1 }]);
    expect(m.frequency.map((f) => f.members)).toEqual([2, 1, 0, 0, 0]);
    expect(m.ages.find((a) => a.band === '35-44')!.members).toBe(1);
    expect(m.ages.find((a) => a.band === '<18')!.members).toBe(1);
    expect(m.ages.find((a) => a.band === 'unknown')!.members).toBe(2);
    expect(m.genders).toEqual([{ gender: 'female', members: 1 }, { gender: 'male', members: 1 }, { gender: 'unknown', members: 2 }]);
    expect(m.cities).toEqual([{ city: 'Shiraz', members: 1 }, { city: 'Tehran', members: 1 }]);
    expect(m.tiers.reduce((s, t) => s + t.members, 0)).toBe(4);
    const north = await membersReport(database.db, { period: periodFor('month', now, TZ), branchId: branch2 }, now);
    expect(north.active).toBe(1);
  });

  it('loyalty: points issued, redeemed, credit in and out, what is owed, the cashback rate', async () => {
    // 10,000 Rials a point at bronze: 100 + 300 + 200 + 50 + 900 (the voided sale earned before it was taken back).
    const l = await loyaltyReport(database.db, { period: periodFor('month', now, TZ), branchId: null }, 1000);
    expect(l).toMatchObject({ pointsIssued: 1550, pointsRedeemed: 100, pointsExpired: 0, creditEarned: 100_000, creditUsed: 0, revenue: 6_500_000 });
    // Held now: B 100 + 200, A 100 + 300 - 100, C 50 (the 900 went back out).
    expect(l).toMatchObject({ outstandingPoints: 650, outstandingCredit: 100_000, liabilityRials: 750_000 });
    expect(l.cashbackRate).toBeCloseTo((1550 * 1000 + 100_000) / 6_500_000, 6);
  });

  it('cohorts: each Jalali month of joiners, and who of them bought in that month and later', async () => {
    const c = await cohortReport(database.db, { period: periodFor('month', now, TZ), branchId: null });
    expect(c.months.slice(-3)).toEqual(['2026-09-23', '2026-10-23', '2026-11-22']);
    expect(c.sizes.slice(-3)).toEqual([1, 1, 2]);
    expect(c.retained[11]).toEqual([2, null, null, null, null, null, null, null, null, null, null, null]);
    expect(c.retained[10]!.slice(0, 2)).toEqual([1, 1]);
    expect(c.retained[9]!.slice(0, 3)).toEqual([0, 0, 0]);
  });

  it('exports page through members of a segment and the ledger of a period', async () => {
    const rows = [];
    for await (const page of memberExport(database.db, parseSegment('gender=female'), now)) rows.push(...page);
    expect(rows.map((r) => r[2])).toEqual(['A']);
    let all = 0;
    for await (const page of memberExport(database.db, ALL_MEMBERS, now)) all += page.length;
    expect(all).toBe(4);
    const ledger = [];
    for await (const page of ledgerExport(database.db, periodFor('month', now, TZ), branch2)) ledger.push(...page);
    expect(ledger.map((r) => [r[4], r[5], r[6]])).toEqual([['points', 300, 'earn']]);
  });
});

describe(`RFM groups (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  const ids: number[] = [];
  beforeAll(async () => {
    database = await testDatabase();
    const cashier = await joinClub(database.db, { platform: 'telegram', userId: 9298, chatId: 9298 }, { phone: '+989120000198', firstName: 'Cashier', locale: 'fa' }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: new Date(now.getTime() - 400 * DAY) });
    // Five buyers: 5 purchases, the last a day and a half ago; 4, ten and a half days; 3, thirty and a half; 2, sixty and a half; 1, two hundred.
    for (const [i, [count, daysAgo]] of ([[5, 1], [4, 10], [3, 30], [2, 60], [1, 200]] as [number, number][]).entries()) {
      const { member } = await joinClub(database.db, { platform: 'telegram', userId: 9200 + i, chatId: 9200 + i }, { phone: `+98912000010${i}`, firstName: `M${i}`, locale: 'fa' }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: new Date(now.getTime() - 400 * DAY) });
      ids.push(member.id);
      for (let k = count - 1; k >= 0; k--) {
        const at = new Date(now.getTime() - (daysAgo + 0.5 + k * 3) * DAY);
        await recordPurchase(database.db, { memberId: member.id, branchId: 1, cashierMemberId: cashier.member.id, amountRials: 1_000_000, operationId: randomUUID() }, { now: at, timeZone: TZ });
      }
    }
    await joinClub(database.db, { platform: 'telegram', userId: 9299, chatId: 9299 }, { phone: '+989120000199', firstName: 'Never', locale: 'fa' }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now });
  });
  afterAll(() => database?.close());

  it('scores by quintiles, names the groups, and a group saved as a segment counts the same members', async () => {
    const r = await rfmReport(database.db, now);
    expect(r.thresholds).toEqual({ recencyDays: [2, 11, 31, 61], frequency: [1, 2, 3, 4] });
    // Never bought: "Never" and the cashier (a cashier cannot record on their own membership).
    expect(r).toMatchObject({ buyers: 5, neverBought: 2 });
    const count = Object.fromEntries(r.groups.map((g) => [g.group, g.members]));
    expect(count).toEqual({ champions: 1, loyal: 1, potential: 0, new: 0, need_attention: 1, cant_lose: 0, at_risk: 0, hibernating: 2 });
    expect(r.groups.find((g) => g.group === 'champions')).toMatchObject({ avgRecencyDays: 2, avgPurchases: 5, avgSpend: 5_000_000 });
    for (const g of r.groups) expect(await countSegment(database.db, rfmFilter(g.group, r.thresholds), now)).toBe(g.members);
  });
});
