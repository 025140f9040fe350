import { randomBytes } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Lottery, LotteryPrize, LotteryTicketMode } from '../db/schema.ts';
import { audit } from './audit.ts';
import { createCampaign, startCampaign } from './campaigns.ts';
import { ClubError } from './errors.ts';
import { credit, debit, type Trx } from './ledger.ts';
import { commitmentOf, deriveWinners, listDigest, PROOF_FORMAT, type DrawInput, type LotteryProof, type TicketLine, type Winner } from './lottery-proof.ts';
import type { LoyaltyEnv } from './rules.ts';
import { loyaltySettings, lotExpiry } from './rules.ts';
import { compileSegment, loadSegment } from './segments.ts';
import { EARNING_KINDS } from './tiers.ts';
import { generateCodes } from './vouchers.ts';
import { queueNotice, type Notice, type NoticeText } from './notifications.ts';

export * from './lottery-proof.ts';

export const MAX_PRIZES = 10;
export const MAX_TICKETS_PER_PURCHASE = 100;

export interface LotteryInput {
  title: string;
  prizes: LotteryPrize[];
  startsAt: Date;
  endsAt: Date;
  minTierId: number | null;
  optedInOnly: boolean;
  segmentId: number | null;
  ticketMode: LotteryTicketMode;
  pointsPerTicket: number;
  uniqueWinners: boolean;
  excludeLast: number;
  /** Tickets only from purchases at this branch; null or absent: every branch. */
  branchId?: number | null;
}

const positiveInt = (n: unknown, max: number) => Number.isSafeInteger(n) && (n as number) > 0 && (n as number) <= max;

export function validateLottery(input: LotteryInput, now: Date) {
  const title = input.title.trim();
  if (!title || title.length > 64) throw new ClubError('errors.lottery_title');
  if (input.prizes.length < 1 || input.prizes.length > MAX_PRIZES) throw new ClubError('errors.lottery_prizes');
  for (const p of input.prizes) {
    if (!p.title.trim() || p.title.length > 64 || !positiveInt(p.count, 100)) throw new ClubError('errors.lottery_prizes');
    if (p.points !== undefined && !positiveInt(p.points, 10_000_000)) throw new ClubError('errors.lottery_prizes');
  }
  if (input.endsAt <= input.startsAt || input.endsAt <= now) throw new ClubError('errors.lottery_period');
  if (!positiveInt(input.pointsPerTicket, 10_000_000)) throw new ClubError('errors.lottery_points_per_ticket');
  if (!Number.isSafeInteger(input.excludeLast) || input.excludeLast < 0 || input.excludeLast > 50) throw new ClubError('errors.lottery_exclude');
}

/**
 * A new lottery with a fresh secret seed; its commitment (SHA-256 of the seed) goes into the
 * announcement, sent through the campaign outbox in the same transaction when `announcement` is given.
 */
export async function createLottery(db: Db, actorMemberId: number, input: LotteryInput, now: Date, announcement?: (lottery: Lottery) => string): Promise<{ lottery: Lottery; campaignId: number | null }> {
  validateLottery(input, now);
  const seed = randomBytes(32).toString('hex');
  return db.transaction().execute(async (trx) => {
    let lottery = await trx
      .insertInto('lotteries')
      .values({
        title: input.title.trim(),
        prizes: JSON.stringify(input.prizes.map((p) => ({ ...p, title: p.title.trim() }))),
        starts_at: input.startsAt,
        ends_at: input.endsAt,
        min_tier_id: input.minTierId,
        opted_in_only: input.optedInOnly,
        segment_id: input.segmentId,
        branch_id: input.branchId ?? null,
        ticket_mode: input.ticketMode,
        points_per_ticket: input.pointsPerTicket,
        unique_winners: input.uniqueWinners,
        exclude_last: input.excludeLast,
        seed,
        commitment: commitmentOf(seed),
        list_digest: null,
        proof: null,
        drawn_at: null,
        announcement_campaign_id: null,
        result_campaign_id: null,
        created_by: actorMemberId,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    let campaignId: number | null = null;
    if (announcement) {
      campaignId = (await createCampaign(trx, actorMemberId, { segmentId: lottery.segment_id, text: announcement(lottery), photoFileId: null, button: null }, now)).id;
      await startCampaign(trx, campaignId, now);
      lottery = await trx.updateTable('lotteries').set({ announcement_campaign_id: campaignId }).where('id', '=', lottery.id).returningAll().executeTakeFirstOrThrow();
    }
    await audit(trx, { actor: actorMemberId, action: 'lottery.create', payload: { lottery_id: lottery.id, commitment: lottery.commitment }, at: now });
    return { lottery, campaignId };
  });
}

/** Who may take part, as SQL over `members m`: tier, offers on, segment, and not a recent winner. */
async function eligibility(db: Db | Trx, lottery: Lottery, now: Date): Promise<RawBuilder<unknown>> {
  const parts: RawBuilder<unknown>[] = [];
  if (lottery.min_tier_id !== null) parts.push(sql`m.tier_id in (select id from tiers where rank >= (select rank from tiers where id = ${lottery.min_tier_id}))`);
  if (lottery.opted_in_only) parts.push(sql`m.marketing_opt_in`);
  if (lottery.segment_id !== null) parts.push(compileSegment(await loadSegment(db as Db, lottery.segment_id), now));
  if (lottery.exclude_last > 0) {
    parts.push(sql`m.id not in (
      select w.member_id from lottery_winners w where w.lottery_id in (
        select id from lotteries where status = 'drawn' and id <> ${lottery.id} order by drawn_at desc, id desc limit ${lottery.exclude_last}))`);
  }
  return parts.length ? sql.join(parts, sql` and `) : sql`true`;
}

/** Every eligible member's tickets, ascending by member number: the list the draw freezes. */
export async function ticketList(db: Db | Trx, lottery: Lottery, now: Date, onlyMember?: number): Promise<TicketLine[]> {
  const eligible = await eligibility(db, lottery, now);
  const who = onlyMember === undefined ? sql`true` : sql`m.id = ${onlyMember}`;
  const { starts_at: from, ends_at: to, points_per_ticket: n } = lottery;
  // A branch lottery counts only what was earned or bought at its branch (tickets bought with points are not tied to one).
  const atBranch = lottery.branch_id === null ? sql`true` : sql`branch_id = ${lottery.branch_id}`;
  const counted =
    lottery.ticket_mode === 'points'
      ? sql`select member_id, floor(sum(amount) / ${n})::int8 as tickets from ledger_entries
            where currency = 'points' and kind in (${sql.join([...EARNING_KINDS])}) and created_at >= ${from} and created_at < ${to} and ${atBranch}
            group by member_id`
      : lottery.ticket_mode === 'purchase'
        ? sql`select member_id, count(*)::int8 as tickets from purchases
              where status = 'recorded' and created_at >= ${from} and created_at < ${to} and ${atBranch} group by member_id`
        : sql`select member_id, sum(tickets)::int8 as tickets from lottery_ticket_purchases where lottery_id = ${lottery.id} group by member_id`;
  const { rows } = await sql<{ member: number; tickets: number }>`
    select m.id as member, c.tickets from (${counted}) c join members m on m.id = c.member_id
    where c.tickets > 0 and ${who} and ${eligible}
    order by m.id`.execute(db);
  return rows;
}

export async function isEligible(db: Db, lottery: Lottery, memberId: number, now: Date): Promise<boolean> {
  const { rows } = await sql<{ ok: boolean }>`select exists (select 1 from members m where m.id = ${memberId} and ${await eligibility(db, lottery, now)}) as ok`.execute(db);
  return rows[0]!.ok;
}

export async function loadLottery(db: Db | Trx, id: number): Promise<Lottery> {
  const lottery = await db.selectFrom('lotteries').selectAll().where('id', '=', id).executeTakeFirst();
  if (!lottery) throw new ClubError('errors.lottery_not_found');
  return lottery;
}

/** Open lotteries, then those drawn in the last 30 days, newest first. */
export async function currentLotteries(db: Db, now: Date): Promise<Lottery[]> {
  return db
    .selectFrom('lotteries')
    .selectAll()
    .where((eb) => eb.or([eb('status', '=', 'open'), eb.and([eb('status', '=', 'drawn'), eb('drawn_at', '>', new Date(now.getTime() - 30 * 86_400_000))])]))
    .orderBy('id', 'desc')
    .limit(10)
    .execute();
}

export async function recentLotteries(db: Db): Promise<Lottery[]> {
  return db.selectFrom('lotteries').selectAll().orderBy('id', 'desc').limit(10).execute();
}

/**
 * The chance that a member holding `list[me]` of the tickets wins at least one of `draws` prizes.
 * When a member may win twice it is exact (tickets drawn without putting them back). With unique
 * winners it is 1 when there are no more members than prizes, else estimated by simulating the draw
 * 2,000 times with a fixed generator (so the figure does not move between two looks) while that is
 * cheap, and by the same formula for large fields, where the two agree.
 */
export function winChance(list: number[], me: number, draws: number, unique: boolean): number {
  const mine = list[me] ?? 0;
  const total = list.reduce((s, n) => s + n, 0);
  if (mine <= 0 || draws <= 0) return 0;
  if (unique && draws >= list.filter((n) => n > 0).length) return 1;
  if (!unique || list.length * draws > 50_000) {
    let lose = 1;
    for (let i = 0; i < draws && i < total; i++) lose *= Math.max(0, total - mine - i) / (total - i);
    return 1 - lose;
  }
  let state = 0x9e3779b9;
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const trials = 2000;
  let wins = 0;
  for (let trial = 0; trial < trials; trial++) {
    const left = [...list];
    let inPlay = total;
    for (let d = 0; d < draws && inPlay > 0; d++) {
      let r = Math.floor(random() * inPlay);
      let i = 0;
      while (r >= left[i]!) r -= left[i++]!;
      if (i === me) {
        wins++;
        break;
      }
      inPlay -= left[i]!;
      left[i] = 0;
    }
  }
  return wins / trials;
}

/** A member's tickets and everyone's, for "My tickets", with the chance of winning a prize. */
export async function myTickets(db: Db, lottery: Lottery, memberId: number, now: Date): Promise<{ mine: number; total: number; chance: number; eligible: boolean }> {
  const drawn = lottery.status === 'drawn';
  const list = drawn ? (lottery.proof as LotteryProof).tickets : await ticketList(db, lottery, now);
  const counts = list.map((t) => t.tickets);
  const me = list.findIndex((t) => t.member === memberId);
  return {
    mine: counts[me] ?? 0,
    total: counts.reduce((s, n) => s + n, 0),
    chance: winChance(counts, me, lottery.prizes.reduce((s, p) => s + p.count, 0), lottery.unique_winners),
    eligible: drawn || (await isEligible(db, lottery, memberId, now)),
  };
}

/**
 * Buys tickets with points. It is the member's own press in their own chat (their consent); `key`
 * names that press (the offer's message), so a double press or a replayed update pays once.
 */
export async function buyTickets(db: Db, input: { lotteryId: number; memberId: number; tickets: number; key: string; now: Date }): Promise<{ points: number; duplicate: boolean }> {
  if (!positiveInt(input.tickets, MAX_TICKETS_PER_PURCHASE)) throw new ClubError('errors.lottery_ticket_count');
  return db.transaction().execute(async (trx) => {
    // Shared lock: a draw (FOR UPDATE) waits for this purchase, or this purchase sees it drawn.
    const lottery = await trx.selectFrom('lotteries').selectAll().where('id', '=', input.lotteryId).forShare().executeTakeFirst();
    if (!lottery) throw new ClubError('errors.lottery_not_found');
    if (lottery.ticket_mode !== 'bought') throw new ClubError('errors.lottery_not_for_sale');
    if (lottery.status !== 'open' || input.now >= lottery.ends_at) throw new ClubError('errors.lottery_closed');
    if (input.now < lottery.starts_at) throw new ClubError('errors.lottery_not_started');
    if (!(await isEligible(trx as unknown as Db, lottery, input.memberId, input.now))) throw new ClubError('errors.lottery_not_eligible');
    const points = input.tickets * lottery.points_per_ticket;
    const paid = await debit(trx, {
      memberId: input.memberId,
      currency: 'points',
      amount: points,
      kind: 'lottery_ticket',
      reason: `lottery ${lottery.id}`,
      idempotencyKey: `lottery:${lottery.id}:buy:${input.memberId}:${input.key}`,
      meta: { lottery_id: lottery.id, tickets: input.tickets },
      at: input.now,
    });
    if (paid.duplicate) return { points, duplicate: true };
    await trx
      .insertInto('lottery_ticket_purchases')
      .values({ lottery_id: lottery.id, member_id: input.memberId, key: input.key, tickets: input.tickets, points, created_at: input.now })
      .execute();
    return { points, duplicate: false };
  });
}

export interface DrawResult {
  lottery: Lottery;
  proof: LotteryProof;
  campaignId: number | null;
}

/**
 * Draws a lottery once. The row is locked and must still be open, so two processes (or the
 * scheduler and a manager's button) draw it once: the second finds it drawn and gets null. The list,
 * the winners, their prizes, the proof and the result announcement are one transaction: a crash
 * leaves the lottery open and the next attempt draws it from scratch, to the same winners if the
 * list is the same.
 */
export async function drawLottery(db: Db, lotteryId: number, env: LoyaltyEnv, announcement?: (lottery: Lottery, proof: LotteryProof) => string): Promise<DrawResult | null> {
  const now = env.now;
  const settings = await loyaltySettings(db, env.defaults);
  return db.transaction().execute(async (trx) => {
    const lottery = await trx.selectFrom('lotteries').selectAll().where('id', '=', lotteryId).forUpdate().executeTakeFirst();
    if (!lottery || lottery.status !== 'open') return null;
    const input: DrawInput = {
      lottery: lottery.id,
      commitment: lottery.commitment,
      prizes: lottery.prizes.map((p) => ({ count: p.count })),
      unique_winners: lottery.unique_winners,
      tickets: await ticketList(trx, lottery, now),
    };
    const winners = deriveWinners(lottery.seed, input);
    const proof: LotteryProof = {
      format: PROOF_FORMAT,
      ...input,
      title: lottery.title,
      prizes: lottery.prizes.map((p) => ({ title: p.title, count: p.count })),
      list_digest: listDigest(input),
      seed: lottery.seed,
      winners,
    };
    for (const w of winners) await award(trx, lottery, w, now, lotExpiry(now, settings.validity, env.timeZone));
    let drawn = await trx
      .updateTable('lotteries')
      .set({ status: 'drawn', list_digest: proof.list_digest, proof: JSON.stringify(proof), drawn_at: now })
      .where('id', '=', lottery.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    let campaignId: number | null = null;
    if (announcement) {
      campaignId = (await createCampaign(trx, lottery.created_by, { segmentId: lottery.segment_id, text: announcement(drawn, proof), photoFileId: null, button: null }, now)).id;
      await startCampaign(trx, campaignId, now);
      drawn = await trx.updateTable('lotteries').set({ result_campaign_id: campaignId }).where('id', '=', lottery.id).returningAll().executeTakeFirstOrThrow();
    }
    await audit(trx, { actor: null, action: 'lottery.draw', payload: { lottery_id: lottery.id, digest: proof.list_digest, winners: winners.map((w) => w.member) }, at: now });
    return { lottery: drawn, proof, campaignId };
  });
}

/** Records a winner and gives the prize: points into the wallet, or a code from a voucher pool. */
async function award(trx: Trx, lottery: Lottery, w: Winner, now: Date, expiresAt: Date) {
  const prize = lottery.prizes[w.prize]!;
  let code: string | null = null;
  if (prize.points) {
    await credit(trx, {
      memberId: w.member,
      currency: 'points',
      amount: prize.points,
      kind: 'lottery_prize',
      reason: `lottery ${lottery.id}`,
      idempotencyKey: `lottery:${lottery.id}:prize:${w.position}`,
      expiresAt,
      meta: { lottery_id: lottery.id, position: w.position },
      at: now,
    });
  }
  if (prize.voucher_pool_id) code = await voucherFor(trx, prize.voucher_pool_id, w.member, now);
  // "You won" is a row of the draw's own transaction: a crash after the commit delays it, never loses it.
  await trx
    .insertInto('lottery_winners')
    .values({ lottery_id: lottery.id, position: w.position, prize_index: w.prize, member_id: w.member, ticket: w.ticket, voucher_code: code, notified_at: now })
    .execute();
  await queueNotice(trx, w.member, winnerNotice({ title: lottery.title, prize, voucher_code: code }), `lottery:${lottery.id}:won:${w.position}`, now);
}

/** "You won", with how to claim the prize, in the winner's language when it is sent. */
export function winnerNotice(n: { title: string; prize: LotteryPrize; voucher_code: string | null }): Notice {
  const claim: NoticeText = n.prize.points
    ? { key: 'lotteries.claim_points', params: { points: n.prize.points } }
    : n.voucher_code
      ? { key: 'lotteries.claim_voucher', params: { code: n.voucher_code } }
      : { key: 'lotteries.claim_shop' };
  return { kind: 'lottery_won', lines: [{ key: 'lotteries.won', params: { title: n.title, prize: n.prize.title, claim } }] };
}

/** A free code of the pool for the winner (a generated pool makes one when it has none left). */
async function voucherFor(trx: Trx, poolId: number, memberId: number, now: Date): Promise<string | null> {
  const pool = await trx.selectFrom('voucher_pools').select('source').where('id', '=', poolId).forUpdate().executeTakeFirst();
  if (!pool) return null;
  const take = () =>
    sql<{ code: string }>`
      update voucher_codes set member_id = ${memberId}, assigned_at = ${now}
      where id = (select id from voucher_codes where pool_id = ${poolId} and member_id is null and redeemed_at is null order by id limit 1)
      returning code`.execute(trx);
  let { rows } = await take();
  if (!rows.length && pool.source === 'generated') {
    await generateCodes(trx, poolId, 1);
    ({ rows } = await take());
  }
  return rows[0]?.code ?? null;
}

/** Open lotteries whose period has ended. */
export async function dueLotteries(db: Db, now: Date): Promise<number[]> {
  const rows = await db.selectFrom('lotteries').select('id').where('status', '=', 'open').where('ends_at', '<=', now).orderBy('id').execute();
  return rows.map((r) => r.id);
}

/**
 * Winners drawn before the draw queued its own notices (and not told yet): queued now, marked told
 * in the same transaction, so each is told once.
 */
export async function queueUntoldWinners(db: Db, now: Date): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ lottery_id: number; position: number; title: string; prizes: LotteryPrize[]; prize_index: number; member_id: number; voucher_code: string | null }>`
      update lottery_winners w set notified_at = ${now}
      from (select lottery_id, position from lottery_winners where notified_at is null order by lottery_id, position limit 500 for update skip locked) due, lotteries l
      where w.lottery_id = due.lottery_id and w.position = due.position and l.id = w.lottery_id
      returning w.lottery_id, w.position, l.title, l.prizes, w.prize_index, w.member_id, w.voucher_code`.execute(trx);
    for (const r of rows) {
      await queueNotice(trx, r.member_id, winnerNotice({ title: r.title, prize: r.prizes[r.prize_index]!, voucher_code: r.voucher_code }), `lottery:${r.lottery_id}:won:${r.position}`, now);
    }
    return rows.length;
  });
}

/** The published proof, once drawn (members download it). */
export async function lotteryProof(db: Db, id: number): Promise<LotteryProof> {
  const lottery = await loadLottery(db, id);
  if (lottery.status !== 'drawn' || !lottery.proof) throw new ClubError('errors.lottery_not_drawn');
  return lottery.proof as LotteryProof;
}

export async function cancelLottery(db: Db, actorMemberId: number, id: number, now: Date): Promise<boolean> {
  const done = await db.updateTable('lotteries').set({ status: 'cancelled' }).where('id', '=', id).where('status', '=', 'open').returning('id').executeTakeFirst();
  if (done) await audit(db, { actor: actorMemberId, action: 'lottery.cancel', payload: { lottery_id: id }, at: now });
  return Boolean(done);
}
