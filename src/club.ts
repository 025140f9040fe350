import type { Logger } from 'pino';
import { createBot } from './bot/bot.ts';
import type { ClubDeps } from './bot/context.ts';
import { createI18n } from './bot/i18n.ts';
import { launchBot, type RunningBot } from './bot/launch.ts';
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
import { checkPlatform, fetchConfigFor } from './bot/network.ts';
import { botApiFetch } from './bot/http.ts';
import { databaseReachable } from './club/operations.ts';
import { updateJournal, withAdvisoryLock } from './club/updates.ts';
import { startHttpServer, type Readiness, type RunningHttpServer } from './http/server.ts';
import { ClubMetrics } from './metrics.ts';

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** An already open database (tests); otherwise one is opened from the config. */
  database?: DatabaseHandle;
  /** A database the caller began opening for the club to own and close (main.ts: it opens while the code loads). */
  opening?: Promise<DatabaseHandle>;
  now?: () => Date;
  /** Run the nightly jobs on their schedule (default); tests call them directly instead. */
  scheduler?: boolean;
  /** Send the notification outbox (default); a test leaves it off to play a crash right after a commit. */
  notifications?: boolean;
}

export interface RunningClub {
  deps: ClubDeps;
  bots: RunningBot[];
  /** Health, readiness, metrics and webhooks, when PORT (or WEBHOOK_URL) is set. */
  http: RunningHttpServer | undefined;
  /** Finishes in-flight updates, then closes the database (if it opened it). */
  stop(): Promise<void>;
}

/** Chats whose lock this process may hold at once: each holds a pooled connection while it works. */
const CHAT_LOCKS = 10;

/**
 * At most CHAT_LOCKS chats locked at once, so the pool always keeps connections for the work
 * itself (every holder waiting for a connection while holding one would be a deadlock).
 */
function chatLocks(db: DatabaseHandle['db']): NonNullable<ClubDeps['chatLock']> {
  let holders = 0;
  const waiting: (() => void)[] = [];
  return async (key, work) => {
    if (holders >= CHAT_LOCKS) await new Promise<void>((resolve) => waiting.push(resolve));
    else holders++;
    try {
      return await withAdvisoryLock(db, key, work);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else holders--;
    }
  };
}

/** At stop, how long the notices the last updates queued may take to go out. */
const DRAIN_MS = 5_000;

function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([work.then(() => undefined), deadline]).finally(() => clearTimeout(timer));
}

/** No configured platform could be served: each line says why. */
export class StartError extends Error {}

/** A bot's API counts as alive while its last successful call is this recent (polling: every 30 s). */
const API_FRESH_MS = 150_000;

async function readiness(db: DatabaseHandle['db'], metrics: ClubMetrics, platforms: Platform[]): Promise<Readiness> {
  const checks: Record<string, boolean> = { database: await databaseReachable(db, 2000) };
  for (const platform of platforms) checks[platform] = Date.now() - (metrics.lastSuccess.get(platform) ?? 0) < API_FRESH_MS;
  return { ready: Object.values(checks).every(Boolean), checks };
}

/** config -> database -> migrations -> one bot per configured platform. */
export async function startClub(options: StartOptions): Promise<RunningClub> {
  const { config } = options;
  const logger = withPrivateErrors(options.logger);
  // Every configured platform is asked getMe at once, each within STARTUP_CHECK_SECONDS, while the
  // database opens and migrates (a proxied Telegram may take seconds to answer). The clients are
  // the campaigns' own, without auto-retry: the dispatcher obeys 429 for all of them.
  const candidates = (['telegram', 'bale'] as const).flatMap((platform) => {
    const settings = config[platform];
    if (!settings) return [];
    const fetchConfig = fetchConfigFor(platform, config);
    const api = new Api(settings.token, { apiRoot: settings.apiRoot, fetch: botApiFetch(settings.apiRoot, fetchConfig?.agent) });
    return [{ platform, settings, fetchConfig, api, check: checkPlatform(api, platform, config.startupCheckSeconds, fetchConfig !== undefined) }];
  });
  const database =
    options.database ??
    (await (options.opening ??
      createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.webhook ? 2 * CHAT_LOCKS : undefined })));
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
    surveyDispatcher: undefined as unknown as SurveyDispatcher,
    broadcaster: undefined as unknown as BroadcastDispatcher,
    notices: undefined as unknown as NotificationDispatcher,
  };
  deps.surveyDispatcher = new SurveyDispatcher(deps);
  const metrics = new ClubMetrics(database.db, now, database.poolStats);
  deps.metrics = metrics;
  // Several webhook processes may share one bot: a chat's updates take its lock in PostgreSQL.
  // (Long polling has one consumer per bot; the embedded database has one process.)
  if (config.webhook && database.driver === 'pg') deps.chatLock = chatLocks(database.db);
  // Long polling on PostgreSQL keeps what it fetched in a journal until handled (see updateJournal).
  // The embedded database has one process and its statements cost more: there an update stays
  // unconfirmed at the platform until handled (see startPolling).
  deps.journaled = !config.webhook && database.driver === 'pg';

  // The club serves the platforms that answered and says plainly what is wrong with the others.
  const checks = await Promise.all(candidates.map((c) => c.check));
  const serving = candidates.flatMap((c, i) => {
    const check = checks[i]!;
    if (!check.ok) {
      logger.error({ platform: c.platform, problem: check.problem }, check.line);
      return [];
    }
    const bot = createBot(c.platform, { ...c.settings, fetchConfig: c.fetchConfig }, deps);
    bot.botInfo = check.me;
    return [{ ...c, bot }];
  });
  if (serving.length === 0) {
    unwatch();
    if (ownsDatabase) await database.close();
    throw new StartError(checks.flatMap((c) => (c.ok ? [] : [c.line])).join('\n'));
  }

  const broadcastApis = new Map<Platform, Api>(serving.map((c) => [c.platform, c.api]));
  deps.broadcaster = new BroadcastDispatcher(deps, broadcastApis);
  deps.notices = new NotificationDispatcher(deps, broadcastApis, deps.broadcaster);

  const bots: RunningBot[] = [];
  const launched = new Map<Platform, RunningBot>();
  const webhookPath = (platform: Platform) => `/${platform === 'telegram' ? 'tg' : 'bale'}/${config.webhook!.secret}`;
  let http: RunningHttpServer | undefined;
  try {
    if (config.port !== undefined) {
      http = await startHttpServer({
        port: config.port,
        logger,
        registry: metrics.registry,
        readiness: () => readiness(database.db, metrics, serving.map((c) => c.platform)),
        // Until its bot is launched a route answers 500: the platform delivers the update again.
        webhooks: config.webhook
          ? serving.map((c) => ({
              path: webhookPath(c.platform),
              ...(c.platform === 'telegram' ? { secretToken: config.webhook!.secret } : {}),
              handle: (update: unknown) => launched.get(c.platform)?.handleWebhook?.(update) ?? Promise.reject(new Error('bot not launched yet')),
            }))
          : [],
      });
    }
    for (const c of serving) {
      const webhook = config.webhook && {
        url: `${config.webhook.url}${webhookPath(c.platform)}`,
        secretToken: c.platform === 'telegram' ? config.webhook.secret : undefined,
      };
      const journal = !deps.journaled
        ? undefined
        : updateJournal({
            handle: database,
            platform: c.platform,
            botId: c.bot.botInfo.id,
            now,
            onWait: () => logger.warn({ platform: c.platform }, 'another process is polling this bot; waiting until it stops'),
            onLockLost: (error) => logger.error({ err: error, platform: c.platform }, 'lost the connection that holds this bot for this process; taking it again (meanwhile another process could poll it too)'),
          });
      const running = await launchBot(c.bot, adapterFor(c.platform), deps, webhook, journal);
      bots.push(running);
      launched.set(c.platform, running);
    }
  } catch (error) {
    await http?.close();
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
    http,
    async stop() {
      // 1. Stop taking updates and finish those in flight: webhook requests are refused with 503
      //    (the platform delivers them to another process), polling stops fetching (what it had
      //    not handed over stays unconfirmed). The jobs run on meanwhile: a receipt an update in
      //    flight queues still goes out.
      await Promise.all([http?.close(), ...bots.map((b) => b.stop())]);
      // 2. A last look at the outbox for what those updates queued, a few seconds at most; what is
      //    left waits in the table for the next process (or another one holding the lease).
      if (options.notifications !== false) await withDeadline(deps.notices.drained(), DRAIN_MS);
      await scheduler?.stop();
      await weeklyReports?.stop();
      await deps.surveyDispatcher.stop();
      // 3. The outbox claims: a notice this process claimed is sent or put back, never left claimed
      //    until its lease runs out. Notices before campaigns: the broadcaster then releases the
      //    lease both send under, so another process takes over at once.
      await deps.notices.stop();
      await deps.broadcaster.stop();
      unwatch();
      if (ownsDatabase) await database.close();
    },
  };
}
