/**
 * One bot of `npm run bench:updates`, in its own process (so its RSS and its CPU are its own):
 *
 *   BENCH_BOT=echo   a bare grammY Bot replying with the text, long polling through @grammyjs/runner
 *   BENCH_BOT=screen a bare grammY Bot answering /menu with the club's own home screen as it was
 *                    sent once (BENCH_SCREEN: the sendMessage payload, JSON), the same runner
 *   BENCH_BOT=club   the real club (startClub) with the config the environment gives it
 *                    (BOT_TOKEN, BOT_API_ROOT, DATABASE_URL or DATA_DIR), in schema BENCH_SCHEMA on PostgreSQL
 *
 * It tells the parent "ready" (over IPC) once polling, answers {memory} with its memory after a
 * full GC (run it with --expose-gc) and a second for V8 to hand the freed pages back and {cpu} with its CPU time so far, profiles its CPU between
 * {profile} and {profile-end} when BENCH_CPU_PROF names a directory, and stops cleanly on {stop} (so --cpu-prof writes its file).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import v8 from 'node:v8';
import { run } from '@grammyjs/runner';
import { Bot } from 'grammy';
import pino from 'pino';
import { startClub, type RunningClub } from '../../src/club.ts';
import { loadConfig } from '../../src/config.ts';
import { createDatabase } from '../../src/db/database.ts';

const env = process.env;
const SETTLE_MS = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const send = (message: unknown) => process.send!(message);

async function main() {
  let stop: () => Promise<void>;
  if (env.BENCH_BOT === 'echo' || env.BENCH_BOT === 'screen') {
    const bot = new Bot(env.BOT_TOKEN!, { client: { apiRoot: env.BOT_API_ROOT! } });
    if (env.BENCH_BOT === 'echo') bot.on('message:text', (ctx) => ctx.reply(ctx.message.text));
    else {
      const { text, ...other } = JSON.parse(env.BENCH_SCREEN!) as { text: string } & Parameters<typeof bot.api.sendMessage>[2];
      bot.command('menu', (ctx) => ctx.reply(text, other));
    }
    await bot.init();
    const runner = run(bot);
    stop = () => runner.stop();
  } else {
    const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
    const database = config.databaseUrl && env.BENCH_SCHEMA ? await createDatabase({ databaseUrl: config.databaseUrl, schema: env.BENCH_SCHEMA, applicationName: env.BENCH_SCHEMA }) : undefined;
    const club: RunningClub = await startClub({ config, logger: pino({ level: 'warn' }), scheduler: false, ...(database ? { database } : {}) });
    stop = async () => {
      await club.stop();
      await database?.close();
    };
  }
  // BENCH_CPU_PROF: a CPU profile of the bursts only ({profile} starts it, {profile-end} writes it there).
  // BENCH_PROF_KIND=heap: a sampling heap profile instead (what the bursts allocate, by function).
  const profiler = env.BENCH_CPU_PROF ? new Session() : undefined;
  const HEAP = env.BENCH_PROF_KIND === 'heap';
  let profiles = 0;
  process.on('message', (message: { kind: string }) => {
    if (message.kind === 'profile' && profiler) {
      profiler.connect();
      const started = HEAP
        ? profiler.post('HeapProfiler.enable').then(() => profiler.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }))
        : profiler
            .post('Profiler.enable')
            .then(() => profiler.post('Profiler.setSamplingInterval', { interval: 200 }))
            .then(() => profiler.post('Profiler.start'));
      void started.then(() => send({ kind: 'profiling' }));
    } else if (message.kind === 'profile-end' && profiler) {
      const stopped = HEAP ? profiler.post('HeapProfiler.stopSampling') : profiler.post('Profiler.stop');
      void stopped.then(({ profile }) => {
        const file = join(env.BENCH_CPU_PROF!, `${env.BENCH_BOT}-${process.pid}-${++profiles}.${HEAP ? 'heapprofile' : 'cpuprofile'}`);
        writeFileSync(file, JSON.stringify(profile));
        profiler.disconnect();
        send({ kind: 'profiled', file });
      });
    } else if (message.kind === 'memory') {
      global.gc?.();
      global.gc?.();
      const atGc = process.memoryUsage.rss();
      // V8 gives the pages a GC freed back to the system from a background task, a moment after the
      // GC returns: the RSS is read once that has happened (and, for comparison, right away).
      void sleep(SETTLE_MS).then(() => {
        const m = process.memoryUsage();
        // The part of the RSS that is the process's own (anonymous: heaps, malloc) and the part mapped
        // from files (node's binary, native addons), which the kernel shares and can drop.
        const status = readFileSync('/proc/self/status', 'utf8');
        const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
        send({ kind: 'memory', rss: m.rss, rssAtGc: atGc, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rssAnon: kB('RssAnon'), rssFile: kB('RssFile'), byMapping: rssByMapping(), heapSpaces: heapSpaces() });
      });
    } else if (message.kind === 'cpu') {
      // The process's CPU time so far (user + system, and system alone, microseconds): the parent takes the difference over a burst.
      const c = process.cpuUsage();
      send({ kind: 'cpu', micros: c.user + c.system, system: c.system });
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

/** The RSS by what it maps (a file's name, or [heap], [anon] for anonymous memory), largest first: where the club's memory is. */
function rssByMapping(): Record<string, number> {
  const sizes = new Map<string, number>();
  let name = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      // Anonymous memory: V8's heap pages, malloc's arenas, and one large mapping on PGlite (its WebAssembly memory, 128 MB).
      const size = parseInt(head[2]!, 16) - parseInt(head[1]!, 16);
      name = head[3]?.replace(/^.*\/node_modules\//, '') || (size >= 64 * 2 ** 20 ? `[anon, ${Math.round(size / 2 ** 20)} MB mapping]` : '[anon]');
    } else if (line.startsWith('Rss:')) sizes.set(name, (sizes.get(name) ?? 0) + Number(/(\d+)/.exec(line)![1]) * 1024);
  }
  return Object.fromEntries([...sizes].sort((a, b) => b[1] - a[1]).filter(([, v]) => v >= 1e5).slice(0, 12).map(([k, v]) => [k, Math.round(v / 1e5) / 10]));
}

/** Each V8 heap space's committed and used size (MB): where the heap's slack is. */
function heapSpaces(): Record<string, [number, number]> {
  const mb = (n: number) => Math.round(n / 1e5) / 10;
  return Object.fromEntries(v8.getHeapSpaceStatistics().filter((s) => s.space_size > 1e6).map((s) => [s.space_name, [mb(s.space_size), mb(s.space_used_size)]]));
}
