import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awardMember, parseStreakBonuses, streakOf, sweepBadges, updateBadge, weekOf } from '../../src/club/badges.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const TZ = 'Asia/Tehran';
const DAY = 86_400_000;

describe('visit streaks (pure)', () => {
  it('weeks run Saturday to Friday in the club zone; a streak counts whole weeks in a row ending this week', () => {
    // Tuesday 1 December 2026, 11:30 in Tehran; Friday 4 December 23:30 in Tehran is still that week.
    const now = new Date('2026-12-01T08:00:00Z');
    expect(weekOf(now, TZ)).toBe('2026-11-28');
    expect(weekOf(new Date('2026-12-04T20:00:00Z'), TZ)).toBe('2026-11-28');
    expect(weekOf(new Date('2026-12-04T21:00:00Z'), TZ)).toBe('2026-12-05');
    const weeksAgo = (n: number) => new Date(now.getTime() - n * 7 * DAY);
    expect(streakOf([weeksAgo(0), weeksAgo(1), weeksAgo(2), weeksAgo(4)], now, TZ)).toEqual({ weeks: 3, since: '2026-11-14' });
    expect(streakOf([weeksAgo(1), weeksAgo(2)], now, TZ)).toEqual({ weeks: 0, since: null });
    expect(parseStreakBonuses('۴:۵۰، 8 : 100')).toEqual({ '4': 50, '8': 100 });
    expect(parseStreakBonuses('4-50')).toBeNull();
  });
});

describe(`badges (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let owner: number;
  let branchId: number;
  const now = new Date('2026-12-01T08:00:00Z');
  const env = (at: Date) => ({ now: at, timeZone: TZ });
  let phone = 0;

  async function member(name: string) {
    phone++;
    const { member } = await joinClub(
      handle.db,
      { platform: 'telegram', userId: 6_900_000 + phone, chatId: 6_900_000 + phone },
      { phone: `+98912690${String(phone).padStart(4, '0')}`, firstName: name },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989126900001'], now: new Date(now.getTime() - 60 * DAY) },
    );
    return member.id;
  }
  const buy = (memberId: number, at: Date, op: string) => recordPurchase(handle.db, { memberId, branchId, cashierMemberId: owner, amountRials: 10_000, operationId: op }, env(at));
  const ledger = (memberId: number) => handle.db.selectFrom('ledger_entries').select(['kind', 'amount']).where('member_id', '=', memberId).where('kind', 'in', ['badge', 'streak']).orderBy('id').execute();

  beforeAll(async () => {
    handle = await testDatabase();
    owner = await member('Owner');
    branchId = (await handle.db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
  });
  afterAll(() => handle.close());

  it('milestones and a four-week streak, each paid once however often and however concurrently they are checked', async () => {
    const ava = await member('Ava');
    for (const [i, weeks] of [3, 2, 1, 0, 0].entries()) await buy(ava, new Date(now.getTime() - weeks * 7 * DAY - i * 60_000), `a${i}`);
    const [first, second] = await Promise.all([awardMember(handle.db, ava, env(now)), awardMember(handle.db, ava, env(now))]);
    const awards = [...first, ...second];
    expect(awards.filter((a) => a.kind === 'badge').map((a) => a.kind === 'badge' && a.code).sort()).toEqual(['fifth_visit', 'first_purchase', 'three_visits_month']);
    expect(awards.filter((a) => a.kind === 'streak')).toEqual([{ memberId: ava, kind: 'streak', weeks: 4, points: 50 }]);
    expect(await ledger(ava)).toEqual([
      { kind: 'badge', amount: 20 },
      { kind: 'badge', amount: 50 },
      // Three of the purchases fall in Azar 1405 (from 22 November).
      { kind: 'badge', amount: 30 },
      { kind: 'streak', amount: 50 },
    ]);
    expect(await awardMember(handle.db, ava, env(new Date(now.getTime() + 60_000)))).toEqual([]);
  });

  it('the owner sets the amounts and switches badges off; the sweep finds members with new activity', async () => {
    await updateBadge(handle.db, owner, 'first_purchase', { points: 35 }, now);
    await updateBadge(handle.db, owner, 'fifth_visit', { enabled: false }, now);
    await expect(updateBadge(handle.db, owner, 'first_purchase', { points: -1 }, now)).rejects.toThrow(/badge_points/);
    const bita = await member('Bita');
    const later = new Date(now.getTime() + DAY);
    await sweepBadges(handle.db, env(later));
    for (let i = 0; i < 5; i++) await buy(bita, new Date(later.getTime() + 60_000 + i), `b${i}`);
    const awards = await sweepBadges(handle.db, env(new Date(later.getTime() + 120_000)));
    expect(awards.filter((a) => a.memberId === bita)).toEqual([
      { memberId: bita, kind: 'badge', code: 'first_purchase', points: 35 },
      { memberId: bita, kind: 'badge', code: 'three_visits_month', points: 30 },
    ]);
    // A second sweep a minute later overlaps the first one's window: nothing twice.
    expect(await sweepBadges(handle.db, env(new Date(later.getTime() + 180_000)))).toEqual([]);
  });
});
