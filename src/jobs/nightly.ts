import type { ClubDeps } from '../deps.ts';
import { refreshMemberActivity } from '../club/analytics/activity.ts';
import { catchUpCampaignAttribution } from '../club/analytics/campaign-attribution.ts';
import { expireLots } from '../club/ledger.ts';
import { expireRedemptions } from '../club/redemptions.ts';
import { loyaltySettings } from '../club/rules.ts';
import { reviewTiers } from '../club/tiers.ts';
import { settlePendingReferrals } from '../club/referrals.ts';
import { pruneHandledUpdates } from '../club/updates.ts';
import type { Db } from '../db/database.ts';
import { todayIso } from '../lib/jalali.ts';
import { queueExpiryWarnings } from '../club/reminders.ts';

export const EXPIRY_WARNING_DAYS = 7;
export const TIER_WARNING_DAYS = 14;
const STALE_RUN_MS = 30 * 60_000;

/**
 * Claims a named run (e.g. the night of 2026-11-22) for this process. A run already done is not
 * repeated; a run that started and died more than half an hour ago is taken over and resumed:
 * every step below is idempotent, so resuming never pays or takes twice.
 */
export async function claimRun(db: Db, name: string, runKey: string, now: Date): Promise<boolean> {
  const inserted = await db
    .insertInto('job_runs')
    .values({ name, run_key: runKey, status: 'running', started_at: now })
    .onConflict((oc) => oc.doNothing())
    .returning('name')
    .executeTakeFirst();
  if (inserted) return true;
  const takenOver = await db
    .updateTable('job_runs')
    .set({ started_at: now })
    .where('name', '=', name)
    .where('run_key', '=', runKey)
    .where('status', '=', 'running')
    .where('started_at', '<', new Date(now.getTime() - STALE_RUN_MS))
    .returning('name')
    .executeTakeFirst();
  return Boolean(takenOver);
}

export async function finishRun(db: Db, name: string, runKey: string, now: Date) {
  await db.updateTable('job_runs').set({ status: 'done', finished_at: now }).where('name', '=', name).where('run_key', '=', runKey).execute();
}

export interface NightlyReport {
  ran: boolean;
  expiredPoints: number;
  expiryWarnings: number;
  demoted: number;
  tierWarnings: number;
}

/** Expire lots, warn about points expiring within a week, review tiers. */
export async function runNightly(deps: ClubDeps, now = deps.now()): Promise<NightlyReport> {
  const { db, config } = deps;
  const runKey = todayIso(now, config.timeZone);
  const report: NightlyReport = { ran: false, expiredPoints: 0, expiryWarnings: 0, demoted: 0, tierWarnings: 0 };
  if (!(await claimRun(db, 'nightly', runKey, now))) return report;
  report.ran = true;
  const settings = await loyaltySettings(db, { tierWindowDays: config.tierWindowDays, validity: { mode: 'days', days: config.pointsValidityDays } });

  await expireRedemptions(db, now);
  report.expiredPoints = (await expireLots(db, now)).points;
  report.expiryWarnings = await warnExpiringPoints(deps, now);

  await settlePendingReferrals(deps.db, { now, timeZone: deps.config.timeZone });
  const review = await reviewTiers(db, now, settings.tierWindowDays, TIER_WARNING_DAYS);
  report.demoted = review.demoted.length;
  report.tierWarnings = review.warned.length;
  // Their notices were queued with each change.
  if (review.demoted.length + review.warned.length > 0) deps.notices.kick();
  await pruneHandledUpdates(db, now);
  // The month that ended is added to the reports' activity rollup, months voided in are rebuilt.
  await refreshMemberActivity(db, now, config.timeZone);
  // The day's purchases get their campaign for the conversions report (read live after the watermark).
  await catchUpCampaignAttribution(db, now);
  await finishRun(db, 'nightly', runKey, now);
  deps.logger.info({ runKey, ...report }, 'nightly run done');
  return report;
}

/** Points expiring within a week: one reminder per member, queued in the outbox (see queueExpiryWarnings). */
export async function warnExpiringPoints(deps: ClubDeps, now: Date): Promise<number> {
  const warned = await queueExpiryWarnings(deps.db, now, EXPIRY_WARNING_DAYS);
  if (warned > 0) deps.notices.kick();
  return warned;
}
