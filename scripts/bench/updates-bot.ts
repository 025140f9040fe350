/**
 * One bot of `npm run bench:updates`, in its own process (so its RSS and its CPU are its own):
 *
 *   BENCH_BOT=echo   a bare grammY Bot replying with the text, long polling through @grammyjs/runner
 *   BENCH_BOT=club   the real club (startClub) with the config the environment gives it
 *                    (BOT_TOKEN, BOT_API_ROOT, DATABASE_URL or DATA_DIR), in schema BENCH_SCHEMA on PostgreSQL
 *
 * It tells the parent "ready" (over IPC) once polling, answers {memory} with its memory after a
 * full GC (run it with --expose-gc), and stops cleanly on {stop} (so --cpu-prof writes its file).
 */
import { run } from '@grammyjs/runner';
import { Bot } from 'grammy';
import pino from 'pino';
import { startClub, type RunningClub } from '../../src/club.ts';
import { loadConfig } from '../../src/config.ts';
import { createDatabase } from '../../src/db/database.ts';

const env = process.env;
const send = (message: unknown) => process.send!(message);

async function main() {
  let stop: () => Promise<void>;
  if (env.BENCH_BOT === 'echo') {
    const bot = new Bot(env.BOT_TOKEN!, { client: { apiRoot: env.BOT_API_ROOT! } });
    bot.on('message:text', (ctx) => ctx.reply(ctx.message.text));
    await bot.init();
    const runner = run(bot);
    stop = () => runner.stop();
  } else {
    const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
    const database = config.databaseUrl && env.BENCH_SCHEMA ? await createDatabase({ databaseUrl: config.databaseUrl, schema: env.BENCH_SCHEMA }) : undefined;
    const club: RunningClub = await startClub({ config, logger: pino({ level: 'warn' }), scheduler: false, ...(database ? { database } : {}) });
    stop = async () => {
      await club.stop();
      await database?.close();
    };
  }
  process.on('message', (message: { kind: string }) => {
    if (message.kind === 'memory') {
      global.gc?.();
      global.gc?.();
      const m = process.memoryUsage();
      send({ kind: 'memory', rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers });
    } else if (message.kind === 'stop') {
      void stop().then(() => {
        send({ kind: 'stopped' });
        process.disconnect();
        // --cpu-prof writes its profile at a normal exit.
        process.exit(0);
      });
    }
  });
  send({ kind: 'ready' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
