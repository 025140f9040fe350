import 'dotenv/config';
import { pathToFileURL } from 'node:url';
import { createLogger } from '../logger.ts';
import { startPlayground, type RunningPlayground } from './server.ts';

export const PLAYGROUND_HINT = 'set BOT_TOKEN or BALE_BOT_TOKEN to run for real';

/** The playground as a process: `npm run playground`, or `npm start` with no token. */
export async function runPlayground(env: Record<string, string | undefined>) {
  const level = env.LOG_LEVEL && /^(fatal|error|warn|info|debug|trace|silent)$/.test(env.LOG_LEVEL) ? env.LOG_LEVEL : 'info';
  const logger = createLogger(level);
  const port = env.PORT ? Number(env.PORT) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a whole number from 0 to 65535, got "${env.PORT}"`);
    process.exit(2);
  }
  let running: RunningPlayground | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the playground');
    await running?.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  running = await startPlayground({ env, logger, port, dataDir: env.PLAYGROUND_DATA_DIR ?? './data/playground' });
  logger.info(`Playground at ${running.url} — ${PLAYGROUND_HINT}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPlayground(process.env).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
