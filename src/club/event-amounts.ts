import type { Db } from '../db/database.ts';
import { updateAutomation } from './automations.ts';
import { ClubError } from './errors.ts';
import { referralSettings, saveReferralSettings } from './referrals.ts';
import { loyaltySettings, saveLoyaltySettings } from './rules.ts';

/**
 * The points the club gives for things members do, each kept where the code that pays it reads it
 * (one place per amount, so the owner's screen never edits a number nothing reads):
 * - survey: the reward a new survey starts with (the survey builder offers it; each survey keeps its own),
 * - profile: completing the profile (applyEventRule),
 * - referral_inviter / referral_friend: the referral settings the referral code pays from,
 * - birthday: the gift of the built-in birthday automation.
 */
export const EVENT_AMOUNTS = ['survey', 'profile', 'referral_inviter', 'referral_friend', 'birthday'] as const;
export type EventAmount = (typeof EVENT_AMOUNTS)[number];
export const MAX_EVENT_POINTS = 1_000_000;

export async function eventAmounts(db: Db): Promise<Record<EventAmount, number>> {
  const loyalty = await loyaltySettings(db);
  const referrals = await referralSettings(db);
  const birthday = await db.selectFrom('automations').select('gift_points').where('kind', '=', 'birthday').orderBy('id').executeTakeFirst();
  return {
    survey: loyalty.events.survey_answered,
    profile: loyalty.events.profile_completion,
    referral_inviter: referrals.inviterPoints,
    referral_friend: referrals.friendPoints,
    birthday: birthday?.gift_points ?? 0,
  };
}

export async function setEventAmount(db: Db, actorMemberId: number, event: EventAmount, points: number, now: Date) {
  if (!Number.isSafeInteger(points) || points < 0 || points > MAX_EVENT_POINTS) throw new ClubError('panel.error_event_points');
  switch (event) {
    case 'survey':
    case 'profile': {
      const { events } = await loyaltySettings(db);
      const key = event === 'survey' ? 'survey_answered' : 'profile_completion';
      await saveLoyaltySettings(db, { events: { ...events, [key]: points } }, actorMemberId, now);
      return;
    }
    case 'referral_inviter':
      await saveReferralSettings(db, { inviterPoints: points }, actorMemberId, now);
      return;
    case 'referral_friend':
      await saveReferralSettings(db, { friendPoints: points }, actorMemberId, now);
      return;
    case 'birthday': {
      const birthday = await db.selectFrom('automations').select('id').where('kind', '=', 'birthday').orderBy('id').executeTakeFirst();
      if (!birthday) throw new ClubError('errors.automation_not_found');
      await updateAutomation(db, actorMemberId, birthday.id, { gift_points: points }, now);
      return;
    }
  }
}
