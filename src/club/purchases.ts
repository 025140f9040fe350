import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Purchase, Tier } from '../db/schema.ts';
import { todayIso } from '../lib/jalali.ts';
import { zonedMidnight } from '../lib/zoned.ts';
import { ClubError } from './errors.ts';
import { credit, debit, lockMember, type Trx } from './ledger.ts';
import { queueNotice } from './notifications.ts';
import { reverseReferralForPurchase } from './referrals.ts';
import { effectiveRule, lotExpiry, loyaltySettingsSchema, purchasePoints, type LoyaltySettings, type PointsBreakdown } from './rules.ts';
import { audit } from './audit.ts';

/** The clock, zone and defaults a loyalty operation runs under. */
export interface LoyaltyEnv {
  now: Date;
  timeZone: string;
  defaults?: Partial<LoyaltySettings>;
}

export const MAX_PURCHASE_RIALS = 100_000_000_000_000; // 100 trillion Rials: far beyond any single sale

export interface PurchaseInput {
  memberId: number;
  branchId: number;
  cashierMemberId: number;
  amountRials: number;
  receiptNo?: string | null;
  creditToUse?: number;
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

function checkAmounts(input: Pick<PurchaseInput, 'amountRials' | 'creditToUse'>) {
  if (!Number.isSafeInteger(input.amountRials) || input.amountRials <= 0 || input.amountRials > MAX_PURCHASE_RIALS) {
    throw new ClubError('errors.amount_invalid');
  }
  const creditToUse = input.creditToUse ?? 0;
  if (!Number.isSafeInteger(creditToUse) || creditToUse < 0 || creditToUse > input.amountRials) throw new ClubError('errors.credit_over_amount');
  return creditToUse;
}

/** What a purchase would earn, for the cashier's confirmation screen. Writes nothing. */
export async function previewPurchase(db: Db, input: Omit<PurchaseInput, 'operationId'>, env: LoyaltyEnv): Promise<PointsBreakdown> {
  const creditToUse = checkAmounts(input);
  return db.transaction().execute(async (trx) => {
    const member = await trx.selectFrom('members').selectAll().where('id', '=', input.memberId).executeTakeFirstOrThrow();
    if (creditToUse > member.credit_balance) throw new ClubError('errors.insufficient_credit', { balance: member.credit_balance });
    const tier = await trx.selectFrom('tiers').selectAll().where('id', '=', member.tier_id).executeTakeFirstOrThrow();
    const rule = await effectiveRule(trx, input.branchId, env.now);
    return purchasePoints(rule, input.amountRials - creditToUse, tier, await visitsToday(trx, input.memberId, env));
  });
}

interface RecordedRow {
  error?: 'member_not_found' | 'receipt_used' | 'insufficient_credit';
  balance?: number;
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
 * Records a sale at the till: the purchase row, the credit spent, the points lot earned, and an
 * immediate promotion, all at once under the member's row lock. Points are earned on what was
 * paid in money (amount less credit used). The same receipt at the same branch, or the same
 * operation retried, returns the original purchase and pays nothing.
 *
 * The till is the club's hottest write, so the work happens in one database call
 * (club_record_purchase, see migrations/20261122170000_record_purchase_function.ts) whose rules
 * match purchasePoints and lotExpiry here; the preview uses those, and tests hold the two together.
 */
export async function recordPurchase(db: Db, input: PurchaseInput, env: LoyaltyEnv): Promise<PurchaseOutcome> {
  const creditToUse = checkAmounts(input);
  const key = purchaseKey(input);
  const tz = env.timeZone;
  const defaults = loyaltySettingsSchema.parse(env.defaults ?? {});
  // The member's receipt is queued by the same statement (one transaction, still one round trip):
  // if the purchase commits, so does its receipt (see receiptNotice).
  const { rows } = await sql<{ result: RecordedRow }>`
    with recorded as (
      select club_record_purchase(
        ${input.memberId}, ${input.branchId}, ${input.cashierMemberId}, ${input.amountRials}, ${creditToUse},
        ${input.receiptNo?.trim() || null}, ${key}, ${env.now}, ${zonedMidnight(todayIso(env.now, tz), tz)},
        ${lotExpiry(env.now, { mode: 'jalali_month_end', days: 1 }, tz)}, ${lotExpiry(env.now, { mode: 'jalali_year_end', days: 1 }, tz)},
        ${JSON.stringify(defaults)}::jsonb
      ) as result
    ), receipt as (
      insert into notifications (member_id, platform, chat_id, kind, body, idempotency_key, status, created_at)
      select a.member_id, a.platform, a.chat_id, 'receipt',
        jsonb_build_object(
          'purchase', r.result->'purchase'->'id', 'points', r.result->'points', 'balance', r.result->'points_balance',
          'amount', ${input.amountRials}::bigint, 'credit_used', ${creditToUse}::bigint, 'credit_left', r.result->'credit_balance',
          'branch', (select b.name from branches b where b.id = ${input.branchId}),
          'promoted', (select jsonb_build_object('fa', t.name_fa, 'en', t.name_en) from tiers t where t.id = (r.result->>'promoted_to')::int)
        ),
        'receipt:' || (r.result->'purchase'->>'id'), 'pending', ${env.now}
      from recorded r join member_accounts a on a.member_id = ${input.memberId} and not a.blocked
      where r.result->>'error' is null and (r.result->>'duplicate') is distinct from 'true'
      on conflict do nothing
    )
    select result from recorded`.execute(db);
  const r = rows[0]!.result;
  if (r.error === 'member_not_found') throw new ClubError('errors.member_not_found');
  if (r.error === 'receipt_used') throw new ClubError('errors.receipt_used');
  if (r.error === 'insufficient_credit') throw new ClubError('errors.insufficient_credit', { balance: r.balance });
  const purchase: Purchase = { ...r.purchase, created_at: new Date(r.purchase.created_at), voided_at: r.purchase.voided_at ? new Date(r.purchase.voided_at) : null };
  if (r.duplicate) {
    return { purchase, points: purchase.points_earned, breakdown: null, duplicate: true, pointsBalance: r.points_balance, creditBalance: r.credit_balance, promotedTo: null };
  }
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

/** A manager voids a sale: its points come back out, the credit it used goes back in. */
export async function voidPurchase(db: Db, purchaseId: number, actorMemberId: number, reason: string, env: LoyaltyEnv): Promise<VoidOutcome> {
  const text = reason.trim();
  if (!text) throw new ClubError('errors.reason_required');
  return db.transaction().execute(async (trx) => {
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
    const notice = { kind: 'void', lines: [{ key: 'admin.void_member', params: { id: purchase.id, points: pointsTaken, reason: text } }] };
    await queueNotice(trx, purchase.member_id, notice, `void:${purchase.id}`, env.now);
    return { purchase: updated, duplicate: false, pointsTaken, unrecovered, creditRefunded: purchase.credit_used };
  });
}
