import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Purchase, Tier } from '../db/schema.ts';
import { todayIso } from '../lib/jalali.ts';
import { zonedMidnight } from '../lib/zoned.ts';
import { ClubError } from './errors.ts';
import { credit, debit, lockMember, type Trx } from './ledger.ts';
import { effectiveRule, loyaltySettings, lotExpiry, purchasePoints, type LoyaltySettings, type PointsBreakdown } from './rules.ts';
import { promoteIfQualified } from './tiers.ts';

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

/**
 * Records a sale at the till: the purchase row, the credit spent, the points lot earned, and an
 * immediate promotion, all in one transaction under the member's row lock. Points are earned on
 * what was paid in money (amount less credit used). The same receipt at the same branch, or the
 * same operation retried, returns the original purchase and pays nothing.
 */
export async function recordPurchase(db: Db, input: PurchaseInput, env: LoyaltyEnv): Promise<PurchaseOutcome> {
  const creditToUse = checkAmounts(input);
  const key = purchaseKey(input);
  return db.transaction().execute(async (trx) => {
    const member = await lockMember(trx, input.memberId);
    const existing = await trx.selectFrom('purchases').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
    if (existing) {
      return {
        purchase: existing,
        points: existing.points_earned,
        breakdown: null,
        duplicate: true,
        pointsBalance: member.points_balance,
        creditBalance: member.credit_balance,
        promotedTo: null,
      };
    }
    const settings = await loyaltySettings(trx, env.defaults);
    const tier = await trx.selectFrom('tiers').selectAll().where('id', '=', member.tier_id).executeTakeFirstOrThrow();
    const rule = await effectiveRule(trx, input.branchId, env.now);
    const breakdown = purchasePoints(rule, input.amountRials - creditToUse, tier, await visitsToday(trx, input.memberId, env));

    const purchase = await trx
      .insertInto('purchases')
      .values({
        member_id: input.memberId,
        branch_id: input.branchId,
        cashier_member_id: input.cashierMemberId,
        amount_rials: input.amountRials,
        credit_used: creditToUse,
        receipt_no: input.receiptNo?.trim() || null,
        idempotency_key: key,
        points_earned: breakdown.total,
        created_at: env.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();

    if (creditToUse > 0) {
      await debit(trx, {
        memberId: input.memberId,
        currency: 'credit',
        amount: creditToUse,
        kind: 'spend',
        reason: 'purchase_credit',
        idempotencyKey: `purchase-credit:${purchase.id}`,
        branchId: input.branchId,
        actorMemberId: input.cashierMemberId,
      });
    }
    if (breakdown.total > 0) {
      await credit(trx, {
        memberId: input.memberId,
        currency: 'points',
        amount: breakdown.total,
        kind: 'earn',
        reason: 'purchase',
        idempotencyKey: `purchase:${purchase.id}`,
        expiresAt: lotExpiry(env.now, settings.validity, env.timeZone),
        branchId: input.branchId,
        actorMemberId: input.cashierMemberId,
        meta: { purchase_id: purchase.id },
      });
    }
    const promotedTo = await promoteIfQualified(trx, input.memberId, env.now, settings.tierWindowDays);
    await trx
      .insertInto('audit_log')
      .values({ actor_member_id: input.cashierMemberId, action: 'purchase.record', payload: JSON.stringify({ purchase_id: purchase.id, member_id: input.memberId, amount: input.amountRials, credit: creditToUse, points: breakdown.total }) })
      .execute();
    const after = await trx.selectFrom('members').select(['points_balance', 'credit_balance']).where('id', '=', input.memberId).executeTakeFirstOrThrow();
    return { purchase, points: breakdown.total, breakdown, duplicate: false, pointsBalance: after.points_balance, creditBalance: after.credit_balance, promotedTo };
  });
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
      });
    }
    const unrecovered = purchase.points_earned - pointsTaken;
    const updated = await trx
      .updateTable('purchases')
      .set({ status: 'voided', voided_at: env.now, voided_by: actorMemberId, void_reason: text, unrecovered_points: unrecovered })
      .where('id', '=', purchase.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('audit_log')
      .values({ actor_member_id: actorMemberId, action: 'purchase.void', payload: JSON.stringify({ purchase_id: purchase.id, reason: text, points_taken: pointsTaken, unrecovered }) })
      .execute();
    return { purchase: updated, duplicate: false, pointsTaken, unrecovered, creditRefunded: purchase.credit_used };
  });
}
