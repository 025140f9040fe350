import 'dotenv/config';
import { startClub, StartError } from './club.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

async function main() {
  // No token at all: the club runs against its own Bot API emulator, in the browser.
  if (!process.env.BOT_TOKEN?.trim() && !process.env.BALE_BOT_TOKEN?.trim()) {
    const { runPlayground } = await import('./playground/main.ts');
    return runPlayground(process.env);
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  // Signals are taken from the first moment: a SIGTERM while the club is still starting (its bots
  // may already be answering) waits for the start to finish, then stops cleanly.
  let stopping = false;
  let starting: Promise<Awaited<ReturnType<typeof startClub>>> | undefined;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing updates in flight');
    try {
      const club = await starting;
      await club?.stop();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'stop failed');
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  starting = startClub({ config, logger });
  await starting;
}

main().catch((error: unknown) => {
  // No platform could be served: the lines already say why (unreachable, refused token).
  if (error instanceof StartError) {
    console.error(`Bashgah cannot serve any platform:\n${error.message}`);
    process.exit(1);
  }
  console.error(error);
  process.exit(1);
});
