import type { Db } from '../db/database.ts';
import type { Reward } from '../db/schema.ts';
import { randomCode } from '../lib/codes.ts';
import { ClubError, isUniqueViolation } from './errors.ts';
import { debit } from './ledger.ts';
import { audit } from './audit.ts';
import { refuseOtherBranch } from './offer-branch.ts';

const claimCode = () => randomCode(6);

/** Rewards a member can ask for now: active, in their dates, in stock. */
export async function availableRewards(db: Db, now: Date): Promise<Reward[]> {
  return db
    .selectFrom('rewards')
    .selectAll()
    .where('active', '=', true)
    .where((eb) => eb.or([eb('active_from', 'is', null), eb('active_from', '<=', now)]))
    .where((eb) => eb.or([eb('active_to', 'is', null), eb('active_to', '>', now)]))
    .where((eb) => eb.or([eb('stock', 'is', null), eb('stock', '>', 0)]))
    .orderBy('points_cost')
    .execute();
}

export async function createReward(db: Db, actorMemberId: number, input: { titleFa: string; titleEn: string; pointsCost: number; stock: number | null; branchId?: number | null }, now: Date) {
  if (!input.titleFa.trim() || !input.titleEn.trim()) throw new ClubError('errors.reward_title_required');
  if (!Number.isSafeInteger(input.pointsCost) || input.pointsCost <= 0) throw new ClubError('errors.points_invalid');
  const reward = await db
    .insertInto('rewards')
    .values({ title_fa: input.titleFa.trim(), title_en: input.titleEn.trim(), points_cost: input.pointsCost, stock: input.stock, branch_id: input.branchId ?? null, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(db, { actor: actorMemberId, action: 'reward.create', payload: { reward_id: reward.id }, at: now });
  return reward;
}

/**
 * The member asks for a reward from their own chat (that is their consent): the points leave at
 * once and the member gets a code for the cashier. Stock is taken under the reward's row lock.
 */
export async function claimReward(db: Db, memberId: number, rewardId: number, operationId: string, now: Date) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        const previous = await trx.selectFrom('reward_claims').selectAll().where('operation_id', '=', operationId).executeTakeFirst();
        if (previous) {
          const reward = await trx.selectFrom('rewards').selectAll().where('id', '=', previous.reward_id).executeTakeFirstOrThrow();
          return { claim: previous, reward, duplicate: true };
        }
        const reward = await trx.selectFrom('rewards').selectAll().where('id', '=', rewardId).forUpdate().executeTakeFirst();
        const available =
          reward &&
          reward.active &&
          (reward.active_from === null || reward.active_from <= now) &&
          (reward.active_to === null || reward.active_to > now) &&
          (reward.stock === null || reward.stock > 0);
        if (!available) throw new ClubError('errors.reward_unavailable');
        await debit(trx, {
          memberId,
          currency: 'points',
          amount: reward.points_cost,
          kind: 'spend',
          reason: 'reward',
          idempotencyKey: `reward:${operationId}`,
          meta: { reward_id: reward.id },
          at: now,
        });
        if (reward.stock !== null) await trx.updateTable('rewards').set({ stock: reward.stock - 1 }).where('id', '=', reward.id).execute();
        const claim = await trx
          .insertInto('reward_claims')
          .values({ reward_id: reward.id, member_id: memberId, code: claimCode(), operation_id: operationId, points: reward.points_cost, created_at: now })
          .returningAll()
          .executeTakeFirstOrThrow();
        return { claim, reward, duplicate: false };
      });
    } catch (error) {
      if (attempt < 3 && isUniqueViolation(error, 'reward_claims_code_key')) continue;
      throw error;
    }
  }
}

/** The cashier confirms a code at the till: once, and only an issued one. */
export async function confirmRewardCode(db: Db, code: string, staffMemberId: number, branchId: number | null, now: Date) {
  const normalized = code.trim().toUpperCase();
  return db.transaction().execute(async (trx) => {
    const claim = await trx.selectFrom('reward_claims').selectAll().where('code', '=', normalized).forUpdate().executeTakeFirst();
    if (!claim) throw new ClubError('errors.reward_code_unknown');
    if (claim.status === 'confirmed') throw new ClubError('errors.reward_code_used');
    if (claim.status === 'cancelled') throw new ClubError('errors.reward_code_cancelled');
    // Staff hand rewards to others: their own is handed over by a colleague.
    if (claim.member_id === staffMemberId) throw new ClubError('errors.own_purchase');
    const reward = await trx.selectFrom('rewards').selectAll().where('id', '=', claim.reward_id).executeTakeFirstOrThrow();
    // A reward limited to one branch is handed over only there; the code stays valid for that branch.
    await refuseOtherBranch(trx, reward.branch_id, branchId, 'branch_offers.reward_refused');
    const confirmed = await trx
      .updateTable('reward_claims')
      .set({ status: 'confirmed', confirmed_at: now, confirmed_by: staffMemberId, branch_id: branchId })
      .where('id', '=', claim.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, { actor: staffMemberId, action: 'reward.confirm', payload: { claim_id: claim.id, code: normalized }, at: now });
    return { claim: confirmed, reward };
  });
}

/** Every reward, retired ones too, for the owner's list. */
export async function findReward(db: Db, id: number): Promise<Reward | undefined> {
  return db.selectFrom('rewards').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listAllRewards(db: Db): Promise<Reward[]> {
  return db.selectFrom('rewards').selectAll().orderBy('active', 'desc').orderBy('points_cost').orderBy('id').execute();
}

export type RewardPatch = Partial<Pick<Reward, 'title_fa' | 'title_en' | 'points_cost' | 'stock' | 'active_from' | 'active_to' | 'active' | 'branch_id'>>;

/** Edits a reward (retiring is `active: false`); codes already issued stay valid. */
export async function updateReward(db: Db, actorMemberId: number, id: number, patch: RewardPatch, now: Date): Promise<Reward> {
  if (patch.title_fa !== undefined && (!patch.title_fa.trim() || patch.title_fa.length > 100)) throw new ClubError('errors.reward_title_required');
  if (patch.title_en !== undefined && (!patch.title_en.trim() || patch.title_en.length > 100)) throw new ClubError('errors.reward_title_required');
  if (patch.points_cost !== undefined && (!Number.isSafeInteger(patch.points_cost) || patch.points_cost <= 0)) throw new ClubError('errors.points_invalid');
  if (patch.stock !== undefined && patch.stock !== null && (!Number.isSafeInteger(patch.stock) || patch.stock < 0)) throw new ClubError('errors.points_invalid');
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('rewards').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!current) throw new ClubError('errors.reward_unavailable');
    const from = patch.active_from !== undefined ? patch.active_from : current.active_from;
    const to = patch.active_to !== undefined ? patch.active_to : current.active_to;
    if (from && to && to <= from) throw new ClubError('panel.error_dates_order');
    const reward = await trx.updateTable('rewards').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    await audit(trx, { actor: actorMemberId, action: 'reward.update', payload: { reward_id: id, ...patch }, at: now });
    return reward;
  });
}
