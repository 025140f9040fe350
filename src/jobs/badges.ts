import type { ClubDeps } from '../deps.ts';
import { sweepBadges } from '../club/badges.ts';

/**
 * Every minute: badges and streak bonuses newly earned are paid; each award's notice is queued in
 * the outbox with the payment (see awardMember) and sent in the member's language.
 */
export async function announceBadges(deps: ClubDeps): Promise<number> {
  const env = {
    now: deps.now(),
    timeZone: deps.config.timeZone,
    defaults: { tierWindowDays: deps.config.tierWindowDays, validity: { mode: 'days' as const, days: deps.config.pointsValidityDays } },
  };
  const awards = await sweepBadges(deps.db, env);
  if (awards.length > 0) deps.notices.kick();
  return awards.length;
}
