import type { Logger } from 'pino';
import { createBot } from './bot/bot.ts';
import type { ClubDeps } from './bot/context.ts';
import { createI18n } from './bot/i18n.ts';
import { launchBot, type RunningBot } from './bot/launch.ts';
import { Notifier } from './bot/notifier.ts';
import { adapterFor } from './bot/platform.ts';
import { cardSecret } from './club/settings.ts';
import { revokeFormerOwners } from './club/staff.ts';
import type { Config } from './config.ts';
import { createDatabase, describeDatabaseError, type DatabaseHandle } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { startScheduler } from './jobs/scheduler.ts';
import { startWeeklyReports } from './jobs/weekly-report.ts';
import { SurveyDispatcher } from './jobs/surveys.ts';
import { BroadcastDispatcher } from './jobs/broadcast.ts';
import { NotificationDispatcher } from './jobs/notifications.ts';
import { Api } from 'grammy';
import type { Platform } from './db/schema.ts';
import { withPrivateErrors } from './logger.ts';

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** An already open database (tests); otherwise one is opened from the config. */
  database?: DatabaseHandle;
  now?: () => Date;
  /** Run the nightly jobs on their schedule (default); tests call them directly instead. */
  scheduler?: boolean;
  /** Send the notification outbox (default); a test leaves it off to play a crash right after a commit. */
  notifications?: boolean;
}

export interface RunningClub {
  deps: ClubDeps;
  bots: RunningBot[];
  /** Finishes in-flight updates, then closes the database (if it opened it). */
  stop(): Promise<void>;
}

/** config -> database -> migrations -> one bot per configured platform. */
export async function startClub(options: StartOptions): Promise<RunningClub> {
  const { config } = options;
  const logger = withPrivateErrors(options.logger);
  const database =
    options.database ?? (await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const ownsDatabase = !options.database;
  const unwatch = database.onConnectionLost((error) =>
    logger.warn({ db: describeDatabaseError(error) }, 'a database connection was closed by the server; the pool opens a new one when needed'),
  );
  logger.info({ driver: database.driver, dataDir: database.driver === 'pglite' ? config.dataDir : undefined }, 'database open');
  const migrations = await migrateToLatest(database);
  for (const r of migrations.results ?? []) logger.info({ migration: r.migrationName, status: r.status }, 'migration');

  const i18n = await createI18n();
  // The one clock of the club: everything the domain writes is stamped from it (tests move it).
  const now = options.now ?? (() => new Date());
  // OWNER_PHONES is the list of owners: a phone taken off it is no longer an owner from this start.
  const revoked = await revokeFormerOwners(database.db, config.ownerPhones, now());
  if (revoked.length) logger.warn({ members: revoked }, 'owners no longer in OWNER_PHONES revoked');
  const deps: ClubDeps = {
    db: database.db,
    config,
    logger,
    i18n,
    cardSecret: await cardSecret(database.db, now()),
    now,
    notifier: new Notifier(database.db, i18n, config.defaultLocale, logger),
    surveyDispatcher: undefined as unknown as SurveyDispatcher,
    broadcaster: undefined as unknown as BroadcastDispatcher,
    notices: undefined as unknown as NotificationDispatcher,
  };
  deps.surveyDispatcher = new SurveyDispatcher(deps);
  // Campaigns use their own clients without auto-retry: the dispatcher obeys 429 for all of them.
  const broadcastApis = new Map<Platform, Api>();
  if (config.telegram) broadcastApis.set('telegram', new Api(config.telegram.token, { apiRoot: config.telegram.apiRoot }));
  if (config.bale) broadcastApis.set('bale', new Api(config.bale.token, { apiRoot: config.bale.apiRoot }));
  deps.broadcaster = new BroadcastDispatcher(deps, broadcastApis);
  deps.notices = new NotificationDispatcher(deps, broadcastApis, deps.broadcaster);

  const bots: RunningBot[] = [];
  const platforms: [Platform, Config['telegram']][] = [
    ['telegram', config.telegram],
    ['bale', config.bale],
  ];
  try {
    for (const [platform, bot] of platforms) {
      if (!bot) continue;
      const created = createBot(platform, bot, deps);
      deps.notifier.register(platform, created.api);
      bots.push(await launchBot(created, adapterFor(platform), deps));
    }
  } catch (error) {
    await Promise.all(bots.map((b) => b.stop()));
    unwatch();
    if (ownsDatabase) await database.close();
    throw error;
  }

  const scheduler = options.scheduler === false ? undefined : startScheduler(deps);
  const weeklyReports = options.scheduler === false ? undefined : startWeeklyReports(deps, broadcastApis);
  // A campaign that was sending when the process died goes on by itself; notices queued before a
  // crash go out now.
  await deps.broadcaster.resumeAll();
  if (options.notifications !== false) deps.notices.start();
  return {
    deps,
    bots,
    async stop() {
      await scheduler?.stop();
      await weeklyReports?.stop();
      await deps.surveyDispatcher.stop();
      // Notices before campaigns: the broadcaster releases the leases both send under.
      await deps.notices.stop();
      await deps.broadcaster.stop();
      await Promise.all(bots.map((b) => b.stop()));
      unwatch();
      if (ownsDatabase) await database.close();
    },
  };
}
