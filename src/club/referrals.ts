import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { Member, Platform, Referral } from '../db/schema.ts';
import { todayIso } from '../lib/jalali.ts';
import { zonedMidnight } from '../lib/zoned.ts';
import { ClubError } from './errors.ts';
import { credit, debit, type Trx } from './ledger.ts';
import { queueNotice } from './notifications.ts';
import type { LoyaltyEnv } from './rules.ts';
import { loyaltySettings, lotExpiry } from './rules.ts';
import { promoteIfQualified } from './tiers.ts';
import { settingsStore } from './settings.ts';
import { audit } from './audit.ts';

export const REFERRAL_PREFIX = 'r_';

/** Owner/manager choices for referrals; stored in club_settings('referrals'). */
export const referralSettingsSchema = z.object({
  friendReward: z.enum(['voucher', 'points']).default('voucher'),
  friendDiscountPercent: z.number().int().min(1).max(100).default(10),
  friendVoucherDays: z.number().int().min(1).max(365).default(30),
  friendPoints: z.number().int().min(0).default(100),
  inviterPoints: z.number().int().min(0).default(200),
  inviterMinPurchase: z.number().int().min(0).default(500_000),
  /** Reward the inviter at the friend's first qualifying purchase (default) or at signup. */
  inviterWhen: z.enum(['first_purchase', 'signup']).default('first_purchase'),
  dailyCap: z.number().int().min(0).default(5),
  monthlyCap: z.number().int().min(0).default(30),
});
export type ReferralSettings = z.infer<typeof referralSettingsSchema>;

const referralStore = settingsStore('referrals', referralSettingsSchema);
export const referralSettings = (db: Db | Trx) => referralStore.read(db);
export const saveReferralSettings = referralStore.save;

export type RefusalReason = 'self' | 'already_member' | 'other_platform' | 'unknown_code';

export interface ReferralAttempt {
  code: string;
  platform: Platform;
  userId: number;
}

async function findInviter(db: Db | Trx, code: string) {
  return db.selectFrom('members').selectAll().where('referral_code', '=', code.toUpperCase()).executeTakeFirst();
}

/**
 * A link was opened by someone who cannot be referred: recorded with the reason managers see.
 * `refereeId` is the member they already are, if any.
 */
export async function refuseReferral(db: Db, attempt: ReferralAttempt, reason: RefusalReason, refereeId: number | null, now: Date): Promise<Referral | null> {
  const inviter = await findInviter(db, attempt.code);
  if (!inviter) return null;
  const finalReason: RefusalReason = refereeId === inviter.id ? 'self' : reason;
  return db
    .insertInto('referrals')
    .values({ inviter_id: inviter.id, referee_id: refereeId, platform: attempt.platform, user_id: attempt.userId, status: 'refused', reason: finalReason, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface ReferralOutcome {
  referral: Referral;
  inviter: Member;
  friendVoucher: { percent: number; expiresAt: Date } | null;
  friendPoints: number;
  /** Points the inviter received now (only when the owner rewards at signup). */
  inviterPoints: number;
}

/**
 * A new member joined through an invitation link: record the referral (or the refusal), give the
 * friend their welcome reward, and, if the owner chose so, reward the inviter now. Beyond the
 * inviter's daily or monthly cap the referral waits for a manager ("pending_review").
 */
export async function recordReferral(db: Db, attempt: ReferralAttempt, referee: Member, env: LoyaltyEnv): Promise<ReferralOutcome | null> {
  const inviter = await findInviter(db, attempt.code);
  if (!inviter) return null;
  const settings = await referralSettings(db);
  return db.transaction().execute(async (trx) => {
    const inviterAccounts = await trx.selectFrom('member_accounts').select(['platform', 'user_id']).where('member_id', '=', inviter.id).execute();
    const selfReferral =
      inviter.id === referee.id || inviter.phone === referee.phone || inviterAccounts.some((a) => a.platform === attempt.platform && a.user_id === attempt.userId);
    if (selfReferral) {
      const referral = await trx
        .insertInto('referrals')
        .values({ inviter_id: inviter.id, referee_id: referee.id, platform: attempt.platform, user_id: attempt.userId, status: 'refused', reason: 'self', created_at: env.now })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { referral, inviter, friendVoucher: null, friendPoints: 0, inviterPoints: 0 };
    }
    // Serialise an inviter's referrals so the caps count exactly.
    await trx.selectFrom('members').select('id').where('id', '=', inviter.id).forUpdate().execute();
    const dayStart = zonedMidnight(todayIso(env.now, env.timeZone), env.timeZone);
    const monthStart = new Date(env.now.getTime() - 30 * 86_400_000);
    const counts = await trx
      .selectFrom('referrals')
      .select([
        sql<number>`count(*) filter (where created_at >= ${dayStart})`.as('today'),
        sql<number>`count(*) filter (where created_at >= ${monthStart})`.as('month'),
      ])
      .where('inviter_id', '=', inviter.id)
      .where('status', 'in', ['pending', 'rewarded', 'reversed'])
      .executeTakeFirstOrThrow();
    const overCap = counts.today >= settings.dailyCap || counts.month >= settings.monthlyCap;
    const referral = await trx
      .insertInto('referrals')
      .values({
        inviter_id: inviter.id,
        referee_id: referee.id,
        platform: attempt.platform,
        user_id: attempt.userId,
        status: overCap ? 'pending_review' : 'pending',
        reason: overCap ? 'cap' : null,
        created_at: env.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx.updateTable('members').set({ referred_by: inviter.id }).where('id', '=', referee.id).execute();

    let friendVoucher: ReferralOutcome['friendVoucher'] = null;
    let friendPoints = 0;
    if (settings.friendReward === 'voucher') {
      const expiresAt = new Date(env.now.getTime() + settings.friendVoucherDays * 86_400_000);
      await trx
        .insertInto('member_vouchers')
        .values({ member_id: referee.id, kind: 'welcome', percent: settings.friendDiscountPercent, expires_at: expiresAt, created_at: env.now })
        .onConflict((oc) => oc.constraint('member_vouchers_member_kind_key').doNothing())
        .execute();
      friendVoucher = { percent: settings.friendDiscountPercent, expiresAt };
    } else if (settings.friendPoints > 0) {
      const loyalty = await loyaltySettings(trx, env.defaults);
      const { duplicate } = await credit(trx, {
        memberId: referee.id,
        currency: 'points',
        amount: settings.friendPoints,
        kind: 'earn',
        reason: 'referral_welcome',
        idempotencyKey: `referral-friend:${referral.id}`,
        expiresAt: lotExpiry(env.now, loyalty.validity, env.timeZone),
        at: env.now,
      });
      if (!duplicate) friendPoints = settings.friendPoints;
    }
    let inviterPoints = 0;
    let final = referral;
    if (!overCap && settings.inviterWhen === 'signup') {
      const rewarded = await rewardInviter(trx, referral, null, settings, env);
      inviterPoints = rewarded.points;
      final = rewarded.referral;
    }
    // The inviter hears their friend joined (and what it earned them, or that a manager will look).
    const key = overCap ? 'referral.inviter_review' : inviterPoints > 0 ? 'referral.inviter_joined_rewarded' : 'referral.inviter_joined';
    const notice = { kind: 'referral', lines: [{ key, params: { name: referee.first_name, points: inviterPoints } }] };
    await queueNotice(trx, inviter.id, notice, `referral:${referral.id}:joined`, env.now);
    return { referral: final, inviter, friendVoucher, friendPoints, inviterPoints };
  });
}

async function rewardInviter(trx: Trx, referral: Referral, purchaseId: number | null, settings: ReferralSettings, env: LoyaltyEnv) {
  let points = 0;
  if (settings.inviterPoints > 0) {
    const loyalty = await loyaltySettings(trx, env.defaults);
    const { duplicate } = await credit(trx, {
      memberId: referral.inviter_id,
      currency: 'points',
      amount: settings.inviterPoints,
      kind: 'earn',
      reason: 'referral',
      idempotencyKey: `referral:${referral.id}`,
      expiresAt: lotExpiry(env.now, loyalty.validity, env.timeZone),
      at: env.now,
      meta: { referee_id: referral.referee_id, purchase_id: purchaseId },
    });
    if (!duplicate) {
      points = settings.inviterPoints;
      await promoteIfQualified(trx, referral.inviter_id, env.now, loyalty.tierWindowDays);
    }
  }
  const updated = await trx
    .updateTable('referrals')
    .set({ status: 'rewarded', qualifying_purchase_id: purchaseId, inviter_points: points, decided_at: env.now })
    .where('id', '=', referral.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { referral: updated, points };
}

export interface Settlement {
  referral: Referral;
  inviterPoints: number;
}

/**
 * After a purchase: the inviter is rewarded if this is the friend's first qualifying purchase.
 * (The friend's welcome voucher is used up only when the cashier applies it: club_record_purchase.) Idempotent, so the nightly job can run it again for
 * any purchase a crash left unsettled.
 */
export async function settleReferralPurchase(db: Db, refereeId: number, purchaseId: number, env: LoyaltyEnv): Promise<Settlement | null> {
  const settings = await referralSettings(db);
  return db.transaction().execute(async (trx) => {
    const purchase = await trx.selectFrom('purchases').selectAll().where('id', '=', purchaseId).executeTakeFirst();
    if (!purchase || purchase.status !== 'recorded' || purchase.member_id !== refereeId) return null;
    const referral = await trx.selectFrom('referrals').selectAll().where('referee_id', '=', refereeId).where('status', '=', 'pending').forUpdate().executeTakeFirst();
    if (!referral || settings.inviterWhen !== 'first_purchase' || purchase.amount_rials < settings.inviterMinPurchase) return null;
    const rewarded = await rewardInviter(trx, referral, purchaseId, settings, env);
    if (rewarded.points > 0) {
      const friend = await trx.selectFrom('members').select('first_name').where('id', '=', refereeId).executeTakeFirstOrThrow();
      const notice = { kind: 'referral_reward', lines: [{ key: 'referral.inviter_rewarded', params: { name: friend.first_name, points: rewarded.points } }] };
      await queueNotice(trx, referral.inviter_id, notice, `referral:${referral.id}:reward`, env.now);
    }
    return { referral: rewarded.referral, inviterPoints: rewarded.points };
  });
}

/**
 * The till settles a referral right after the purchase; this catches any a crash left behind:
 * pending referrals whose friend already has a qualifying purchase. Settling is idempotent.
 */
export async function settlePendingReferrals(db: Db, env: LoyaltyEnv): Promise<number> {
  const settings = await referralSettings(db);
  if (settings.inviterWhen !== 'first_purchase') return 0;
  const due = await db
    .selectFrom('referrals as r')
    .innerJoin('purchases as p', 'p.member_id', 'r.referee_id')
    .select(['r.referee_id', sql<number>`min(p.id)`.as('purchase_id')])
    .where('r.status', '=', 'pending')
    .where('p.status', '=', 'recorded')
    .where('p.amount_rials', '>=', settings.inviterMinPurchase)
    .groupBy('r.referee_id')
    .execute();
  let settled = 0;
  for (const row of due) if (await settleReferralPurchase(db, row.referee_id!, row.purchase_id, env)) settled++;
  return settled;
}

/** A voided purchase that earned an inviter their reward takes it back (as far as points remain). */
export async function reverseReferralForPurchase(trx: Trx, purchaseId: number, actorMemberId: number, now: Date): Promise<Referral | null> {
  const referral = await trx.selectFrom('referrals').selectAll().where('qualifying_purchase_id', '=', purchaseId).where('status', '=', 'rewarded').forUpdate().executeTakeFirst();
  if (!referral) return null;
  if (referral.inviter_points > 0) {
    await debit(trx, {
      memberId: referral.inviter_id,
      currency: 'points',
      amount: referral.inviter_points,
      kind: 'earn_reversal',
      reason: 'referral_reversed',
      idempotencyKey: `referral-reverse:${referral.id}`,
      actorMemberId,
      upTo: true,
      meta: { purchase_id: purchaseId },
      at: now,
    });
  }
  return trx.updateTable('referrals').set({ status: 'reversed', decided_at: now, decided_by: actorMemberId }).where('id', '=', referral.id).returningAll().executeTakeFirstOrThrow();
}

/** A manager decides a referral held back by the caps. Approving lets it earn as usual. */
export async function reviewReferral(db: Db, referralId: number, approve: boolean, actorMemberId: number, env: LoyaltyEnv) {
  const settings = await referralSettings(db);
  return db.transaction().execute(async (trx) => {
    const referral = await trx.selectFrom('referrals').selectAll().where('id', '=', referralId).forUpdate().executeTakeFirst();
    if (!referral) throw new ClubError('errors.referral_not_found');
    if (referral.status !== 'pending_review') return { referral, changed: false, inviterPoints: 0 };
    await audit(trx, { actor: actorMemberId, action: approve ? 'referral.approve' : 'referral.reject', payload: { referral_id: referralId }, at: env.now });
    if (!approve) {
      const rejected = await trx.updateTable('referrals').set({ status: 'rejected', decided_by: actorMemberId, decided_at: env.now }).where('id', '=', referralId).returningAll().executeTakeFirstOrThrow();
      return { referral: rejected, changed: true, inviterPoints: 0 };
    }
    const pending = await trx.updateTable('referrals').set({ status: 'pending', decided_by: actorMemberId, decided_at: env.now }).where('id', '=', referralId).returningAll().executeTakeFirstOrThrow();
    // Rewarded at signup, or the friend already made a qualifying purchase: pay now.
    const qualifying =
      settings.inviterWhen === 'signup'
        ? null
        : await trx
            .selectFrom('purchases')
            .select('id')
            .where('member_id', '=', referral.referee_id!)
            .where('status', '=', 'recorded')
            .where('amount_rials', '>=', settings.inviterMinPurchase)
            .orderBy('id')
            .executeTakeFirst();
    if (settings.inviterWhen === 'signup' || qualifying) {
      const rewarded = await rewardInviter(trx, pending, qualifying?.id ?? null, settings, env);
      if (rewarded.points > 0) {
        const notice = { kind: 'referral_reward', lines: [{ key: 'referral.inviter_approved', params: { points: rewarded.points } }] };
        await queueNotice(trx, referral.inviter_id, notice, `referral:${referral.id}:reward`, env.now);
      }
      return { referral: rewarded.referral, changed: true, inviterPoints: rewarded.points };
    }
    return { referral: pending, changed: true, inviterPoints: 0 };
  });
}

/** Referrals a manager should look at: held for review, and those refused in the last 30 days. */
export async function referralsForReview(db: Db, now: Date, limit = 30) {
  const since = new Date(now.getTime() - 30 * 86_400_000);
  return db
    .selectFrom('referrals as r')
    .innerJoin('members as i', 'i.id', 'r.inviter_id')
    .leftJoin('members as f', 'f.id', 'r.referee_id')
    .select(['r.id', 'r.status', 'r.reason', 'i.first_name as inviter', 'f.first_name as friend', 'r.created_at'])
    .where((eb) => eb.or([eb('r.status', '=', 'pending_review'), eb.and([eb('r.status', '=', 'refused'), eb('r.created_at', '>=', since)])]))
    .orderBy('r.created_at', 'desc')
    .limit(limit)
    .execute();
}

export interface InvitationStats {
  joined: number;
  purchased: number;
  pointsEarned: number;
  pending: number;
}

/** "My invitations": friends who joined, made a first purchase, what it earned, what still waits. */
export async function invitationStats(db: Db, inviterId: number): Promise<InvitationStats> {
  const row = await db
    .selectFrom('referrals')
    .select([
      sql<number>`count(*) filter (where status in ('pending', 'pending_review', 'rewarded', 'reversed'))`.as('joined'),
      sql<number>`count(*) filter (where status in ('rewarded', 'reversed') and qualifying_purchase_id is not null)`.as('purchased'),
      sql<number>`coalesce(sum(inviter_points) filter (where status = 'rewarded'), 0)::int8`.as('points'),
      sql<number>`count(*) filter (where status in ('pending', 'pending_review'))`.as('pending'),
    ])
    .where('inviter_id', '=', inviterId)
    .executeTakeFirstOrThrow();
  return { joined: row.joined, purchased: row.purchased, pointsEarned: row.points, pending: row.pending };
}

export async function activeWelcomeVoucher(db: Db, memberId: number, now: Date) {
  return db
    .selectFrom('member_vouchers')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('kind', '=', 'welcome')
    .where('used_purchase_id', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}
