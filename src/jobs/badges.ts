import type { ClubDeps } from '../bot/context.ts';
import { sweepBadges } from '../club/badges.ts';
import { formatNumber } from '../lib/format.ts';

/** Every minute: badges and streak bonuses newly earned are paid and announced to the member. */
export async function announceBadges(deps: ClubDeps): Promise<number> {
  const env = {
    now: deps.now(),
    timeZone: deps.config.timeZone,
    defaults: { tierWindowDays: deps.config.tierWindowDays, validity: { mode: 'days' as const, days: deps.config.pointsValidityDays } },
  };
  const awards = await sweepBadges(deps.db, env);
  for (const award of awards) {
    await deps.notifier.notify(award.memberId, ({ t, locale }) => {
      const points = formatNumber(award.points, locale);
      if (award.kind === 'streak') return { html: t('badges.streak', { weeks: formatNumber(award.weeks, locale), points }) };
      const name = t(`badges.name_${award.code}`);
      return { html: award.points > 0 ? t('badges.earned_points', { name, points }) : t('badges.earned', { name }) };
    });
  }
  return awards.length;
}
