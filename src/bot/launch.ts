import { run, type RunnerHandle } from '@grammyjs/runner';
import type { Bot } from 'grammy';
import type { BotCommand } from 'grammy/types';
import type { Logger } from 'pino';
import type { Context, ClubDeps } from './context.ts';
import type { PlatformAdapter } from './platform.ts';
import { LOCALES } from './i18n.ts';

const COMMANDS = ['start', 'menu', 'points', 'card', 'whoami', 'help'] as const;

export interface RunningBot {
  bot: Bot<Context>;
  username: string;
  /** Stops fetching updates and waits for the ones in flight to finish. */
  stop(): Promise<void>;
  /** Resolves once no update is being handled (tests: an answer goes out before the state is saved). */
  settled(): Promise<void>;
}

/** Calls a platform may lack (Bale has no setMyCommands, for one): a failure is logged, never fatal. */
async function bestEffort(log: Logger, what: string, call: () => Promise<unknown>) {
  try {
    await call();
  } catch (error) {
    log.warn({ err: error }, `${what} failed; continuing without it`);
  }
}

export async function launchBot(bot: Bot<Context>, adapter: PlatformAdapter, deps: ClubDeps): Promise<RunningBot> {
  const log = deps.logger.child({ platform: adapter.platform });
  await bot.init();
  for (const locale of LOCALES) {
    const t = deps.i18n.getFixedT(locale);
    const commands: BotCommand[] = COMMANDS.map((command) => ({ command, description: t(`commands.${command}`) }));
    const languageCode = locale === deps.config.defaultLocale ? {} : { language_code: locale };
    await bestEffort(log, 'setMyCommands', () => bot.api.setMyCommands(commands, languageCode));
  }
  const handle: RunnerHandle = run(bot, {
    runner: { fetch: { allowed_updates: ['message', 'callback_query'] } },
  });
  log.info({ username: bot.botInfo.username }, 'bot is running');
  return {
    bot,
    username: bot.botInfo.username,
    async stop() {
      await handle.stop();
      // stop() ends fetching; updates already handed to middleware may still be running.
      const deadline = Date.now() + 30_000;
      while (handle.size() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    },
    async settled() {
      while (handle.size() > 0) await new Promise((r) => setTimeout(r, 5));
    },
  };
}
