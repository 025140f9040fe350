import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as memberStats from '../../migrations/20261122235000_member_stats.ts';
import { ClubError } from '../../src/club/errors.ts';
import { joinClub, markAccountBlocked, setMarketingOptIn } from '../../src/club/members.ts';
import { recordPurchase, voidPurchase } from '../../src/club/purchases.ts';
import { attributeJoinLink, createJoinLink } from '../../src/club/join-links.ts';
import { countSegment, normalizeCity, parseSegment, type SegmentCondition, type SegmentFilter } from '../../src/club/segments.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import type { Platform } from '../../src/db/schema.ts';
import { INTERESTS } from '../../src/club/profile.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const DAY = 86_400_000;
const now = new Date('2026-11-22T08:30:00Z');
const env = (at: Date) => ({ now: at, timeZone: 'Asia/Tehran' });
const TIERS = ['bronze', 'silver', 'gold', 'platinum'];
const SLUGS = ['poster-a', 'poster-b', 'bio'];

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!,
  };
}

/** Everything a segment looks at, read back from the tables (not from the cached columns). */
interface Row {
  id: number;
  tier: string;
  points: number;
  joinedAt: number;
  birthDate: string | null;
  gender: string | null;
  optIn: boolean;
  slug: string | null;
  platforms: Set<string>;
  reachable: boolean;
  purchases: number;
  spend: number;
  lastPurchaseAt: number | null;
  referrals: number;
  city: string | null;
  interests: string[];
  /** Branches of the member's recorded purchases. */
  branches: Set<number>;
}

const JALALI_MONTH_STARTS = ['0321', '0421', '0522', '0622', '0723', '0823', '0923', '1023', '1122', '1222', '0121', '0220'];

/** Whole years as PostgreSQL's age(now, birth date at midnight) counts them, sign included. */
function ageYears(today: string, afterMidnight: boolean, birth: string): number {
  const [y1, m1, d1] = today.split('-').map(Number) as [number, number, number];
  const [y2, m2, d2] = birth.split('-').map(Number) as [number, number, number];
  if (birth <= today) return y1 - y2 - (m1 < m2 || (m1 === m2 && d1 < d2) ? 1 : 0);
  // A birth date still to come: age() counts the years from now to it, and negates them.
  return -(y2 - y1 - (m2 < m1 || (m2 === m1 && (d2 < d1 || (d2 === d1 && afterMidnight))) ? 1 : 0));
}

function matches(c: SegmentCondition, r: Row, at: number, today: string, afterMidnight: boolean): boolean {
  const inRange = (v: number | null, range: { min?: number | undefined; max?: number | undefined }) => {
    if (range.min === undefined && range.max === undefined) return true;
    if (v === null) return false;
    return (range.min === undefined || v >= range.min) && (range.max === undefined || v <= range.max);
  };
  switch (c.field) {
    case 'tier':
      return c.in.includes(r.tier);
    case 'points':
      return inRange(r.points, c);
    case 'joined_days':
      return inRange((at - r.joinedAt) / DAY, c);
    case 'last_purchase_days':
      return inRange(r.lastPurchaseAt === null ? null : (at - r.lastPurchaseAt) / DAY, c);
    case 'purchases':
      return inRange(r.purchases, c);
    case 'spend':
      return inRange(r.spend, c);
    case 'birthday_month': {
      if (r.birthDate === null) return false;
      const md = r.birthDate.slice(5, 7) + r.birthDate.slice(8, 10);
      const from = JALALI_MONTH_STARTS[c.month - 1]!;
      const to = JALALI_MONTH_STARTS[c.month % 12]!;
      return from < to ? md >= from && md < to : md >= from || md < to;
    }
    case 'gender':
      return r.gender === c.value;
    case 'age':
      return inRange(r.birthDate === null ? null : ageYears(today, afterMidnight, r.birthDate), c);
    case 'platform':
      return r.platforms.has(c.value);
    case 'referrals':
      return inRange(r.referrals, c);
    case 'join_link':
      return r.slug === c.slug;
    case 'city':
      return r.city !== null && normalizeCity(r.city) === normalizeCity(c.value);
    case 'interests':
      return c.any.some((i) => r.interests.includes(i));
    case 'branch':
      return r.branches.has(c.id);
  }
}

describe(`segments (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let db: DatabaseHandle['db'];
  let branchId: number;
  let cashierId: number;
  let secondBranchId: number;
  let phones = 0;
  const rnd = random(20261122);

  async function join(platform: Platform, joinedAt: Date, profile: { birthDate?: string | null; gender?: 'female' | 'male' | null } = {}) {
    const n = ++phones;
    const { member } = await joinClub(
      db,
      { platform, userId: 9_100_000 + n, chatId: 9_100_000 + n },
      { phone: `+98918${String(n).padStart(7, '0')}`, firstName: `S${n}`, ...profile },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: joinedAt },
    );
    return member;
  }
  const buy = (memberId: number, amountRials: number, at: Date) =>
    recordPurchase(db, { memberId, branchId, cashierMemberId: cashierId, amountRials, operationId: randomUUID() }, env(at));

  /** The members as segments see them, computed from members, accounts and purchases directly. */
  async function rows(): Promise<Row[]> {
    const members = await db
      .selectFrom('members as m')
      .innerJoin('tiers as t', 't.id', 'm.tier_id')
      .leftJoin('join_links as j', 'j.id', 'm.join_link_id')
      .select(['m.id', 't.code', 'm.points_balance', 'm.joined_at', 'm.birth_date', 'm.gender', 'm.marketing_opt_in', 'j.slug', 'm.referred_by', 'm.city', 'm.interests'])
      .execute();
    const accounts = await db.selectFrom('member_accounts').select(['member_id', 'platform', 'blocked']).execute();
    const purchases = await db.selectFrom('purchases').select(['member_id', 'amount_rials', 'status', 'created_at', 'branch_id']).execute();
    const byId = new Map<number, Row>();
    for (const m of members) {
      byId.set(m.id, {
        id: m.id,
        tier: m.code,
        points: m.points_balance,
        joinedAt: m.joined_at.getTime(),
        birthDate: m.birth_date,
        gender: m.gender,
        optIn: m.marketing_opt_in,
        slug: m.slug,
        platforms: new Set(),
        reachable: false,
        purchases: 0,
        spend: 0,
        lastPurchaseAt: null,
        referrals: 0,
        city: m.city,
        interests: m.interests,
        branches: new Set(),
      });
    }
    for (const m of members) if (m.referred_by !== null) byId.get(m.referred_by)!.referrals++;
    for (const a of accounts) {
      const r = byId.get(a.member_id)!;
      r.platforms.add(a.platform);
      if (!a.blocked) r.reachable = true;
    }
    for (const p of purchases) {
      if (p.status !== 'recorded') continue;
      const r = byId.get(p.member_id)!;
      r.purchases++;
      r.branches.add(p.branch_id);
      r.spend += p.amount_rials;
      r.lastPurchaseAt = Math.max(r.lastPurchaseAt ?? -Infinity, p.created_at.getTime());
    }
    return [...byId.values()];
  }

  /** countSegment against the same filter evaluated in TypeScript over rows(). */
  async function expectSameCount(filter: SegmentFilter, at = now, data?: Row[]) {
    const all = data ?? (await rows());
    const { rows: day } = await sql<{ today: string; after_midnight: boolean }>`
      select ${at}::timestamptz::date as today, ${at}::timestamptz <> ${at}::timestamptz::date::timestamptz as after_midnight`.execute(db);
    const { today, after_midnight } = day[0]!;
    const expected = all.filter(
      (r) => r.optIn && r.reachable && (filter.groups.length === 0 || filter.groups.some((g) => g.every((c) => matches(c, r, at.getTime(), today, after_midnight)))),
    ).length;
    const counted = await countSegment(db, filter, at);
    expect({ filter: JSON.stringify(filter), at: at.toISOString(), count: counted }).toEqual({ filter: JSON.stringify(filter), at: at.toISOString(), count: expected });
    return counted;
  }

  async function cachedMatchesTables() {
    const cached = await db.selectFrom('members').select(['id', 'purchase_count', 'spend_rials', 'last_purchase_at', 'reachable', 'platforms', 'referral_count']).orderBy('id').execute();
    const direct = new Map((await rows()).map((r) => [r.id, r]));
    for (const c of cached) {
      const r = direct.get(c.id)!;
      expect({ id: c.id, purchases: c.purchase_count, spend: c.spend_rials, last: c.last_purchase_at?.getTime() ?? null, reachable: c.reachable, platforms: c.platforms, referrals: c.referral_count }).toEqual({
        id: r.id,
        purchases: r.purchases,
        spend: r.spend,
        last: r.lastPurchaseAt,
        reachable: r.reachable,
        platforms: [...r.platforms].sort(),
        referrals: r.referrals,
      });
    }
  }

  beforeAll(async () => {
    handle = await testDatabase();
    db = handle.db;
    branchId = (await db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
    cashierId = (await join('telegram', new Date(now.getTime() - 900 * DAY))).id;
    for (const slug of SLUGS) await createJoinLink(db, cashierId, slug, slug, null, now);
    const tierIds = new Map((await db.selectFrom('tiers').select(['id', 'code']).execute()).map((t) => [t.code, t.id]));

    // Birth dates on the edges: Jalali month starts, 29 February, Dey across the new year, today, after today.
    const special = ['2008-02-29', '2004-02-29', '2000-03-20', '2000-03-21', '1999-12-21', '1999-12-22', '1990-01-20', '1990-01-21', '1995-11-22', '2006-11-23', '1986-11-21', '2027-06-10', '2028-03-01'];
    const ids: number[] = [];
    for (let i = 0; i < 220; i++) {
      const joinedAt = i === 0 ? new Date(now.getTime() - 30 * DAY) : new Date(now.getTime() - rnd.int(0, 800 * 24) * 3_600_000 - rnd.int(0, 3_599_999));
      const birthDate = i < special.length ? special[i]! : rnd.chance(0.15) ? null : `${rnd.int(1950, 2012)}-${String(rnd.int(1, 12)).padStart(2, '0')}-${String(rnd.int(1, 28)).padStart(2, '0')}`;
      const gender = rnd.chance(0.2) ? null : rnd.pick(['female', 'male'] as const);
      const platform = rnd.chance(0.6) ? 'telegram' : 'bale';
      const member = await join(platform, joinedAt, { birthDate, gender });
      ids.push(member.id);
      if (rnd.chance(0.2)) {
        // The same person on the other messenger: a second account on the same member.
        const other = platform === 'telegram' ? 'bale' : 'telegram';
        const n = ++phones;
        await joinClub(db, { platform: other, userId: 9_100_000 + n, chatId: 9_100_000 + n }, { phone: member.phone, firstName: member.first_name }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: joinedAt });
      }
      if (rnd.chance(0.12)) {
        const account = await db.selectFrom('member_accounts').select(['platform', 'chat_id']).where('member_id', '=', member.id).orderBy('platform').executeTakeFirstOrThrow();
        await markAccountBlocked(db, account.platform, account.chat_id, now);
      }
      if (rnd.chance(0.04)) await db.deleteFrom('member_accounts').where('member_id', '=', member.id).execute();
      if (rnd.chance(0.1)) await setMarketingOptIn(db, member.id, false);
      if (rnd.chance(0.3)) await attributeJoinLink(db, member.id, rnd.pick(SLUGS));
      if (i > 5 && rnd.chance(0.3)) await db.updateTable('members').set({ referred_by: ids[rnd.int(0, Math.min(i - 1, 12))]! }).where('id', '=', member.id).execute();
      const k = rnd.chance(0.3) ? 0 : rnd.int(1, 6);
      for (let p = 0; p < k; p++) {
        const at = new Date(joinedAt.getTime() + Math.floor(rnd.next() * (now.getTime() - joinedAt.getTime())));
        const bought = await buy(member.id, rnd.int(5, 900) * 10_000, at);
        if (rnd.chance(0.1)) await voidPurchase(db, bought.purchase.id, cashierId, 'test', env(now));
      }
    }
    // Exactly 60 days since the last purchase, and exactly 30 days since joining (member 0).
    await buy(ids[1]!, 1_000_000, new Date(now.getTime() - 60 * DAY));
    await sql`update purchases set created_at = ${new Date(now.getTime() - 60 * DAY)} where member_id = ${ids[1]!}`.execute(db);

    // Referrals that change: to another inviter, and taken away.
    await db.updateTable('members').set({ referred_by: ids[3]! }).where('id', '=', ids[20]!).execute();
    await db.updateTable('members').set({ referred_by: ids[4]! }).where('id', '=', ids[20]!).execute();
    await db.updateTable('members').set({ referred_by: null }).where('id', 'in', [ids[21]!, ids[22]!]).execute();

    // Many rows per statement, as imports and the statement-level triggers see them.
    const imported = await db
      .insertInto('members')
      .values(
        Array.from({ length: 40 }, (_, i) => ({
          phone: `+98919${String(i).padStart(7, '0')}`,
          first_name: `Imported ${i}`,
          referral_code: `IMP${i}`,
          tier_id: tierIds.get(rnd.pick(TIERS))!,
          birth_date: rnd.chance(0.2) ? null : `${rnd.int(1955, 2010)}-${String(rnd.int(1, 12)).padStart(2, '0')}-${String(rnd.int(1, 28)).padStart(2, '0')}`,
          joined_at: new Date(now.getTime() - rnd.int(0, 700) * DAY - rnd.int(0, DAY - 1)),
          last_active_at: now,
          referred_by: i % 3 === 0 ? ids[rnd.int(0, 4)]! : null,
        })),
      )
      .returning('id')
      .execute();
    await db
      .insertInto('member_accounts')
      .values(imported.flatMap(({ id }, i) => (i % 7 === 6 ? [] : [{ platform: (i % 2 ? 'bale' : 'telegram') as Platform, user_id: 9_500_000 + i, member_id: id, chat_id: 9_500_000 + i, blocked: i % 5 === 4, created_at: now }])))
      .execute();
    await db
      .insertInto('purchases')
      .values(
        imported.flatMap(({ id }, i) =>
          Array.from({ length: i % 4 }, (_, p) => ({
            member_id: id,
            branch_id: branchId,
            cashier_member_id: cashierId,
            amount_rials: 100_000 * (p + 1) + i,
            idempotency_key: `import:${id}:${p}`,
            status: p === 2 ? 'voided' : 'recorded',
            created_at: new Date(now.getTime() - (i * 11 + p * 37) * DAY),
          })),
        ),
      )
      .execute();
    await db.updateTable('members').set({ points_balance: sql`(id * 7919) % 20000` }).execute();
    // Cities (in mixed spellings), interests and a second branch, from a generator of their own so
    // the data above stays as it was.
    const extra = random(11);
    secondBranchId = (await db.insertInto('branches').values({ name: 'Second', created_at: now }).returning('id').executeTakeFirstOrThrow()).id;
    for (const id of ids) {
      const city = extra.chance(0.3) ? null : extra.pick(['Tehran', ' tehran ', 'شیراز', 'شيراز', 'Karaj']);
      const interests = extra.chance(0.3) ? [] : [...new Set([extra.pick(INTERESTS), extra.pick(INTERESTS)])];
      await db.updateTable('members').set({ city, interests: JSON.stringify(interests) }).where('id', '=', id).execute();
      if (extra.chance(0.2)) {
        const bought = await recordPurchase(db, { memberId: id, branchId: secondBranchId, cashierMemberId: cashierId, amountRials: 500_000, operationId: randomUUID() }, env(new Date(now.getTime() - 5 * DAY)));
        if (extra.chance(0.3)) await voidPurchase(db, bought.purchase.id, cashierId, 'test', env(now));
      }
    }
    for (const id of [...ids, ...imported.map((m) => m.id)]) {
      if (rnd.chance(0.5)) await db.updateTable('members').set({ tier_id: tierIds.get(rnd.pick(TIERS))! }).where('id', '=', id).execute();
    }
  }, 120_000);
  afterAll(() => handle.close());

  it('keeps the cached purchase, account and referral figures equal to the tables', async () => {
    await cachedMatchesTables();
    const all = await rows();
    // The data covers what the filters below need.
    expect(all.filter((r) => !r.reachable).length).toBeGreaterThan(5);
    expect(all.filter((r) => r.platforms.size === 2).length).toBeGreaterThan(5);
    expect(all.filter((r) => r.purchases === 0).length).toBeGreaterThan(20);
    expect(all.filter((r) => r.referrals >= 2).length).toBeGreaterThan(2);
    expect(all.length).toBeGreaterThan(250);
  });

  it('counts each kind of condition as the same filter computed by hand', async () => {
    const data = await rows();
    const ranges = [{ min: 1 }, { max: 0 }, { min: 2, max: 3 }, { min: 0 }, { max: -1 }, { min: 3, max: 2 }, { min: -5, max: 1 }, {}];
    const conditions: SegmentCondition[] = [
      { field: 'tier', in: ['gold'] },
      { field: 'tier', in: ['silver', 'platinum', 'diamond'] },
      { field: 'birthday_month', month: 1 },
      { field: 'gender', value: 'female' },
      { field: 'gender', value: 'male' },
      { field: 'platform', value: 'telegram' },
      { field: 'platform', value: 'bale' },
      { field: 'join_link', slug: 'poster-a' },
      { field: 'join_link', slug: 'no-such-link' },
      { field: 'city', value: 'TEHRAN' },
      { field: 'city', value: 'شیراز' },
      { field: 'city', value: 'Nowhere' },
      { field: 'interests', any: ['food'] },
      { field: 'interests', any: ['books', 'kids', 'sports'] },
      { field: 'branch', id: branchId },
      { field: 'branch', id: secondBranchId },
      ...Array.from({ length: 12 }, (_, i): SegmentCondition => ({ field: 'birthday_month', month: i + 1 })),
      ...ranges.flatMap((r): SegmentCondition[] => [
        { field: 'purchases', ...r },
        { field: 'referrals', ...r },
      ]),
      ...[{ min: 5000 }, { max: 999 }, { min: 1000, max: 1000 }, {}].map((r): SegmentCondition => ({ field: 'points', ...r })),
      ...[{ min: 30 }, { max: 29 }, { min: 30, max: 30 }, { max: 100 }, { min: 365, max: 730 }, { max: -1 }, {}].flatMap((r): SegmentCondition[] => [
        { field: 'joined_days', ...r },
        { field: 'last_purchase_days', ...r },
      ]),
      { field: 'last_purchase_days', min: 60 },
      { field: 'last_purchase_days', min: 61 },
      ...[{ min: 10_000_000 }, { max: 0 }, { min: 1_000_000, max: 5_000_000 }].map((r): SegmentCondition => ({ field: 'spend', ...r })),
      ...[{ min: 18 }, { max: 18 }, { min: 20, max: 35 }, { min: 0, max: 0 }, { max: 0 }, { max: -1 }, { min: 100 }, { max: 100_000 }, { min: -100_000 }, {}].map((r): SegmentCondition => ({ field: 'age', ...r })),
    ];
    const positive = [];
    for (const c of conditions) positive.push(await expectSameCount({ groups: [[c]] }, now, data));
    // Not vacuous: most conditions select some members and leave some out.
    expect(positive.filter((n) => n > 0).length).toBeGreaterThan(conditions.length / 2);
  });

  it('counts random AND groups ORed together as computed by hand', async () => {
    const data = await rows();
    const bound = (lo: number, hi: number) => {
      const a = rnd.int(lo, hi);
      const b = rnd.int(lo, hi);
      switch (rnd.int(0, 4)) {
        case 0: return { min: a };
        case 1: return { max: a };
        case 2: return { min: Math.min(a, b), max: Math.max(a, b) };
        case 3: return { min: a, max: a };
        default: return { min: Math.max(a, b), max: Math.min(a, b) };
      }
    };
    const condition = (): SegmentCondition => {
      switch (rnd.int(0, 11)) {
        case 0: return { field: 'tier', in: TIERS.filter(() => rnd.chance(0.4)).concat(rnd.pick(TIERS)) };
        case 1: return { field: 'points', ...bound(0, 20_000) };
        case 2: return { field: 'joined_days', ...bound(0, 800) };
        case 3: return { field: 'last_purchase_days', ...bound(0, 800) };
        case 4: return { field: 'purchases', ...bound(0, 6) };
        case 5: return { field: 'spend', ...bound(0, 30_000_000) };
        case 6: return { field: 'birthday_month', month: rnd.int(1, 12) };
        case 7: return { field: 'gender', value: rnd.pick(['female', 'male'] as const) };
        case 8: return { field: 'age', ...bound(10, 70) };
        case 9: return { field: 'platform', value: rnd.pick(['telegram', 'bale'] as const) };
        case 10: return { field: 'referrals', ...bound(0, 4) };
        default: return { field: 'join_link', slug: rnd.pick(SLUGS) };
      }
    };
    const counts = [];
    for (let i = 0; i < 150; i++) {
      const groups = Array.from({ length: rnd.int(1, 3) }, () => Array.from({ length: rnd.int(i % 10 === 0 ? 0 : 1, 3) }, condition));
      counts.push(await expectSameCount({ groups }, now, data));
    }
    expect(counts.filter((n) => n > 0).length).toBeGreaterThan(50);
    await expectSameCount({ groups: [] }, now, data);
  });

  it('counts ages and birthdays right on 28 February, 29 February and 1 March', async () => {
    const data = await rows();
    for (const at of ['2027-02-28T12:00:00Z', '2027-03-01T00:00:00Z', '2028-02-29T12:00:00Z', '2028-03-01T12:00:00Z', '2026-11-22T00:00:00Z', '2026-11-21T23:59:59Z']) {
      for (const years of [18, 19, 20, 22, 23, 24]) {
        await expectSameCount({ groups: [[{ field: 'age', min: years }]] }, new Date(at), data);
        await expectSameCount({ groups: [[{ field: 'age', max: years }]] }, new Date(at), data);
      }
      await expectSameCount({ groups: [[{ field: 'age', min: 0, max: 0 }], [{ field: 'age', max: -1 }]] }, new Date(at), data);
    }
  });

  it('reads the typed language, Persian digits included, to the same counts', async () => {
    const data = await rows();
    const cases: [string, SegmentFilter][] = [
      ['all', { groups: [] }],
      ['', { groups: [] }],
      ['tier=Gold, platinum', { groups: [[{ field: 'tier', in: ['gold', 'platinum'] }]] }],
      ['points>=۵۰۰۰', { groups: [[{ field: 'points', min: 5000 }]] }],
      ['joined<۳۰', { groups: [[{ field: 'joined_days', max: 29 }]] }],
      ['bought>60', { groups: [[{ field: 'last_purchase_days', min: 61 }]] }],
      ['bought>=60', { groups: [[{ field: 'last_purchase_days', min: 60 }]] }],
      ['purchases>=3; spend<=20000000', { groups: [[{ field: 'purchases', min: 3 }, { field: 'spend', max: 20_000_000 }]] }],
      ['birthday=۹; gender=female', { groups: [[{ field: 'birthday_month', month: 9 }, { field: 'gender', value: 'female' }]] }],
      ['age=۲۰-۳۵ ; platform=bale', { groups: [[{ field: 'age', min: 20, max: 35 }, { field: 'platform', value: 'bale' }]] }],
      ['city=Tehran; interests=food,Books | branch=۲', { groups: [[{ field: 'city', value: 'Tehran' }, { field: 'interests', any: ['food', 'books'] }], [{ field: 'branch', id: 2 }]] }],
      ['referrals>=1 | link=poster-b', { groups: [[{ field: 'referrals', min: 1 }], [{ field: 'join_link', slug: 'poster-b' }]] }],
      ['referrals=0; purchases=0 | tier=silver; bought<100 | age>40', {
        groups: [
          [{ field: 'referrals', min: 0, max: 0 }, { field: 'purchases', min: 0, max: 0 }],
          [{ field: 'tier', in: ['silver'] }, { field: 'last_purchase_days', max: 99 }],
          [{ field: 'age', min: 41 }],
        ],
      }],
    ];
    for (const [text, filter] of cases) {
      expect(parseSegment(text)).toEqual(filter);
      await expectSameCount(parseSegment(text), now, data);
    }
    for (const bad of ['foo=1', 'points>=abc', 'points', 'birthday=13', 'gender=other', 'platform=whatsapp', 'age=30-', 'tier=', 'points>=1.5', 'joined<<3', 'interests=cars', 'city= ', 'branch=0', 'branch=x']) {
      expect(() => parseSegment(bad), bad).toThrow(ClubError);
      try {
        parseSegment(bad);
      } catch (error) {
        expect((error as ClubError).i18nKey).toBe('errors.segment_syntax');
      }
    }
  });

  it('takes a voided purchase out of the cached figures and the counts', async () => {
    const member = await join('bale', new Date(now.getTime() - 100 * DAY));
    const first = await buy(member.id, 1_000_000, new Date(now.getTime() - 10 * DAY));
    const second = await buy(member.id, 2_500_000, new Date(now.getTime() - 3 * DAY));
    const figures = () => db.selectFrom('members').select(['purchase_count', 'spend_rials', 'last_purchase_at']).where('id', '=', member.id).executeTakeFirstOrThrow();
    expect(await figures()).toEqual({ purchase_count: 2, spend_rials: 3_500_000, last_purchase_at: new Date(now.getTime() - 3 * DAY) });
    const recent = parseSegment('bought<5; spend>=3000000');
    const before = await expectSameCount(recent);

    await voidPurchase(db, second.purchase.id, cashierId, 'wrong amount', env(now));
    expect(await figures()).toEqual({ purchase_count: 1, spend_rials: 1_000_000, last_purchase_at: new Date(now.getTime() - 10 * DAY) });
    expect(await expectSameCount(recent)).toBe(before - 1);
    expect((await voidPurchase(db, second.purchase.id, cashierId, 'again', env(now))).duplicate).toBe(true);
    expect(await figures()).toEqual({ purchase_count: 1, spend_rials: 1_000_000, last_purchase_at: new Date(now.getTime() - 10 * DAY) });

    await voidPurchase(db, first.purchase.id, cashierId, 'returned', env(now));
    expect(await figures()).toEqual({ purchase_count: 0, spend_rials: 0, last_purchase_at: null });
    await expectSameCount(parseSegment('purchases=0; platform=bale'));
    await cachedMatchesTables();
  });

  it('fills the cached figures for existing data when the migration runs, and undoes it', async () => {
    await db.updateTable('members').set({ purchase_count: 99, spend_rials: 1, last_purchase_at: now, reachable: true, referral_count: 7 }).execute();
    await memberStats.down(db);
    const { rows: found } = await sql<{ name: string }>`
      select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = 'members'`.execute(db);
    const columns = found.map((c) => c.name);
    expect(columns).toContain('phone');
    expect(columns).not.toContain('purchase_count');
    expect(columns).not.toContain('reachable');
    await memberStats.up(db);
    await cachedMatchesTables();
    await expectSameCount(parseSegment('bought<90; platform=telegram | referrals>=1 | purchases=0'));
  });
});
