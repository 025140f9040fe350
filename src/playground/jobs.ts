import type { ClubDeps } from '../bot/context.ts';
import { runAutomations } from '../club/automations.ts';
import { announceBadges } from '../jobs/badges.ts';
import { sendDueSatisfactionChecks } from '../jobs/feedback.ts';
import { drawDueLotteries } from '../jobs/lotteries.ts';
import { runNightly } from '../jobs/nightly.ts';

/**
 * What the scheduler would have run by now, run at once after a fast-forward: the night's work
 * (expiry, reminders, tiers, referrals), the day's automations (birthdays, win-back, occasions),
 * due lottery draws, badges and visit questions (the scheduler's minute tick, on the same clock,
 * expires till requests and tells the cashier). Each is idempotent per
 * night or per occasion, so running it again is harmless.
 */
export async function runDueJobs(deps: ClubDeps) {
  const now = deps.now();
  const nightly = await runNightly(deps, now);
  const automations = await runAutomations(deps.db, now, deps.config.timeZone);
  await sendDueSatisfactionChecks(deps, now);
  await drawDueLotteries(deps);
  await announceBadges(deps);
  deps.surveyDispatcher.kick();
  await deps.broadcaster.resumeAll();
  return { nightly, automations: automations.filter((a) => a.recipients > 0).length };
}
