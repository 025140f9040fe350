import type { Bot } from 'grammy';
import type { BotCommand } from 'grammy/types';
import type { Logger } from 'pino';
import type { UpdateJournal } from '../club/updates.ts';
import type { Context, ClubDeps } from './context.ts';
import type { PlatformAdapter } from './platform.ts';
import { LOCALES } from './i18n.ts';
import { startPolling } from './polling.ts';

const COMMANDS = ['start', 'menu', 'points', 'card', 'whoami', 'help'] as const;

export interface RunningBot {
  bot: Bot<Context>;
  username: string;
  /** Stops fetching updates and waits for the ones in flight to finish. */
  stop(): Promise<void>;
  /** Resolves once no update is being handled (tests: an answer goes out before the state is saved). */
  settled(): Promise<void>;
  /** Webhook mode: handles one update the HTTP server received; resolves once it is handled. */
  handleWebhook?: (update: unknown) => Promise<void>;
}

/** Webhook mode: where the platform posts updates, and Telegram's secret header. */
export interface WebhookTarget {
  url: string;
  secretToken?: string | undefined;
}

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;
/** Webhook mode makes no regular calls: a light getMe keeps "last successful call" fresh for /readyz. */
const HEARTBEAT_MS = 60_000;

/** Calls a platform may lack (Bale has no setMyCommands, for one): a failure is logged, never fatal. */
async function bestEffort(log: Logger, what: string, call: () => Promise<unknown>) {
  try {
    await call();
  } catch (error) {
    log.warn({ err: error }, `${what} failed; continuing without it`);
  }
}

/** `journal`: long polling's journal of fetched updates (see updateJournal); without it each stays unconfirmed until handled. */
export async function launchBot(bot: Bot<Context>, adapter: PlatformAdapter, deps: ClubDeps, webhook?: WebhookTarget, journal?: UpdateJournal): Promise<RunningBot> {
  const log = deps.logger.child({ platform: adapter.platform });
  await bot.init();
  for (const locale of LOCALES) {
    const t = deps.i18n.getFixedT(locale);
    const commands: BotCommand[] = COMMANDS.map((command) => ({ command, description: t(`commands.${command}`) }));
    const languageCode = locale === deps.config.defaultLocale ? {} : { language_code: locale };
    await bestEffort(log, 'setMyCommands', () => bot.api.setMyCommands(commands, languageCode));
  }
  if (webhook) return launchWebhook(bot, webhook, log);
  // Long polling that loses no update at a kill: see polling.ts.
  const poller = startPolling(bot, { allowedUpdates: ALLOWED_UPDATES, log, journal });
  log.info({ username: bot.botInfo.username }, 'bot is running');
  return {
    bot,
    username: bot.botInfo.username,
    stop: () => poller.stop(),
    settled: () => poller.settled(),
  };
}

/**
 * Webhook mode: the platform posts each update to the club's HTTP server, which answers once the
 * update is handled. The webhook is set at every start (the same URL from every process) and left
 * in place at stop: updates arriving while no process runs wait at the platform.
 */
async function launchWebhook(bot: Bot<Context>, webhook: WebhookTarget, log: Logger): Promise<RunningBot> {
  await bot.api.setWebhook(webhook.url, {
    allowed_updates: [...ALLOWED_UPDATES],
    ...(webhook.secretToken ? { secret_token: webhook.secretToken } : {}),
  });
  const inFlight = new Set<Promise<void>>();
  const heartbeat = setInterval(() => void bot.api.getMe().catch(() => undefined), HEARTBEAT_MS);
  heartbeat.unref();
  log.info({ username: bot.botInfo.username, webhook: webhook.url.replace(/[^/]+$/, '…') }, 'bot is running (webhook)');
  const settled = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  return {
    bot,
    username: bot.botInfo.username,
    async stop() {
      clearInterval(heartbeat);
      await settled();
    },
    settled,
    handleWebhook(update) {
      const handling = bot.handleUpdate(update as Parameters<typeof bot.handleUpdate>[0]);
      inFlight.add(handling);
      return handling.finally(() => inFlight.delete(handling));
    },
  };
}
