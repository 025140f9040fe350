import type { Db } from '../db/database.ts';
import { audit } from './audit.ts';
import { ClubError } from './errors.ts';
import type { Trx } from './ledger.ts';
import { queueNotice, queueNotices, type Notice } from './notifications.ts';
import { voidPurchaseIn } from './purchases.ts';
import type { LoyaltyEnv } from './rules.ts';

export const MAX_DISPUTE_REASON = 500;

/**
 * "This wasn't me" on a purchase receipt: one dispute per purchase, only by the member it was
 * recorded for; the managers' alert (with Void and Dismiss) is queued with it. `disputeId` is null
 * when the managers already know.
 */
export async function openDispute(db: Db, memberId: number, purchaseId: number, now: Date) {
  return db.transaction().execute(async (trx) => {
    const purchase = await trx.selectFrom('purchases').select(['id', 'amount_rials']).where('id', '=', purchaseId).where('member_id', '=', memberId).executeTakeFirst();
    if (!purchase) throw new ClubError('errors.purchase_not_found');
    const opened = await trx
      .insertInto('disputes')
      .values({ member_id: memberId, purchase_id: purchaseId, created_at: now })
      .onConflict((oc) => oc.column('purchase_id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (opened) {
      const member = await trx.selectFrom('members').select('first_name').where('id', '=', memberId).executeTakeFirstOrThrow();
      const notice: Notice = {
        kind: 'dispute',
        lines: [{ key: 'dispute.to_managers', params: { id: purchaseId, name: member.first_name, amount: { money: purchase.amount_rials } } }],
        buttons: [
          [
            { label: { key: 'disputes.void_button', params: { id: purchaseId } }, data: `dq:v:${opened.id}` },
            { label: { key: 'disputes.dismiss_button', params: { id: purchaseId } }, data: `dq:d:${opened.id}` },
          ],
        ],
      };
      await queueNotices(trx, await disputeDeciders(trx), notice, `dispute:${opened.id}:opened`, now);
    }
    return { disputeId: opened?.id ?? null, purchase };
  });
}

/** Owners and managers: who hears of a dispute. */
export async function disputeDeciders(db: Db | Trx): Promise<number[]> {
  return (await db.selectFrom('staff').select('member_id').where('role', 'in', ['owner', 'manager']).execute()).map((r) => r.member_id);
}

export interface DisputeView {
  id: number;
  purchaseId: number;
  memberId: number;
  firstName: string;
  amountRials: number;
  pointsEarned: number;
  purchaseStatus: 'recorded' | 'voided';
  unrecoveredPoints: number;
  status: 'open' | 'resolved';
  outcome: 'voided' | 'dismissed' | null;
}

function disputes(db: Db) {
  return db
    .selectFrom('disputes')
    .innerJoin('purchases', 'purchases.id', 'disputes.purchase_id')
    .innerJoin('members', 'members.id', 'disputes.member_id')
    .select([
      'disputes.id',
      'disputes.purchase_id as purchaseId',
      'disputes.member_id as memberId',
      'members.first_name as firstName',
      'purchases.amount_rials as amountRials',
      'purchases.points_earned as pointsEarned',
      'purchases.status as purchaseStatus',
      'purchases.unrecovered_points as unrecoveredPoints',
      'disputes.status',
      'disputes.outcome',
    ]);
}

export async function findDispute(db: Db, disputeId: number): Promise<DisputeView | null> {
  return ((await disputes(db).where('disputes.id', '=', disputeId).executeTakeFirst()) as DisputeView | undefined) ?? null;
}

export async function listOpenDisputes(db: Db): Promise<DisputeView[]> {
  return (await disputes(db).where('disputes.status', '=', 'open').orderBy('disputes.created_at').orderBy('disputes.id').limit(50).execute()) as DisputeView[];
}

/**
 * Voids a purchase (points back out, credit back in) and settles any open dispute on it as voided,
 * in one transaction with the member's notice: a disputed purchase is told in the dispute's words,
 * any other void as a void. `dispute` is null when there was none left open.
 */
/** What a manager sees before voiding a purchase: its figures and the member's name; undefined when unknown. */
export async function purchaseToVoid(db: Db, purchaseId: number) {
  return db
    .selectFrom('purchases')
    .innerJoin('members', 'members.id', 'purchases.member_id')
    .select(['purchases.id', 'purchases.amount_rials', 'purchases.points_earned', 'purchases.status', 'purchases.member_id', 'members.first_name'])
    .where('purchases.id', '=', purchaseId)
    .executeTakeFirst();
}

export async function voidDisputedPurchase(db: Db, purchaseId: number, actorMemberId: number, reason: string, env: LoyaltyEnv) {
  return db.transaction().execute(async (trx) => {
    const outcome = await voidPurchaseIn(trx, purchaseId, actorMemberId, reason, env);
    const text = reason.trim();
    const settled = await trx
      .updateTable('disputes')
      .set({ status: 'resolved', outcome: 'voided', reason: text, decided_by: actorMemberId, decided_at: env.now })
      .where('purchase_id', '=', purchaseId)
      .where('status', '=', 'open')
      .returning(['id', 'member_id'])
      .executeTakeFirst();
    const params = { id: purchaseId, points: outcome.pointsTaken, reason: text };
    if (settled) {
      await audit(trx, { actor: actorMemberId, action: 'dispute.void', payload: { purchase_id: purchaseId, member_id: settled.member_id, reason: text }, at: env.now });
      await queueNotice(trx, settled.member_id, { kind: 'dispute_voided', lines: [{ key: 'disputes.voided_member', params }] }, `dispute:${settled.id}:decided`, env.now);
    } else if (!outcome.duplicate) {
      await queueNotice(trx, outcome.purchase.member_id, { kind: 'void', lines: [{ key: 'admin.void_member', params }] }, `void:${purchaseId}`, env.now);
    }
    return { ...outcome, dispute: settled ?? null };
  });
}

/** The manager finds the purchase was the member's after all: the dispute closes with a reason the member reads. */
export async function dismissDispute(db: Db, disputeId: number, actorMemberId: number, reason: string, now: Date) {
  const text = reason.trim();
  if (!text) throw new ClubError('errors.reason_required');
  if (text.length > MAX_DISPUTE_REASON) throw new ClubError('errors.text_too_long', { max: MAX_DISPUTE_REASON });
  return db.transaction().execute(async (trx) => {
    const dismissed = await trx
      .updateTable('disputes')
      .set({ status: 'resolved', outcome: 'dismissed', reason: text, decided_by: actorMemberId, decided_at: now })
      .where('id', '=', disputeId)
      .where('status', '=', 'open')
      .returning(['id', 'member_id', 'purchase_id'])
      .executeTakeFirst();
    if (!dismissed) throw new ClubError('errors.dispute_decided');
    await audit(trx, { actor: actorMemberId, action: 'dispute.dismiss', payload: { purchase_id: dismissed.purchase_id, member_id: dismissed.member_id, reason: text }, at: now });
    const notice: Notice = { kind: 'dispute_dismissed', lines: [{ key: 'disputes.dismissed_member', params: { id: dismissed.purchase_id, reason: text } }] };
    await queueNotice(trx, dismissed.member_id, notice, `dispute:${dismissed.id}:decided`, now);
    return dismissed;
  });
}
