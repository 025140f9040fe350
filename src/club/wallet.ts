import type { Db } from '../db/database.ts';
import { LIMITS } from './limits.ts';
import { ClubError } from './errors.ts';
import { credit, debit } from './ledger.ts';
import type { LoyaltyEnv } from './rules.ts';
import { loyaltySettings } from './rules.ts';
import { audit } from './audit.ts';
import { queueNotice } from './notifications.ts';

export interface ConversionOutcome {
  points: number;
  rials: number;
  pointsBalance: number;
  creditBalance: number;
  duplicate: boolean;
}

/** Points become Rial credit at the configured rate; both legs in one transaction, keyed by the operation. */
export async function convertPointsToCredit(db: Db, memberId: number, points: number, operationId: string, env: LoyaltyEnv): Promise<ConversionOutcome> {
  if (!Number.isSafeInteger(points) || points <= 0) throw new ClubError('errors.points_invalid');
  return db.transaction().execute(async (trx) => {
    const settings = await loyaltySettings(trx, env.defaults);
    const rials = points * settings.rialsPerPointCredit;
    const taken = await debit(trx, {
      memberId,
      currency: 'points',
      amount: points,
      kind: 'convert',
      reason: 'points_to_credit',
      idempotencyKey: `convert:${operationId}:points`,
      meta: { rate: settings.rialsPerPointCredit },
      at: env.now,
    });
    await credit(trx, {
      memberId,
      currency: 'credit',
      amount: rials,
      kind: 'convert',
      reason: 'points_to_credit',
      idempotencyKey: `convert:${operationId}:credit`,
      expiresAt: null,
      meta: { points },
      at: env.now,
    });
    const after = await trx.selectFrom('members').select(['points_balance', 'credit_balance']).where('id', '=', memberId).executeTakeFirstOrThrow();
    return { points, rials, pointsBalance: after.points_balance, creditBalance: after.credit_balance, duplicate: taken.duplicate };
  });
}

/** A manager's correction, always with a reason. Positive adds a lot; negative never overdraws. */
export async function adjustPoints(db: Db, memberId: number, delta: number, reason: string, actorMemberId: number, operationId: string, env: LoyaltyEnv & { validityDays?: number }) {
  const text = reason.trim();
  if (!text) throw new ClubError('errors.reason_required');
  if (text.length > 500) throw new ClubError('errors.text_too_long', { max: 500 });
  if (!Number.isSafeInteger(delta) || delta === 0) throw new ClubError('errors.points_invalid');
  if (Math.abs(delta) > LIMITS.adjustPoints) throw new ClubError('errors.adjust_too_large', { max: LIMITS.adjustPoints });
  return db.transaction().execute(async (trx) => {
    const settings = await loyaltySettings(trx, env.defaults);
    const common = { memberId, currency: 'points' as const, kind: 'adjust', reason: 'manual_adjustment', idempotencyKey: `adjust:${operationId}`, actorMemberId, meta: { reason: text }, at: env.now };
    if (delta > 0) {
      await credit(trx, { ...common, amount: delta, expiresAt: new Date(env.now.getTime() + settings.validity.days * 86_400_000) });
    } else {
      await debit(trx, { ...common, amount: -delta });
    }
    await audit(trx, { actor: actorMemberId, action: 'points.adjust', payload: { member_id: memberId, delta, reason: text }, at: env.now });
    const balances = await trx.selectFrom('members').select(['points_balance', 'credit_balance']).where('id', '=', memberId).executeTakeFirstOrThrow();
    const notice = { kind: 'adjustment', lines: [{ key: 'admin.adjust_member', params: { delta: { signed: delta }, reason: text, balance: balances.points_balance } }] };
    await queueNotice(trx, memberId, notice, `adjust:${operationId}`, env.now);
    return balances;
  });
}
