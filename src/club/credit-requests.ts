import type { Db } from '../db/database.ts';
import type { CreditRequest } from '../db/schema.ts';
import { ClubError } from './errors.ts';
import type { Trx } from './ledger.ts';
import { queueNotice, type Notice } from './notifications.ts';
import type { LoyaltyEnv } from './rules.ts';
import { recordPurchase, type PurchaseInput, type PurchaseOutcome } from './purchases.ts';
import { roleOf } from './staff.ts';

/**
 * Credit is money: a purchase paid partly from the member's credit waits for the member to approve
 * "Pay 50,000 Toman from your credit at Branch X?" in their own chat, like a points redemption.
 * Nothing moves until they approve; approving records the whole purchase (discounts, voucher,
 * credit, points) in the same transaction that marks the request approved, so a double press or a
 * replayed update records it once. A refusal or the 5-minute expiry records nothing. The member's
 * request and the cashier's answer are queued in the same transactions (the notification outbox).
 * `toPay` is what the member pays in money, as the till quoted it.
 */
export async function requestCreditSpend(db: Db, input: PurchaseInput & { creditToUse: number; toPay: number }, now: Date, minutes: number): Promise<CreditRequest> {
  if (!Number.isSafeInteger(input.creditToUse) || input.creditToUse <= 0) throw new ClubError('errors.credit_over_amount');
  if (input.memberId === input.cashierMemberId) throw new ClubError('errors.own_purchase');
  const member = await db.selectFrom('members').select('credit_balance').where('id', '=', input.memberId).executeTakeFirst();
  if (!member) throw new ClubError('errors.member_not_found');
  if (member.credit_balance < input.creditToUse) throw new ClubError('errors.insufficient_credit', { balance: member.credit_balance });
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('credit_requests')
      .values({
        member_id: input.memberId,
        branch_id: input.branchId,
        cashier_member_id: input.cashierMemberId,
        amount_rials: input.amountRials,
        credit_rials: input.creditToUse,
        receipt_no: input.receiptNo?.trim() || null,
        operation_id: input.operationId,
        apply_welcome: input.applyWelcome ?? false,
        voucher_code_id: input.voucherCodeId ?? null,
        expires_at: new Date(now.getTime() + minutes * 60_000),
        created_at: now,
      })
      // The conversation's operation id: a replay after a crash finds the request it already made.
      .onConflict((oc) => oc.column('operation_id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) return trx.selectFrom('credit_requests').selectAll().where('operation_id', '=', input.operationId).executeTakeFirstOrThrow();
    const branch = await trx.selectFrom('branches').select('name').where('id', '=', input.branchId).executeTakeFirstOrThrow();
    const notice: Notice = {
      kind: 'credit_request',
      lines: [
        { key: 'credit_request.ask_member', params: { credit: { money: input.creditToUse }, branch: branch.name, minutes } },
        { key: 'credit_request.ask_member_detail', params: { amount: { money: input.amountRials }, paid: { money: input.toPay } } },
      ],
      buttons: [[{ label: { key: 'redeem.approve' }, data: `cr:a:${row.id}` }, { label: { key: 'redeem.decline' }, data: `cr:d:${row.id}` }]],
    };
    await queueNotice(trx, input.memberId, notice, `credit:${row.id}:ask`, now);
    return row;
  });
}

/** The cashier who asked hears how it ended: approved (the purchase), declined, failed (why) or expired. */
async function tellCashier(trx: Trx, request: CreditRequest, outcome: PurchaseOutcome | null, creditBalance: number, now: Date) {
  const member = await trx.selectFrom('members').select('first_name').where('id', '=', request.member_id).executeTakeFirstOrThrow();
  const params = {
    name: member.first_name,
    credit: { money: request.credit_rials },
    id: outcome?.purchase.id ?? 0,
    points: outcome?.points ?? 0,
    reason: request.error ? { key: request.error, params: { balance: { money: creditBalance } } } : '',
  };
  const notice: Notice = { kind: 'credit_decided', lines: [{ key: `credit_request.${request.status}_cashier`, params }] };
  await queueNotice(trx, request.cashier_member_id, notice, `credit:${request.id}:decided`, now);
}

export interface CreditDecision {
  request: CreditRequest;
  /** False when it was already decided or had expired: a second tap changes nothing. */
  changed: boolean;
  /** This answer came too late and found the request expired: the cashier is told now. */
  expiredNow?: boolean;
  /** The purchase recorded on approval. */
  outcome: PurchaseOutcome | null;
  creditBalance: number;
}

/** The member's answer. Approving records the purchase with the credit, once (keyed by the request's operation). */
export async function decideCreditRequest(db: Db, requestId: number, memberId: number, approve: boolean, env: LoyaltyEnv): Promise<CreditDecision> {
  return db.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('credit_requests').selectAll().where('id', '=', requestId).where('member_id', '=', memberId).forUpdate().executeTakeFirst();
    if (!found) throw new ClubError('errors.redemption_not_found');
    const balance = async () => (await trx.selectFrom('members').select('credit_balance').where('id', '=', memberId).executeTakeFirstOrThrow()).credit_balance;
    const finish = async (status: CreditRequest['status'], extra: Partial<Pick<CreditRequest, 'error' | 'purchase_id'>> = {}, outcome: PurchaseOutcome | null = null) => {
      const request = await trx.updateTable('credit_requests').set({ status, decided_at: env.now, ...extra }).where('id', '=', found.id).returningAll().executeTakeFirstOrThrow();
      await tellCashier(trx, request, outcome, outcome?.creditBalance ?? (await balance()), env.now);
      return request;
    };
    if (found.status !== 'pending') return { request: found, changed: false, outcome: null, creditBalance: await balance() };
    if (found.expires_at <= env.now) return { request: await finish('expired'), changed: false, expiredNow: true, outcome: null, creditBalance: await balance() };
    if (!approve) return { request: await finish('declined'), changed: true, outcome: null, creditBalance: await balance() };
    // The cashier who asked must still be staff when the money moves.
    if ((await roleOf(trx, found.cashier_member_id)) === null) {
      return { request: await finish('failed', { error: 'errors.not_staff' }), changed: true, outcome: null, creditBalance: await balance() };
    }
    const input: PurchaseInput = {
      memberId,
      branchId: found.branch_id,
      cashierMemberId: found.cashier_member_id,
      amountRials: found.amount_rials,
      receiptNo: found.receipt_no,
      creditToUse: found.credit_rials,
      applyWelcome: found.apply_welcome,
      voucherCodeId: found.voucher_code_id,
      operationId: found.operation_id,
    };
    try {
      const outcome = await recordPurchase(trx, input, env);
      return { request: await finish('approved', { purchase_id: outcome.purchase.id }, outcome), changed: true, outcome, creditBalance: outcome.creditBalance };
    } catch (error) {
      // The credit or the voucher is gone meanwhile: nothing was recorded; both sides are told why.
      if (!(error instanceof ClubError)) throw error;
      return { request: await finish('failed', { error: error.i18nKey }), changed: true, outcome: null, creditBalance: await balance() };
    }
  });
}

/** Pending requests past their time become expired (the bot's minute job calls this); each cashier is told. */
export async function expireCreditRequests(db: Db, now: Date): Promise<CreditRequest[]> {
  return db.transaction().execute(async (trx) => {
    const expired = await trx.updateTable('credit_requests').set({ status: 'expired', decided_at: now }).where('status', '=', 'pending').where('expires_at', '<=', now).returningAll().execute();
    for (const r of expired) await tellCashier(trx, r, null, 0, now);
    return expired;
  });
}
