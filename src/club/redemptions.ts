import type { Db } from '../db/database.ts';
import type { Redemption } from '../db/schema.ts';
import { ClubError, InsufficientBalance } from './errors.ts';
import { debit } from './ledger.ts';
import { queueNotice } from './notifications.ts';

/** A cashier asks to spend a member's points; nothing moves until the member approves in their chat. */
export async function requestRedemption(
  db: Db,
  input: { memberId: number; branchId: number; cashierMemberId: number; points: number },
  now: Date,
  minutes: number,
): Promise<Redemption> {
  if (!Number.isSafeInteger(input.points) || input.points <= 0) throw new ClubError('errors.points_invalid');
  if (input.memberId === input.cashierMemberId) throw new ClubError('errors.own_purchase');
  const member = await db.selectFrom('members').select('points_balance').where('id', '=', input.memberId).executeTakeFirstOrThrow();
  if (member.points_balance < input.points) throw new InsufficientBalance('points', member.points_balance);
  return db.transaction().execute(async (trx) => {
    const redemption = await trx
      .insertInto('redemptions')
      .values({
        member_id: input.memberId,
        branch_id: input.branchId,
        cashier_member_id: input.cashierMemberId,
        points: input.points,
        expires_at: new Date(now.getTime() + minutes * 60_000),
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    // The member's approval request, with the two buttons that answer it.
    const branch = await trx.selectFrom('branches').select('name').where('id', '=', input.branchId).executeTakeFirstOrThrow();
    const notice = {
      kind: 'redemption_request',
      lines: [{ key: 'redeem.ask_member', params: { points: input.points, branch: branch.name, minutes } }],
      buttons: [[{ label: { key: 'redeem.approve' }, data: `rd:a:${redemption.id}` }, { label: { key: 'redeem.decline' }, data: `rd:d:${redemption.id}` }]],
    };
    await queueNotice(trx, input.memberId, notice, `redemption:${redemption.id}:ask`, now);
    return redemption;
  });
}

export interface Decision {
  redemption: Redemption;
  /** False when it was already decided or had expired: a second tap changes nothing. */
  changed: boolean;
  pointsBalance: number;
}

/** The member's answer. Approving spends the points once (keyed by the redemption). */
export async function decideRedemption(db: Db, redemptionId: number, memberId: number, approve: boolean, now: Date): Promise<Decision> {
  return db.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('redemptions').selectAll().where('id', '=', redemptionId).where('member_id', '=', memberId).forUpdate().executeTakeFirst();
    if (!found) throw new ClubError('errors.redemption_not_found');
    const balance = async () => (await trx.selectFrom('members').select('points_balance').where('id', '=', memberId).executeTakeFirstOrThrow()).points_balance;
    if (found.status !== 'pending') return { redemption: found, changed: false, pointsBalance: await balance() };
    if (found.expires_at <= now) {
      const expired = await trx.updateTable('redemptions').set({ status: 'expired', decided_at: now }).where('id', '=', found.id).returningAll().executeTakeFirstOrThrow();
      return { redemption: expired, changed: false, pointsBalance: await balance() };
    }
    if (approve) {
      await debit(trx, {
        memberId,
        currency: 'points',
        amount: found.points,
        kind: 'spend',
        reason: 'redemption',
        idempotencyKey: `redemption:${found.id}`,
        branchId: found.branch_id,
        actorMemberId: found.cashier_member_id,
        at: now,
      });
    }
    const decided = await trx
      .updateTable('redemptions')
      .set({ status: approve ? 'approved' : 'declined', decided_at: now })
      .where('id', '=', found.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    // The cashier waiting at the till hears the answer.
    const member = await trx.selectFrom('members').select('first_name').where('id', '=', memberId).executeTakeFirstOrThrow();
    const notice = { kind: 'redemption_decided', lines: [{ key: approve ? 'redeem.approved_cashier' : 'redeem.declined_cashier', params: { points: found.points, name: member.first_name } }] };
    await queueNotice(trx, found.cashier_member_id, notice, `redemption:${found.id}:decided`, now);
    return { redemption: decided, changed: true, pointsBalance: await balance() };
  });
}

/** Pending requests past their time become expired (the nightly job and the bot both call this). */
export async function expireRedemptions(db: Db, now: Date): Promise<Redemption[]> {
  return db.transaction().execute(async (trx) => {
    const expired = await trx.updateTable('redemptions').set({ status: 'expired', decided_at: now }).where('status', '=', 'pending').where('expires_at', '<=', now).returningAll().execute();
    for (const r of expired) {
      await queueNotice(trx, r.cashier_member_id, { kind: 'redemption_expired', lines: [{ key: 'redeem.expired_cashier', params: { points: r.points } }] }, `redemption:${r.id}:decided`, now);
    }
    return expired;
  });
}
