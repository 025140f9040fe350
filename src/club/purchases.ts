import { CompiledQuery, sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { PREPARED } from '../db/prepared.ts';
import type { Purchase, Tier } from '../db/schema.ts';
import { todayIso } from '../lib/jalali.ts';
import { zonedMidnight } from '../lib/zoned.ts';
import { ClubError } from './errors.ts';
import { credit, debit, lockMember, type Trx } from './ledger.ts';
import { queueNotice } from './notifications.ts';
import { reverseReferralForPurchase } from './referrals.ts';
import { effectiveRule, lotExpiry, loyaltySettingsSchema, purchasePoints, type LoyaltyEnv, type PointsBreakdown } from './rules.ts';
import { audit } from './audit.ts';
import { LIMITS } from './limits.ts';
import { checkVoucher, refuseVoucherElsewhere } from './vouchers.ts';

/** The clock, zone and defaults a loyalty operation runs under. */

export const MAX_PURCHASE_RIALS = LIMITS.purchaseRials;

export interface PurchaseInput {
  memberId: number;
  branchId: number;
  cashierMemberId: number;
  amountRials: number;
  receiptNo?: string | null;
  creditToUse?: number;
  /** Use the member's welcome voucher (from an invitation) on this purchase. */
  applyWelcome?: boolean;
  /** A pool voucher code (voucher_codes.id) the cashier applies; used up with the purchase. */
  voucherCodeId?: number | null;
  /** Unique per attempt at the till (the conversation's id): a retry of the same attempt pays once. */
  operationId: string;
}

export interface PurchaseOutcome {
  purchase: Purchase;
  points: number;
  breakdown: PointsBreakdown | null;
  duplicate: boolean;
  pointsBalance: number;
  creditBalance: number;
  promotedTo: Tier | null;
}

/**
 * The dates a purchase needs from the club's calendar (the local day's start, for today's visits;
 * the ends of the Jalali month and year, for lot expiry), kept until the next local midnight:
 * working them out through Intl was ~0.2 ms of the till's CPU per purchase.
 */
const tillDays = new Map<string, { from: number; to: number; dayStart: Date; monthEnd: Date; yearEnd: Date; params: [string, string, string] }>();
export function tillDates(now: Date, tz: string) {
  const t = now.getTime();
  const kept = tillDays.get(tz);
  if (kept && t >= kept.from && t < kept.to) return kept;
  const dayStart = zonedMidnight(todayIso(now, tz), tz);
  // 36 hours after a local midnight is always in the next local day (days last 23 to 25 hours).
  const nextStart = zonedMidnight(todayIso(new Date(dayStart.getTime() + 36 * 3_600_000), tz), tz);
  const monthEnd = lotExpiry(now, { mode: 'jalali_month_end', days: 1 }, tz);
  const yearEnd = lotExpiry(now, { mode: 'jalali_year_end', days: 1 }, tz);
  // The three as the till's statement takes them, written once a day instead of once a purchase.
  const params: [string, string, string] = [dayStart.toISOString(), monthEnd.toISOString(), yearEnd.toISOString()];
  const dates = { from: dayStart.getTime(), to: nextStart.getTime(), dayStart, monthEnd, yearEnd, params };
  tillDays.set(tz, dates);
  return dates;
}

export function purchaseKey(input: Pick<PurchaseInput, 'branchId' | 'receiptNo' | 'operationId'>) {
  const receipt = input.receiptNo?.trim();
  return receipt ? `purchase:${input.branchId}:${receipt.toUpperCase()}` : `purchase-op:${input.operationId}`;
}

async function visitsToday(trx: Trx, memberId: number, env: LoyaltyEnv) {
  const since = zonedMidnight(todayIso(env.now, env.timeZone), env.timeZone);
  const row = await trx
    .selectFrom('purchases')
    .select(sql<number>`count(*)`.as('n'))
    .where('member_id', '=', memberId)
    .where('status', '=', 'recorded')
    .where('created_at', '>=', since)
    .executeTakeFirstOrThrow();
  return row.n;
}

function checkAmounts(input: Pick<PurchaseInput, 'amountRials' | 'creditToUse' | 'memberId' | 'cashierMemberId'>) {
  if (input.memberId === input.cashierMemberId) throw new ClubError('errors.own_purchase');
  if (!Number.isSafeInteger(input.amountRials) || input.amountRials <= 0) throw new ClubError('errors.amount_invalid');
  if (input.amountRials > MAX_PURCHASE_RIALS) throw new ClubError('errors.amount_too_large', { max: MAX_PURCHASE_RIALS });
  const creditToUse = input.creditToUse ?? 0;
  if (!Number.isSafeInteger(creditToUse) || creditToUse < 0 || creditToUse > input.amountRials) throw new ClubError('errors.credit_over_amount');
  return creditToUse;
}

export type VoucherDiscount = { kind: 'percent' | 'rials'; value: number };

/** The money side of a purchase, as the confirmation screen shows it and the till applies it. */
export interface PurchaseTotals {
  amount: number;
  tierDiscount: number;
  voucherDiscount: number;
  /** Amount less both discounts: what the purchase costs the member. */
  net: number;
  credit: number;
  /** What the member pays in money: net less credit. Points are earned on this. */
  toPay: number;
}

/**
 * Tier discount first (in hundredths of a percent, rounded down), then one voucher on what is
 * left: a percent, or Rials up to the whole. club_record_purchase does the same arithmetic.
 */
export function purchaseTotals(amount: number, tierPercent: string | number, voucher: VoucherDiscount | null, credit: number): PurchaseTotals {
  const tierDiscount = Math.floor((amount * Math.round(Number(tierPercent) * 100)) / 10_000);
  const afterTier = amount - tierDiscount;
  const voucherDiscount = !voucher ? 0 : voucher.kind === 'percent' ? Math.floor((afterTier * voucher.value) / 100) : Math.min(voucher.value, afterTier);
  const net = afterTier - voucherDiscount;
  return { amount, tierDiscount, voucherDiscount, net, credit, toPay: net - credit };
}

export interface PurchaseQuote {
  points: PointsBreakdown;
  totals: PurchaseTotals;
  tier: Tier;
  /** The voucher applied: the welcome voucher's percent, or the pool code and its discount. */
  voucher: { kind: 'welcome'; percent: number } | { kind: 'pool'; code: string; discount: VoucherDiscount } | null;
}

/**
 * What a purchase would cost and earn, for the cashier's confirmation screen. Writes nothing.
 * Points are earned on the amount paid in money: after the tier and voucher discounts and after
 * credit (a discount is not spending, and credit was earned by spending already).
 */
export async function quotePurchase(db: Db, input: Omit<PurchaseInput, 'operationId'>, env: LoyaltyEnv): Promise<PurchaseQuote> {
  const creditToUse = checkAmounts(input);
  return db.transaction().execute(async (trx) => {
    const member = await trx.selectFrom('members').selectAll().where('id', '=', input.memberId).executeTakeFirst();
    if (!member) throw new ClubError('errors.member_not_found');
    const tier = await trx.selectFrom('tiers').selectAll().where('id', '=', member.tier_id).executeTakeFirstOrThrow();
    let voucher: PurchaseQuote['voucher'] = null;
    if (input.applyWelcome) {
      const welcome = await trx.selectFrom('member_vouchers').select('percent').where('member_id', '=', input.memberId).where('kind', '=', 'welcome')
        .where('used_purchase_id', 'is', null).where('expires_at', '>', env.now).executeTakeFirst();
      if (!welcome) throw new ClubError('errors.voucher_gone');
      voucher = { kind: 'welcome', percent: welcome.percent };
    } else if (input.voucherCodeId) {
      const code = await trx.selectFrom('voucher_codes').select('code').where('id', '=', input.voucherCodeId).executeTakeFirst();
      if (!code) throw new ClubError('errors.voucher_unknown');
      const { pool } = await checkVoucher(trx, code.code, input.memberId, env.now, input.branchId);
      voucher = { kind: 'pool', code: code.code, discount: { kind: pool.discount_kind, value: pool.discount_value } };
    }
    const discount: VoucherDiscount | null = !voucher ? null : voucher.kind === 'welcome' ? { kind: 'percent', value: voucher.percent } : voucher.discount;
    const totals = purchaseTotals(input.amountRials, tier.discount_percent, discount, creditToUse);
    if (totals.toPay < 0) throw new ClubError('errors.credit_over_amount');
    if (creditToUse > member.credit_balance) throw new ClubError('errors.insufficient_credit', { balance: member.credit_balance });
    const rule = await effectiveRule(trx, input.branchId, env.now);
    return { points: purchasePoints(rule, totals.toPay, tier, await visitsToday(trx, input.memberId, env)), totals, tier, voucher };
  });
}

/** What a purchase would earn (see quotePurchase). */
export async function previewPurchase(db: Db, input: Omit<PurchaseInput, 'operationId'>, env: LoyaltyEnv): Promise<PointsBreakdown> {
  return (await quotePurchase(db, input, env)).points;
}

/**
 * The till's call, written once: building it through Kysely's sql template and compiling it took
 * ~4 % of the club process's busy samples per purchase (the process shares the server's cores; see
 * docs/benchmarks.md, session 3). Dates go as ISO strings (pg would format each Date in local
 * time; the instant is the same).
 */
const RECORD_PURCHASE = `${PREPARED}select club_record_purchase($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14::int8) as result`;

/**
 * The loyalty defaults as the till's statement takes them (JSON with every default filled in).
 * The bot passes the same few settings with every purchase, so the last ones are kept: parsing
 * them with zod and writing the JSON again was ~2 % of the process's busy samples per purchase.
 */
let lastDefaults: { given: string; json: string } | null = null;
function tillDefaults(defaults: LoyaltyEnv['defaults']): string {
  const given = defaults === undefined ? '' : JSON.stringify(defaults);
  if (lastDefaults?.given === given) return lastDefaults.json;
  const json = JSON.stringify(loyaltySettingsSchema.parse(defaults ?? {}));
  lastDefaults = { given, json };
  return json;
}

type RecordError =
  | 'member_not_found' | 'receipt_used' | 'insufficient_credit' | 'own_purchase' | 'credit_over_amount'
  | 'voucher_gone' | 'voucher_used' | 'voucher_not_yet' | 'voucher_expired' | 'voucher_foreign' | 'voucher_limit_reached';

interface RecordedRow {
  error?: RecordError;
  balance?: number;
  limit?: number;
  duplicate: boolean;
  purchase: Omit<Purchase, 'created_at' | 'voided_at'> & { created_at: string; voided_at: string | null };
  points: number;
  base: number;
  from_spend: number;
  visit: number;
  multiplier: number;
  below_minimum: boolean;
  points_balance: number;
  credit_balance: number;
  promoted_to: number | null;
}

/**
 * Records a sale at the till: the purchase row, the discounts and the voucher used up, the credit
 * spent, the points lot earned, and an immediate promotion, all at once under the member's row
 * lock. Points are earned on what was paid in money (amount less discounts less credit). The same
 * receipt at the same branch, or the same operation retried, returns the original purchase and
 * pays nothing. Credit moves only with the member's approval: the till calls this with credit
 * from decideCreditRequest (see credit-requests.ts), never straight from the cashier.
 *
 * The till is the club's hottest write, so the work happens in one database call
 * (club_record_purchase, as of migrations/20261130060000_till_fewer_statements.ts) whose rules
 * match purchaseTotals, purchasePoints and lotExpiry here; the preview uses those, and tests hold
 * the two together. `db` may be a transaction (the member's approval records inside its own).
 */
export async function recordPurchase(db: Db | Trx, input: PurchaseInput, env: LoyaltyEnv): Promise<PurchaseOutcome> {
  const creditToUse = checkAmounts(input);
  const key = purchaseKey(input);
  const tz = env.timeZone;
  // club_record_purchase checks the code itself but not its pool's branch.
  if (input.voucherCodeId) await refuseVoucherElsewhere(db, input.voucherCodeId, input.branchId);
  const dates = tillDates(env.now, tz);
  // The function also queues the member's receipt (one transaction, one round trip): if the
  // purchase commits, so does its receipt (see receiptNotice). The statement's text is a constant
  // (RECORD_PURCHASE); only its parameters are made per purchase.
  const params = [
    input.memberId, input.branchId, input.cashierMemberId, input.amountRials, creditToUse,
    input.receiptNo?.trim() || null, key, env.now.toISOString(), ...dates.params,
    tillDefaults(env.defaults), input.applyWelcome ?? false, input.voucherCodeId ?? null,
  ];
  const { rows } = await db.executeQuery<{ result: RecordedRow }>(CompiledQuery.raw(RECORD_PURCHASE, params));
  const r = rows[0]!.result;
  if (r.error === 'insufficient_credit') throw new ClubError('errors.insufficient_credit', { balance: r.balance });
  if (r.error === 'voucher_limit_reached') throw new ClubError('errors.voucher_limit_reached', { limit: r.limit });
  if (r.error) throw new ClubError(`errors.${r.error}`);
  const purchase: Purchase = { ...r.purchase, created_at: new Date(r.purchase.created_at), voided_at: r.purchase.voided_at ? new Date(r.purchase.voided_at) : null };
  if (r.duplicate) {
    return { purchase, points: purchase.points_earned, breakdown: null, duplicate: true, pointsBalance: r.points_balance, creditBalance: r.credit_balance, promotedTo: null };
  }
  // Read only on a promotion (rare), so built like any other query.
  const promotedTo = r.promoted_to === null ? null : await db.selectFrom('tiers').selectAll().where('id', '=', r.promoted_to).executeTakeFirstOrThrow();
  return {
    purchase,
    points: r.points,
    breakdown: { base: r.base, multiplier: Number(r.multiplier), fromSpend: r.from_spend, visit: r.visit, total: r.points, belowMinimum: r.below_minimum },
    duplicate: false,
    pointsBalance: r.points_balance,
    creditBalance: r.credit_balance,
    promotedTo,
  };
}

export interface VoidOutcome {
  purchase: Purchase;
  duplicate: boolean;
  /** Points taken back (from the purchase's own lot first, then the member's other lots). */
  pointsTaken: number;
  /** Points already spent that no lot could cover: shown to managers. */
  unrecovered: number;
  creditRefunded: number;
}

/** A manager voids a sale: its points come back out, the credit it used goes back in; the member is told. */
export async function voidPurchase(db: Db, purchaseId: number, actorMemberId: number, reason: string, env: LoyaltyEnv): Promise<VoidOutcome> {
  return db.transaction().execute(async (trx) => {
    const outcome = await voidPurchaseIn(trx, purchaseId, actorMemberId, reason, env);
    if (!outcome.duplicate) {
      const notice = { kind: 'void', lines: [{ key: 'admin.void_member', params: { id: purchaseId, points: outcome.pointsTaken, reason: reason.trim() } }] };
      await queueNotice(trx, outcome.purchase.member_id, notice, `void:${purchaseId}`, env.now);
    }
    return outcome;
  });
}

/** The void itself, inside the caller's transaction (a dispute's void tells the member in its own words). */
export async function voidPurchaseIn(trx: Trx, purchaseId: number, actorMemberId: number, reason: string, env: LoyaltyEnv): Promise<VoidOutcome> {
  const text = reason.trim();
  if (!text) throw new ClubError('errors.reason_required');
  const found = await trx.selectFrom('purchases').select('member_id').where('id', '=', purchaseId).executeTakeFirst();
  if (!found) throw new ClubError('errors.purchase_not_found');
  await lockMember(trx, found.member_id);
  const purchase = await trx.selectFrom('purchases').selectAll().where('id', '=', purchaseId).forUpdate().executeTakeFirstOrThrow();
  if (purchase.status === 'voided') {
    return { purchase, duplicate: true, pointsTaken: purchase.points_earned - purchase.unrecovered_points, unrecovered: purchase.unrecovered_points, creditRefunded: purchase.credit_used };
  }
  let pointsTaken = 0;
  if (purchase.points_earned > 0) {
    const lot = await trx.selectFrom('ledger_entries').select('id').where('idempotency_key', '=', `purchase:${purchase.id}`).executeTakeFirst();
    const taken = await debit(trx, {
      memberId: purchase.member_id,
      currency: 'points',
      amount: purchase.points_earned,
      kind: 'earn_reversal',
      reason: 'purchase_void',
      idempotencyKey: `void:${purchase.id}`,
      branchId: purchase.branch_id,
      actorMemberId,
      meta: { purchase_id: purchase.id, reason: text },
      upTo: true,
      ...(lot ? { preferLot: lot.id } : {}),
      at: env.now,
    });
    pointsTaken = taken.amount;
  }
  if (purchase.credit_used > 0) {
    await credit(trx, {
      memberId: purchase.member_id,
      currency: 'credit',
      amount: purchase.credit_used,
      kind: 'refund',
      reason: 'purchase_void',
      idempotencyKey: `void-credit:${purchase.id}`,
      expiresAt: null,
      branchId: purchase.branch_id,
      actorMemberId,
      at: env.now,
    });
  }
  // An inviter rewarded for this purchase gives that reward back too.
  await reverseReferralForPurchase(trx, purchase.id, actorMemberId, env.now);
  const unrecovered = purchase.points_earned - pointsTaken;
  const updated = await trx
    .updateTable('purchases')
    .set({ status: 'voided', voided_at: env.now, voided_by: actorMemberId, void_reason: text, unrecovered_points: unrecovered })
    .where('id', '=', purchase.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(trx, { actor: actorMemberId, action: 'purchase.void', payload: { purchase_id: purchase.id, reason: text, points_taken: pointsTaken, unrecovered }, at: env.now });
  return { purchase: updated, duplicate: false, pointsTaken, unrecovered, creditRefunded: purchase.credit_used };
}
