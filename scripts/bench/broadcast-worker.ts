/**
 * Child process of `npm run bench:broadcast` (not run by hand): one club process as production
 * starts it (startClub: migrations, bots, BroadcastDispatcher, resumeAll), pointed at the fake Bot
 * API the parent runs and at the parent's schema. It waits for the campaign to settle, then prints
 * one JSON line and exits. The parent may SIGKILL it midway.
 *
 * Environment (set by the parent):
 *   DATABASE_URL, BENCH_SCHEMA    the database and schema to use
 *   BOT_API_ROOT                  the fake Bot API
 *   BENCH_RATE                    messages/s for Telegram (may exceed BROADCAST_RATE's 1000 cap)
 *   BENCH_CAMPAIGN                the campaign to wait for
 *   BENCH_NOW_SHIFT_MS            the clock this process believes in, shifted (a restart "later")
 *   BENCH_POOL                    database connections (default 10, as a club process)
 */
import pino from 'pino';
import { startClub } from '../../src/club.ts';
import { campaignProgress } from '../../src/club/campaigns.ts';
import { loadConfig } from '../../src/config.ts';
import { createDatabase } from '../../src/db/database.ts';

const env = process.env;
const rate = Number(env.BENCH_RATE ?? 25);
const campaignId = Number(env.BENCH_CAMPAIGN);
const shift = Number(env.BENCH_NOW_SHIFT_MS ?? 0);
const token = '123456:BENCH-token-for-the-fake-bot-api';

const started = performance.now();
const config = loadConfig({
  BOT_TOKEN: token,
  BOT_API_ROOT: env.BOT_API_ROOT,
  BROADCAST_RATE: String(Math.min(1000, Math.max(1, Math.round(rate)))),
  LOG_LEVEL: 'warn',
});
// The bench may ask for more than the configuration allows, to find the dispatcher's own ceiling.
config.broadcastRate.telegram = rate;
const logger = pino({ level: 'warn' }, pino.destination(2));
const database = await createDatabase({ databaseUrl: env.DATABASE_URL, schema: env.BENCH_SCHEMA, poolSize: Number(env.BENCH_POOL ?? 10) });
const cpu0 = process.cpuUsage();
const club = await startClub({
  config,
  logger,
  database,
  scheduler: false,
  ...(shift ? { now: () => new Date(Date.now() + shift) } : {}),
});
// startClub ran resumeAll: the campaign (status 'sending') is kicked already.
process.stdout.write(`${JSON.stringify({ event: 'started', pid: process.pid, ms: Math.round(performance.now() - started) })}\n`);
await club.deps.broadcaster.settled(campaignId);
const campaign = await club.deps.db.selectFrom('campaigns').select('status').where('id', '=', campaignId).executeTakeFirstOrThrow();
const progress = await campaignProgress(club.deps.db, campaignId);
const cpu = process.cpuUsage(cpu0);
await club.stop();
await database.close();
process.stdout.write(
  `${JSON.stringify({
    event: 'done',
    status: campaign.status,
    progress,
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
    // ru_maxrss is in KiB on Linux.
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`,
);
process.exit(0);
