import type { Db } from '../db/database.ts';
import type { ReferralAttempt } from './referrals.ts';

/**
 * Someone who is not a member (on this messenger) opened an invitation link: the referral funnel's
 * "opened". Once per person and inviter, at the first opening; an unknown code records nothing.
 * Whether they then join is recorded by recordReferral / refuseReferral.
 */
export async function noteInvitationOpened(db: Db, attempt: ReferralAttempt, now: Date): Promise<boolean> {
  const inviter = await db.selectFrom('members').select('id').where('referral_code', '=', attempt.code.toUpperCase()).executeTakeFirst();
  if (!inviter) return false;
  const row = await db
    .insertInto('invitation_opens')
    .values({ inviter_id: inviter.id, platform: attempt.platform, user_id: attempt.userId, opened_at: now })
    .onConflict((oc) => oc.constraint('invitation_opens_person_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  return Boolean(row);
}
