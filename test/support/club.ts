import pino, { type Logger } from 'pino';
import { startClub, type RunningClub } from '../../src/club.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import type { FakeBotApi } from './fake-bot-api.ts';

export const TEST_TOKEN = '123456:TEST-token-for-the-fake-bot-api';

export interface TestClubOptions {
  api: FakeBotApi;
  database: DatabaseHandle;
  env?: Record<string, string>;
  now?: () => Date;
  /** Where the club logs (default: silent, or TEST_LOG_LEVEL). */
  logger?: Logger;
  /** false: the notification outbox is not sent (a process that died right after a commit). */
  notifications?: boolean;
}

/** The real club (config, migrations, bots, runner) against the fake Bot API and a test database. */
export async function startTestClub(options: TestClubOptions): Promise<RunningClub> {
  const platformEnv =
    options.api.platform === 'bale'
      ? { BALE_BOT_TOKEN: TEST_TOKEN, BALE_API_ROOT: options.api.apiRoot }
      : { BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: options.api.apiRoot };
  const config = loadConfig({ ...platformEnv, LOG_LEVEL: 'silent', ...options.env });
  return startClub({
    config,
    logger: options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    database: options.database,
    scheduler: false,
    ...(options.now ? { now: options.now } : {}),
    ...(options.notifications === false ? { notifications: false } : {}),
  });
}
