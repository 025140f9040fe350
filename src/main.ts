import 'dotenv/config';
import type { startClub } from './club.ts';
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
  // The embedded database takes most of a start to open (its WASM compiled, PostgreSQL's own
  // start); it opens while the rest of the club's code loads.
  const opening = config.databaseUrl ? undefined : import('./db/database.ts').then((d) => d.createDatabase({ dataDir: config.dataDir }));
  opening?.catch(() => undefined); // awaited (and its error reported) by startClub
  starting = import('./club.ts').then((club) => club.startClub({ config, logger, ...(opening ? { opening } : {}) }));
  await starting;
}

main().catch(async (error: unknown) => {
  // No platform could be served: the lines already say why (unreachable, refused token).
  if (error instanceof (await import('./club.ts')).StartError) {
    console.error(`Bashgah cannot serve any platform:\n${error.message}`);
    process.exit(1);
  }
  console.error(error);
  process.exit(1);
});
