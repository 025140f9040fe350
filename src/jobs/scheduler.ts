import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron';
import type { ClubDeps } from '../deps.ts';
import type { Db } from '../db/database.ts';
import { refreshMemberActivity } from '../club/analytics/activity.ts';
import { catchUpCampaignAttribution } from '../club/analytics/campaign-attribution.ts';
import { expireCreditRequests } from '../club/credit-requests.ts';
import { expireRedemptions } from '../club/redemptions.ts';
import { runNightly } from './nightly.ts';
import { runAutomations } from '../club/automations.ts';
import { sendDueSatisfactionChecks } from './feedback.ts';
import { drawDueLotteries } from './lotteries.ts';
import { announceBadges } from './badges.ts';

/** node-cron's run coordinator over Postgres: with several processes, one of them runs each tick. */
export function postgresRunCoordinator(db: Db, now: () => Date): RunCoordinator {
  return {
    async shouldRun(key) {
      const row = await db
        .insertInto('job_runs')
        .values({ name: 'cron', run_key: key, status: 'done', started_at: now() })
        .onConflict((oc) => oc.doNothing())
        .returning('name')
        .executeTakeFirst();
      return Boolean(row);
    },
  };
}

/**
 * Nightly work from 03:00 club time. It is tried every hour until 23:00 too: the run of the day
 * is claimed once (see claimRun), so the extra ticks do nothing unless an earlier run died, in
 * which case they resume it. Pending till redemptions are expired every minute, and purchases get
 * their campaign (catchUpCampaignAttribution).
 */
export function startScheduler(deps: ClubDeps): { stop(): Promise<void> } {
  const options = { timezone: deps.config.timeZone, noOverlap: true, runCoordinator: postgresRunCoordinator(deps.db, deps.now) };
  const log = deps.logger.child({ component: 'scheduler' });
  const tasks: ScheduledTask[] = [
    cron.schedule('0 3-23 * * *', async () => {
      try {
        await runNightly(deps);
      } catch (error) {
        log.error({ err: error }, 'nightly run failed; the next tick resumes it');
      }
    }, { ...options, name: 'nightly' }),
    // Birthdays, win-backs and occasions from 10:00 (a greeting, not a 3 a.m. buzz). Later ticks
    // the same day only catch up what an earlier one missed: each member's occasion is recorded once.
    cron.schedule('0 10-20 * * *', async () => {
      try {
        const runs = await runAutomations(deps.db, deps.now(), deps.config.timeZone);
        if (runs.some((r) => r.campaignId !== null)) await deps.broadcaster.resumeAll();
        for (const r of runs) if (r.recipients > 0) log.info(r, 'automation sent');
      } catch (error) {
        log.error({ err: error }, 'automations failed; the next tick retries');
      }
    }, { ...options, name: 'automations' }),
    cron.schedule('* * * * *', async () => {
      try {
        // Each cashier's notice is queued with the expiry.
        const expired = (await expireRedemptions(deps.db, deps.now())).length + (await expireCreditRequests(deps.db, deps.now())).length;
        if (expired > 0) deps.notices.kick();
        await sendDueSatisfactionChecks(deps);
        await drawDueLotteries(deps).catch((error: unknown) => log.error({ err: error }, 'lottery draw failed; the next tick retries'));
        await announceBadges(deps).catch((error: unknown) => log.error({ err: error }, 'badge sweep failed; the next tick retries'));
        // The conversions report attributes what came after the watermark itself, one lookup per
        // purchase: at a million members a day of purchases (~19,000) cost it a second, a minute's nothing.
        await catchUpCampaignAttribution(deps.db, deps.now()).catch((error: unknown) => log.error({ err: error }, 'campaign attribution failed; the next tick retries'));
        deps.surveyDispatcher.kick();
        await deps.broadcaster.resumeAll();
      } catch (error) {
        log.error({ err: error }, 'redemption sweep failed');
      }
    }, { timezone: deps.config.timeZone, noOverlap: true, name: 'redemptions' }),
  ];
  // The reports' activity rollup is brought up to date at start too (built on first start, rebuilt
  // after a change of zone), in the background: reports are exact meanwhile, only slower.
  const t0 = performance.now();
  const activity = refreshMemberActivity(deps.db, deps.now(), deps.config.timeZone)
    .then((r) => {
      if (r.built.length || r.rezoned) log.info({ months: r.built.length, rezoned: r.rezoned, ms: Math.round(performance.now() - t0) }, 'activity rollup brought up to date');
    })
    .catch((error: unknown) => log.error({ err: error }, 'activity rollup refresh failed; the nightly run retries'))
    // Likewise the purchases' campaigns (the first start attributes every purchase since the first delivery).
    .then(() => catchUpCampaignAttribution(deps.db, deps.now()))
    .then((r) => {
      if (r.purchases) log.info({ purchases: r.purchases, until: r.until }, 'campaign attribution brought up to date');
    })
    .catch((error: unknown) => log.error({ err: error }, 'campaign attribution failed; the nightly run retries'));
  return {
    async stop() {
      for (const task of tasks) await task.stop();
      await activity;
    },
  };
}
