import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClubError } from '../../src/club/errors.ts';
import { credit } from '../../src/club/ledger.ts';
import {
  buyTickets,
  checkProof,
  commitmentOf,
  createLottery,
  deriveWinners,
  drawLottery,
  listDigest,
  myTickets,
  ticketList,
  winChance,
  type DrawInput,
  type LotteryInput,
  type LotteryProof,
} from '../../src/club/lotteries.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import { saveSegment } from '../../src/club/segments.ts';
import { createPool } from '../../src/club/vouchers.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { sha256Hex } from '../../src/club/lottery-proof.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const seedOf = (i: number) => sha256Hex(`seed ${i}`);

describe('the draw (pure)', () => {
  const input = (tickets: [number, number][], counts: number[], unique: boolean): DrawInput => ({
    lottery: 7,
    commitment: commitmentOf(seedOf(0)),
    prizes: counts.map((count) => ({ count })),
    unique_winners: unique,
    tickets: tickets.map(([member, n]) => ({ member, tickets: n })),
  });

  it('weights winners by tickets: a chi-square check over 4,000 seeded draws', () => {
    const tickets: [number, number][] = [[3, 1], [5, 2], [8, 3], [13, 4], [21, 10]];
    const total = 20;
    const wins = new Map<number, number>();
    const draws = 4000;
    for (let i = 0; i < draws; i++) {
      const [w] = deriveWinners(seedOf(i), { ...input(tickets, [1], true), commitment: commitmentOf(seedOf(i)) });
      wins.set(w!.member, (wins.get(w!.member) ?? 0) + 1);
    }
    let chi2 = 0;
    for (const [member, n] of tickets) {
      const expected = (draws * n) / total;
      chi2 += ((wins.get(member) ?? 0) - expected) ** 2 / expected;
    }
    // 4 degrees of freedom: 18.47 is the 0.1% critical value. Uniform choice of members gives ~1,900.
    expect(chi2).toBeLessThan(18.47);
  });

  it('the second prize with unique winners follows the weights of the tickets still in play', () => {
    // A: 6 tickets, B: 3, C: 1. P(second = C) = P(A first)·1/4 + P(B first)·1/7 = 0.6·0.25 + 0.3·(1/7) ≈ 0.1929.
    const tickets: [number, number][] = [[1, 6], [2, 3], [3, 1]];
    let c = 0;
    const draws = 4000;
    for (let i = 0; i < draws; i++) if (deriveWinners(seedOf(i), input(tickets, [2], true))[1]!.member === 3) c++;
    const p = 0.6 * 0.25 + 0.3 / 7;
    const sd = Math.sqrt(draws * p * (1 - p));
    expect(Math.abs(c - draws * p)).toBeLessThan(4 * sd);
  });

  it('is deterministic; unique winners never repeat, others never win with the same ticket twice; prizes beyond the tickets stay undrawn', () => {
    const list = input([[1, 2], [2, 1], [4, 5]], [2, 3], true);
    const a = deriveWinners(seedOf(1), list);
    expect(deriveWinners(seedOf(1), list)).toEqual(a);
    expect(a).toHaveLength(3);
    expect(new Set(a.map((w) => w.member)).size).toBe(3);
    expect(a.map((w) => w.prize)).toEqual([0, 0, 1]);

    const shared = deriveWinners(seedOf(1), { ...list, unique_winners: false, prizes: [{ count: 8 }, { count: 2 }] });
    expect(shared).toHaveLength(8);
    expect(new Set(shared.map((w) => w.ticket)).size).toBe(8);
    for (const w of shared) {
      // The ticket belongs to the member: 1 owns 0–1, 2 owns 2, 4 owns 3–7.
      expect(w.member).toBe(w.ticket < 2 ? 1 : w.ticket < 3 ? 2 : 4);
    }
    expect(deriveWinners(seedOf(2), input([], [3], true))).toEqual([]);
  });

  it('a proof holds; a tampered list, seed or winner does not', () => {
    const base = input([[1, 2], [2, 1], [4, 5]], [2], true);
    const seed = seedOf(3);
    const commitment = commitmentOf(seed);
    const drawn = { ...base, commitment };
    const proof: LotteryProof = {
      format: 'bashgah-lottery/1',
      ...drawn,
      title: 'Yalda',
      prizes: [{ title: 'A cake', count: 2 }],
      list_digest: listDigest(drawn),
      seed,
      winners: deriveWinners(seed, drawn),
    };
    expect(checkProof(proof)).toBeNull();
    expect(checkProof(proof, { commitment, digest: proof.list_digest })).toBeNull();
    expect(checkProof({ ...proof, tickets: [{ member: 1, tickets: 3 }, ...proof.tickets.slice(1)] })).toMatch(/does not match its digest/);
    expect(checkProof({ ...proof, seed: seedOf(4) })).toMatch(/does not match the commitment/);
    expect(checkProof({ ...proof, winners: [{ ...proof.winners[0]!, member: 99 }, ...proof.winners.slice(1)] })).toMatch(/winners do not follow/);
    expect(checkProof(proof, { digest: sha256Hex('another list') })).toMatch(/not the one announced/);
  });

  it('odds: the chance of at least one win, exact when a member may win twice, simulated with unique winners', () => {
    expect(winChance([1, 9], 0, 1, false)).toBeCloseTo(0.1);
    expect(winChance([5, 5], 0, 2, false)).toBeCloseTo(1 - (5 / 10) * (4 / 9));
    expect(winChance([0, 10], 0, 3, true)).toBe(0);
    expect(winChance([10], 0, 1, false)).toBe(1);
    // Two members, two prizes, one each: both surely win, whatever their tickets.
    expect(winChance([3, 1], 1, 2, true)).toBe(1);
    // C holds 1 of 10 tickets against 6 and 3: P = 0.6·1/4 + 0.3·1/7 for the second prize, plus 0.1 for the first.
    expect(winChance([6, 3, 1], 2, 2, true)).toBeCloseTo(0.1 + 0.6 * 0.25 + 0.3 / 7, 1);
    expect(winChance([6, 3, 1], 2, 2, true)).toBe(winChance([6, 3, 1], 2, 2, true));
  });
});

describe(`lotteries in the club (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let owner: number;
  let branchId: number;
  const ids: Record<string, number> = {};
  let phone = 0;
  const t0 = new Date('2026-12-01T08:00:00Z');
  const day = (n: number) => new Date(t0.getTime() + n * 86_400_000);
  const env = (now: Date) => ({ now, timeZone: 'Asia/Tehran' });

  async function member(name: string, optIn = true) {
    phone++;
    const { member } = await joinClub(
      handle.db,
      { platform: 'telegram', userId: 6_700_000 + phone, chatId: 6_700_000 + phone },
      { phone: `+98912670${String(phone).padStart(4, '0')}`, firstName: name },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989126700001'], now: day(-10) },
    );
    if (!optIn) await handle.db.updateTable('members').set({ marketing_opt_in: false }).where('id', '=', member.id).execute();
    ids[name] = member.id;
    return member.id;
  }
  const earn = (memberId: number, amount: number, at: Date, key: string) =>
    handle.db.transaction().execute((trx) => credit(trx, { memberId, currency: 'points', amount, kind: 'earn', reason: 'test', idempotencyKey: key, expiresAt: null, at }));
  const points = async (id: number) => (await handle.db.selectFrom('members').select('points_balance').where('id', '=', id).executeTakeFirstOrThrow()).points_balance;
  const base = (over: Partial<LotteryInput> = {}): LotteryInput => ({
    title: 'Yalda',
    prizes: [{ title: 'Points', count: 1, points: 500 }],
    startsAt: day(0),
    endsAt: day(10),
    minTierId: null,
    optedInOnly: false,
    segmentId: null,
    ticketMode: 'points',
    pointsPerTicket: 100,
    uniqueWinners: true,
    excludeLast: 0,
    ...over,
  });

  beforeAll(async () => {
    handle = await testDatabase();
    owner = await member('Owner', false);
    branchId = (await handle.db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
    for (const name of ['Ava', 'Bita', 'Cyrus']) await member(name);
    await member('Quiet', false);
    // Points earned in the period count (1 ticket per 100); before or after it, not.
    await earn(ids.Ava!, 250, day(1), 'a1');
    await earn(ids.Ava!, 1000, day(-1), 'a0');
    await earn(ids.Bita!, 100, day(2), 'b1');
    await earn(ids.Bita!, 1000, day(11), 'b2');
    await earn(ids.Cyrus!, 99, day(3), 'c1');
    await earn(ids.Quiet!, 400, day(3), 'q1');
  });
  afterAll(() => handle.close());

  it('validates what a manager typed', async () => {
    await expect(createLottery(handle.db, owner, base({ title: ' ' }), t0)).rejects.toThrow(ClubError);
    await expect(createLottery(handle.db, owner, base({ prizes: [] }), t0)).rejects.toThrow(/lottery_prizes/);
    await expect(createLottery(handle.db, owner, base({ endsAt: day(0) }), t0)).rejects.toThrow(/lottery_period/);
    await expect(createLottery(handle.db, owner, base({ pointsPerTicket: 0 }), t0)).rejects.toThrow(/points_per_ticket/);
  });

  it('eligibility: tickets from points earned in the period, minimum tier, offers on, a saved segment', async () => {
    const { lottery } = await createLottery(handle.db, owner, base(), t0);
    expect(lottery.commitment).toBe(commitmentOf(lottery.seed));
    expect(await ticketList(handle.db, lottery, day(5))).toEqual([
      { member: ids.Ava, tickets: 2 },
      { member: ids.Bita, tickets: 1 },
      { member: ids.Quiet, tickets: 4 },
    ]);
    const optedIn = (await createLottery(handle.db, owner, base({ optedInOnly: true }), t0)).lottery;
    expect((await ticketList(handle.db, optedIn, day(5))).map((t) => t.member)).toEqual([ids.Ava, ids.Bita]);

    const silver = await handle.db.selectFrom('tiers').select('id').where('code', '=', 'silver').executeTakeFirstOrThrow();
    await handle.db.updateTable('members').set({ tier_id: silver.id }).where('id', '=', ids.Bita!).execute();
    const tiered = (await createLottery(handle.db, owner, base({ minTierId: silver.id }), t0)).lottery;
    expect((await ticketList(handle.db, tiered, day(5))).map((t) => t.member)).toEqual([ids.Bita]);
    expect(await myTickets(handle.db, tiered, ids.Ava!, day(5))).toEqual({ mine: 0, total: 1, chance: 0, eligible: false });

    const segment = await saveSegment(handle.db, owner, 'Silver', { groups: [[{ field: 'tier', in: ['silver'] }]] }, t0);
    const segmented = (await createLottery(handle.db, owner, base({ segmentId: segment.id }), t0)).lottery;
    expect((await ticketList(handle.db, segmented, day(5))).map((t) => t.member)).toEqual([ids.Bita]);

    const perPurchase = (await createLottery(handle.db, owner, base({ ticketMode: 'purchase' }), t0)).lottery;
    for (const [i, at] of [day(1), day(2), day(12)].entries()) {
      await recordPurchase(handle.db, { memberId: ids.Cyrus!, branchId, cashierMemberId: owner, amountRials: 10_000, operationId: `p${i}` }, env(at));
    }
    expect(await ticketList(handle.db, perPurchase, day(13))).toEqual([{ member: ids.Cyrus, tickets: 2 }]);
    for (const l of [lottery, optedIn, tiered, segmented, perPurchase]) await handle.db.updateTable('lotteries').set({ status: 'cancelled' }).where('id', '=', l.id).execute();
  });

  it('a draw runs once under concurrency: one set of winners, one prize paid, a proof that holds', async () => {
    const { lottery } = await createLottery(handle.db, owner, base({ prizes: [{ title: 'Points', count: 2, points: 500 }] }), t0);
    const everyone = Object.values(ids);
    const before = await Promise.all(everyone.map(points));
    const results = await Promise.all([drawLottery(handle.db, lottery.id, env(day(10))), drawLottery(handle.db, lottery.id, env(day(10))), drawLottery(handle.db, lottery.id, env(day(10)))]);
    const drawn = results.filter((r) => r !== null);
    expect(drawn).toHaveLength(1);
    const proof = drawn[0]!.proof;
    expect(checkProof(proof, { commitment: lottery.commitment })).toBeNull();
    expect(proof.winners).toHaveLength(2);
    const rows = await handle.db.selectFrom('lottery_winners').selectAll().where('lottery_id', '=', lottery.id).orderBy('position').execute();
    expect(rows.map((r) => r.member_id)).toEqual(proof.winners.map((w) => w.member));
    const after = await Promise.all(everyone.map(points));
    expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(1000);
    // Drawn again later (a rerun after a crash, a second press): nothing.
    expect(await drawLottery(handle.db, lottery.id, env(day(11)))).toBeNull();
  });

  it('a draw that dies midway leaves the lottery open, and the next one draws it once', async () => {
    const { lottery } = await createLottery(handle.db, owner, base(), t0);
    const crash = new Error('process died');
    await expect(
      drawLottery(handle.db, lottery.id, env(day(10)), () => {
        throw crash;
      }),
    ).rejects.toBe(crash);
    expect((await handle.db.selectFrom('lotteries').select('status').where('id', '=', lottery.id).executeTakeFirstOrThrow()).status).toBe('open');
    expect(await handle.db.selectFrom('lottery_winners').select('member_id').where('lottery_id', '=', lottery.id).execute()).toEqual([]);
    const result = await drawLottery(handle.db, lottery.id, env(day(10)));
    expect(result?.proof.winners).toHaveLength(1);
  });

  it('a voucher prize gives the winner their own code from the pool', async () => {
    const { pool } = await createPool(handle.db, owner, { name: 'Prize codes', discount: { kind: 'percent', value: 50 }, validFrom: t0, validTo: day(60), perMemberLimit: 1, segmentId: null }, { generate: 1 }, t0);
    const { lottery } = await createLottery(handle.db, owner, base({ prizes: [{ title: 'Half off', count: 2, voucher_pool_id: pool.id }] }), t0);
    const result = await drawLottery(handle.db, lottery.id, env(day(10)));
    const winners = await handle.db.selectFrom('lottery_winners').select(['member_id', 'voucher_code']).where('lottery_id', '=', lottery.id).orderBy('position').execute();
    expect(winners.map((w) => w.member_id)).toEqual(result!.proof.winners.map((w) => w.member));
    // The pool had one code; a generated pool makes the second.
    for (const w of winners) {
      const code = await handle.db.selectFrom('voucher_codes').select(['member_id', 'pool_id']).where('code', '=', w.voucher_code!).executeTakeFirstOrThrow();
      expect(code).toEqual({ member_id: w.member_id, pool_id: pool.id });
    }
    expect(new Set(winners.map((w) => w.voucher_code)).size).toBe(2);
  });

  it('excludes the winners of the last K draws', async () => {
    const last = await handle.db.selectFrom('lotteries').select('id').where('status', '=', 'drawn').orderBy('drawn_at', 'desc').orderBy('id', 'desc').executeTakeFirstOrThrow();
    const lastWinners = (await handle.db.selectFrom('lottery_winners').select('member_id').where('lottery_id', '=', last.id).execute()).map((w) => w.member_id);
    const none = (await createLottery(handle.db, owner, base(), t0)).lottery;
    const everyone = (await ticketList(handle.db, none, day(10))).map((t) => t.member);
    for (const w of lastWinners) expect(everyone).toContain(w);
    const one = (await createLottery(handle.db, owner, base({ excludeLast: 1 }), t0)).lottery;
    expect((await ticketList(handle.db, one, day(10))).map((t) => t.member)).toEqual(everyone.filter((m) => !lastWinners.includes(m)));
    const all = (await createLottery(handle.db, owner, base({ excludeLast: 5 }), t0)).lottery;
    const previous = await handle.db.selectFrom('lottery_winners').select('member_id').distinct().execute();
    const left = await ticketList(handle.db, all, day(10));
    expect(left.map((t) => t.member)).toEqual(everyone.filter((m) => !previous.some((w) => w.member_id === m)));
    expect(previous.length).toBeGreaterThan(1);
    for (const l of [one, all, none]) await handle.db.updateTable('lotteries').set({ status: 'cancelled' }).where('id', '=', l.id).execute();
  });

  it('tickets bought with points: one debit per confirmation, only while open, only if eligible and able to pay', async () => {
    await earn(ids.Cyrus!, 1000, day(1), 'c-buy');
    const { lottery } = await createLottery(handle.db, owner, base({ ticketMode: 'bought', pointsPerTicket: 200, optedInOnly: true }), t0);
    const balance = await points(ids.Cyrus!);
    const press = { lotteryId: lottery.id, memberId: ids.Cyrus!, tickets: 3, key: 'm42', now: day(2) };
    const twice = await Promise.all([buyTickets(handle.db, press), buyTickets(handle.db, press)]);
    expect(twice.map((r) => r.duplicate).sort()).toEqual([false, true]);
    expect(await points(ids.Cyrus!)).toBe(balance - 600);
    await buyTickets(handle.db, { ...press, tickets: 1, key: 'm43' });
    expect(await ticketList(handle.db, lottery, day(3))).toEqual([{ member: ids.Cyrus, tickets: 4 }]);
    await expect(buyTickets(handle.db, { ...press, tickets: 10, key: 'm44' })).rejects.toThrow(/insufficient_points/);
    await expect(buyTickets(handle.db, { ...press, memberId: ids.Quiet!, key: 'q' })).rejects.toThrow(/lottery_not_eligible/);
    await expect(buyTickets(handle.db, { ...press, key: 'late', now: day(10) })).rejects.toThrow(/lottery_closed/);
    expect(await points(ids.Cyrus!)).toBe(balance - 800);
  });
});
