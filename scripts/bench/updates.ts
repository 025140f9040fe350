/**
 * `npm run bench:updates`: how many updates a second the club handles against a bare grammY echo
 * bot on the same fake Bot API (real HTTP, long polling through @grammyjs/runner), the latency of
 * the club's answers at a moderate load, the memory of 10,000 open conversations, and the start-up
 * time, on PostgreSQL and on the embedded PGlite.
 *
 * This process runs the fake Bot APIs and their simulated users; each bot runs in a process of its
 * own (scripts/bench/updates-bot.ts), so the RSS measured is the club's alone and the fake server
 * does not share the bots' event loop. The bots run compiled, as `npm start` runs the club: the
 * bench bundles updates-bot.ts with the build's own settings (scripts/build.mjs) into dist.bench/:
 *
 *   echo      a Bot with one handler that replies with the text, run by the same runner
 *   screen    a Bot that answers /menu with the club's home screen as the club sent it once (same
 *             text, keyboard and options; nothing read, nothing rendered), the same runner: how far
 *             the club is from a bare bot sending the same answer (screenRatio = club / screen)
 *   club      members send /menu (the home screen: a member lookup, points and tier, an inline menu)
 *             bursts of MEMBERS updates (one per chat), taken in turn with the echo bot's bursts
 *             (echo, screen, club, echo...) so all see the same load on a shared machine;
 *             cpuMsPerUpdate: each bot process's CPU time (process.cpuUsage) over its bursts, per
 *             update, and cpuRatio = echo's / club's: a figure other engineers' load moves less;
 *             serverCpuMsPerUpdate (PostgreSQL): the CPU time of the club's backends, per update;
 *             systemMsPerUpdate: the kernel's part of each bot's; fakeApiCpuMsPerUpdate: this process's
 *             (the fake Bot API and its users) while serving each bot
 *   latency   /menu at LATENCY_RATE updates/s for LATENCY_SECONDS: p50 / p99 from push to answer
 *   memory    CONVERSATIONS strangers send /start: each waits in the signup conversation; the club
 *             process's RSS after a full GC and a second's pause (rssAtGcMB: at once), before and after;
 *             rssByMappingMB: that RSS by what it maps (node's binary, [heap]: malloc's main heap,
 *             [anon]: V8's heap and malloc's other arenas, PGlite's WebAssembly memory), and
 *             heapSpacesMB: V8's heap spaces, [committed, used]
 *   bots      the environment and node's flags each bot ran with: npm start's (package.json)
 *   start-up  `node scripts/start.mjs` (what `npm start` runs) from spawn to its first getUpdates,
 *             on the PGlite data dir the run left (an existing data dir), STARTS times; dist/ is
 *             built (if stale) before the run, so this is every start after the first one
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test): a schema of its own, dropped at
 * the end; PGlite: a temporary data dir, removed at the end. Knobs: DRIVERS (pg,pglite), UPDATES
 * (club updates per driver, 5000), MEMBERS (1000), LATENCY_RATE (100), LATENCY_SECONDS (10),
 * CONVERSATIONS (10000), STARTS (3), BENCH_CPU_PROF (a directory: each bot process writes there a
 * CPU profile of each of its throughput bursts, `<echo|club>-<pid>-<n>.cpuprofile`; the profiler's
 * cost is in that run's figures; BENCH_PROF_KIND=heap: sampling heap profiles instead, `.heapprofile`).
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { FakeBotApi, type BotMessage, type FakeUser } from '../../test/support/fake-bot-api.ts';
import { buildIfStale, bundle } from '../build.mjs';
import { inlineButtons } from '../../test/support/messages.ts';
import { watchBackends } from './backend-cpu.ts';

const env = process.env;
const databaseUrl = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const DRIVERS = (env.DRIVERS ?? 'pg,pglite').split(',').map((d) => d.trim()) as ('pg' | 'pglite')[];
const UPDATES = Number(env.UPDATES ?? 5000);
const MEMBERS = Number(env.MEMBERS ?? 1000);
const LATENCY_RATE = Number(env.LATENCY_RATE ?? 100);
const LATENCY_SECONDS = Number(env.LATENCY_SECONDS ?? 10);
const CONVERSATIONS = Number(env.CONVERSATIONS ?? 10_000);
const STARTS = Number(env.STARTS ?? 3);
const CPU_PROF = env.BENCH_CPU_PROF;
const TOKEN = '123456:BENCH-token-for-the-fake-bot-api';
const CHAT_BASE = 8_800_000_000;
const ROOT = new URL('../../', import.meta.url).pathname;
/** The bot processes, compiled (see above). */
const BOTS_DIR = join(ROOT, 'dist.bench');
/**
 * `npm start` (package.json) as `[NAME=value ...] node [flags] scripts/start.mjs`: the environment
 * its assignments give (read through the shell, as npm runs them) and node's flags go to the three
 * bots and to the start-up runs, so each runs as `npm start` runs the club. BENCH_NODE_FLAGS
 * overrides the flags.
 */
const START_SCRIPT = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
const startParts = /^((?:\w+=\S+\s+)*)node\s*(.*?)\s*scripts\/start\.mjs$/.exec(START_SCRIPT);
if (!startParts) throw new Error(`npm start is not "[NAME=value ...] node [flags] scripts/start.mjs": ${START_SCRIPT}`);
const startNames = [...startParts[1]!.matchAll(/(\w+)=/g)].map((m) => m[1]!);
const START_ENV: Record<string, string> = startNames.length === 0 ? {} : JSON.parse(
  execFileSync('/bin/sh', ['-c', `${startParts[1]}"${process.execPath}" -e 'process.stdout.write(JSON.stringify(Object.fromEntries(process.argv.slice(1).map((n) => [n, process.env[n]]))))' ${startNames.join(' ')}`], { encoding: 'utf8' }),
) as Record<string, string>;
const NODE_FLAGS = (env.BENCH_NODE_FLAGS ?? startParts[2]!).split(/\s+/).filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const load = () => loadavg().map((l) => Number(l.toFixed(1)));

/** What a user expects as the answer: anything else (an "try again in a minute") is counted as wrong. */
type Expected = (m: BotMessage) => boolean;
const echoed: Expected = (m) => m.text === 'hello';
const homeScreen: Expected = (m) => inlineButtons(m).length > 0;
const anyAnswer: Expected = () => true;

/** Resolves when every user in `users` has a new message from the bot; records each first answer's time. */
function answers(users: FakeUser[], expected: Expected = anyAnswer) {
  const firstAnswer = new Map<number, number>();
  const wrong = new Set<number>();
  const before = new Map(users.map((u) => [u.id, u.messages.length]));
  const originals = users.map((u) => [u, u.changed] as const);
  for (const u of users) {
    const changed = u.changed.bind(u);
    u.changed = (m) => {
      if (!firstAnswer.has(u.id) && u.messages.length > before.get(u.id)!) {
        firstAnswer.set(u.id, performance.now());
        if (!expected(u.messages[before.get(u.id)!]!)) wrong.add(u.id);
      }
      changed(m);
    };
  }
  return {
    firstAnswer,
    wrong,
    async all(timeoutMs: number) {
      const deadline = performance.now() + timeoutMs;
      while (firstAnswer.size < users.length && performance.now() < deadline) await sleep(5);
      for (const [u, changed] of originals) u.changed = changed;
      return firstAnswer.size;
    },
  };
}

/**
 * Pushes one update per user as fast as the fake server takes them; returns right answers a second
 * (from the first push to the last answer) and how many answers were not the one expected.
 */
async function burst(users: FakeUser[], text: string, expected: Expected) {
  const watch = answers(users, expected);
  const t0 = performance.now();
  for (const u of users) await u.send(text);
  const answered = await watch.all(180_000);
  const last = Math.max(...watch.firstAnswer.values());
  const right = answered - watch.wrong.size;
  return { answered, wrong: watch.wrong.size, perSecond: Math.round(right / ((last - t0) / 1000)) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);

/** A bot in a process of its own (scripts/bench/updates-bot.ts). */
class BotProcess {
  readonly child: ChildProcess;
  private readonly inbox: { kind: string; [k: string]: unknown }[] = [];
  private readonly exited: Promise<number | null>;
  logLines = 0;

  constructor(kind: 'echo' | 'screen' | 'club', childEnv: Record<string, string>) {
    const flags = ['--expose-gc', ...NODE_FLAGS];
    this.child = fork(join(BOTS_DIR, 'updates-bot.js'), [], {
      execArgv: flags,
      env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('MALLOC_'))), ...START_ENV, BENCH_BOT: kind, BOT_TOKEN: TOKEN, ...(CPU_PROF ? { BENCH_CPU_PROF: CPU_PROF, ...(env.BENCH_PROF_KIND ? { BENCH_PROF_KIND: env.BENCH_PROF_KIND } : {}) } : {}), ...childEnv },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    // The bot's warnings (pino JSON lines) and errors: counted, the first few shown.
    const count = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        if (++this.logLines <= 3) process.stderr.write(`[${kind}] ${line.slice(0, 300)}\n`);
      }
    };
    this.child.stdout!.on('data', count);
    this.child.stderr!.on('data', count);
    this.child.on('message', (m) => this.inbox.push(m as { kind: string }));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  async next(kind: string, timeoutMs = 120_000) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.kind === kind);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      if (this.child.exitCode !== null) throw new Error(`bot process exited (${this.child.exitCode}) before "${kind}"`);
      if (performance.now() > deadline) throw new Error(`no "${kind}" from the bot process`);
      await sleep(5);
    }
  }

  /** BENCH_CPU_PROF: profiles the process's CPU while `work` runs; returns the profile's file. */
  async profiled<T>(work: () => Promise<T>): Promise<T> {
    if (!CPU_PROF) return work();
    this.child.send({ kind: 'profile' });
    await this.next('profiling');
    try {
      return await work();
    } finally {
      this.child.send({ kind: 'profile-end' });
      process.stderr.write(`profile: ${(await this.next('profiled')).file as string}\n`);
    }
  }

  async memory() {
    this.child.send({ kind: 'memory' });
    return (await this.next('memory')) as unknown as { rss: number; rssAtGc: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; rssAnon: number; rssFile: number; byMapping: Record<string, number>; heapSpaces: Record<string, [number, number]> };
  }

  /** The process's CPU time so far, microseconds (user + system). */
  async cpu() {
    return (await this.cpuTimes()).micros;
  }

  /** The process's CPU time so far, microseconds: in all (user + system) and in the kernel (system). */
  async cpuTimes() {
    this.child.send({ kind: 'cpu' });
    return (await this.next('cpu')) as unknown as { micros: number; system: number };
  }

  async stop() {
    if (this.child.exitCode !== null) return;
    this.child.send({ kind: 'stop' });
    await Promise.race([this.exited, sleep(60_000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** The bench's members and their accounts, on a migrated database. */
async function seed(handle: DatabaseHandle) {
  await migrateToLatest(handle);
  await sql`
    insert into members (phone, first_name, referral_code, tier_id, locale, joined_at, last_active_at)
    select '+98914' || lpad(g::text, 7, '0'), 'U' || g, 'UP' || g, (select id from tiers order by rank limit 1), 'fa', now(), now()
    from generate_series(1, ${MEMBERS}::int) g`.execute(handle.db);
  await sql`insert into member_accounts (platform, user_id, member_id, chat_id, created_at) select 'telegram', ${CHAT_BASE}::int8 + id, id, ${CHAT_BASE}::int8 + id, now() from members`.execute(handle.db);
  await sql`analyze members`.execute(handle.db);
  await sql`analyze member_accounts`.execute(handle.db);
  return (await handle.db.selectFrom('member_accounts').select('chat_id').orderBy('chat_id').execute()).map((a) => a.chat_id);
}

async function openConversations(handle: DatabaseHandle) {
  const row = await handle.db.selectFrom('conversation_state').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A process's CPU time so far (user + system, ms), from /proc: a figure other load moves less than wall time. */
function cpuMsOf(pid: number) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
}

/** `npm start` on an existing data dir: from spawn to the first getUpdates (and its CPU time by then), then stopped with SIGTERM. */
async function startUp(dataDir: string) {
  const api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_bench_bot' });
  await api.start();
  const t0 = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, 'scripts/start.mjs'], {
    cwd: ROOT,
    env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...START_ENV, BOT_TOKEN: TOKEN, BOT_API_ROOT: api.apiRoot, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    while (api.firstPollAt === undefined && child.exitCode === null && performance.now() - t0 < 60_000) await sleep(2);
    if (api.firstPollAt === undefined) throw new Error('the club never polled');
    return { ms: Math.round(api.firstPollAt - t0), cpuMs: cpuMsOf(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await api.stop();
  }
}

/** A burst, with the CPU time the bot process spent on it (ms per update; the IPC ask is in it, once). */
async function timedBurst(bot: BotProcess, users: FakeUser[], text: string, expected: Expected) {
  const cpu0 = await bot.cpuTimes();
  const api0 = process.cpuUsage();
  const round = await burst(users, text, expected);
  const api1 = process.cpuUsage(api0);
  const cpu1 = await bot.cpuTimes();
  return { ...round, cpuMs: (cpu1.micros - cpu0.micros) / 1000, systemMs: (cpu1.system - cpu0.system) / 1000, apiMs: (api1.user + api1.system) / 1000 };
}

async function benchDriver(driver: 'pg' | 'pglite', echo: BotProcess, echoUsers: FakeUser[]) {
  const out: Record<string, unknown> = { driver, loadBefore: load(), bots: { nodeFlags: NODE_FLAGS, env: START_ENV } };
  const schema = `bench_up_${randomBytes(4).toString('hex')}`;
  const dataDir = driver === 'pglite' ? mkdtempSync(join(tmpdir(), 'bashgah-bench-')) : undefined;
  const open = () => (driver === 'pg' ? createDatabase({ databaseUrl, schema, poolSize: 2 }) : createDatabase({ dataDir }));
  let handle: DatabaseHandle | undefined = await open();
  const api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_bench_bot' });
  let club: BotProcess | undefined;
  let screen: BotProcess | undefined;
  let screenApi: FakeBotApi | undefined;
  try {
    const ids = await seed(handle);
    // PGlite is one process's: the parent lets go of the data dir before the club opens it.
    if (driver === 'pglite') {
      await handle.close();
      handle = undefined;
    }
    await api.start();
    const users = ids.map((id) => api.user({ id, first_name: 'U', language_code: 'fa' }));
    const t0 = performance.now();
    club = new BotProcess('club', {
      BOT_API_ROOT: api.apiRoot,
      ...(driver === 'pg' ? { DATABASE_URL: databaseUrl, BENCH_SCHEMA: schema } : { DATA_DIR: dataDir! }),
    });
    await club.next('ready');
    out.clubReadyMs = Math.round(performance.now() - t0);

    await burst(echoUsers.slice(0, 200), 'hello', echoed); // warm-up
    await burst(users.slice(0, 200), '/menu', homeScreen);
    // The screen bot sends what the club's last answer sent, but to its own chat.
    const sent = api.calls.findLast((c) => c.method === 'sendMessage' && c.params.reply_markup)!;
    const { chat_id: _chat, ...screenPayload } = sent.params;
    screenApi = new FakeBotApi({ platform: 'telegram' });
    await screenApi.start();
    const screenUsers = Array.from({ length: MEMBERS }, (_, i) => screenApi!.user({ id: CHAT_BASE + 1 + i, first_name: 'U', language_code: 'fa' }));
    screen = new BotProcess('screen', { BOT_API_ROOT: screenApi.apiRoot, BENCH_SCREEN: JSON.stringify(screenPayload) });
    await screen.next('ready');
    await burst(screenUsers.slice(0, 200), '/menu', homeScreen);
    const screenRounds: number[] = [];
    let screenCpuMs = 0;
    let screenApiMs = 0;
    const echoRounds: number[] = [];
    const clubRounds: number[] = [];
    let wrong = 0;
    // CPU time of each bot process over its bursts: a figure other load on the machine moves far
    // less than updates/s (it still grows somewhat with cache and scheduler contention).
    let echoCpuMs = 0;
    let clubCpuMs = 0;
    let echoSystemMs = 0;
    let clubSystemMs = 0;
    let echoApiMs = 0;
    let clubApiMs = 0;
    // The club's PostgreSQL backends (named after the schema): the server's share of each update.
    // The echo bot's bursts in between leave them idle.
    const serverCpu = driver === 'pg' ? watchBackends(databaseUrl, { column: 'application_name', value: schema }) : null;
    for (let done = 0; done < UPDATES; done += users.length) {
      const n = Math.min(users.length, UPDATES - done);
      const echoRound = await echo.profiled(() => timedBurst(echo, echoUsers.slice(0, n), 'hello', echoed));
      echoRounds.push(echoRound.perSecond);
      echoCpuMs += echoRound.cpuMs;
      echoSystemMs += echoRound.systemMs;
      echoApiMs += echoRound.apiMs;
      const bare = screen;
      const screenRound = await bare.profiled(() => timedBurst(bare, screenUsers.slice(0, n), '/menu', homeScreen));
      screenRounds.push(screenRound.perSecond);
      screenCpuMs += screenRound.cpuMs;
      screenApiMs += screenRound.apiMs;
      const bot = club;
      const round = await bot.profiled(() => timedBurst(bot, users.slice(0, n), '/menu', homeScreen));
      if (round.answered < n) throw new Error(`the club answered ${round.answered} of ${n}`);
      wrong += round.wrong;
      clubRounds.push(round.perSecond);
      clubCpuMs += round.cpuMs;
      clubSystemMs += round.systemMs;
      clubApiMs += round.apiMs;
    }
    // Answers that were not the home screen (e.g. "try again in a minute" when the pool's
    // connection wait ran out): not counted in clubPerSecond.
    out.clubWrongAnswers = wrong;
    out.echoPerSecond = mean(echoRounds);
    out.clubPerSecond = mean(clubRounds);
    out.ratio = Number(((out.clubPerSecond as number) / (out.echoPerSecond as number)).toFixed(2));
    out.screenPerSecond = mean(screenRounds);
    out.screenRatio = Number(((out.clubPerSecond as number) / (out.screenPerSecond as number)).toFixed(2));
    const perUpdate = (ms: number) => Number((ms / UPDATES).toFixed(3));
    out.cpuMsPerUpdate = { echo: perUpdate(echoCpuMs), screen: perUpdate(screenCpuMs), club: perUpdate(clubCpuMs) };
    out.cpuRatio = Number((echoCpuMs / clubCpuMs).toFixed(2));
    // The kernel's part of it (sockets: the Bot API's HTTP, the database's protocol).
    out.systemMsPerUpdate = { echo: Number((echoSystemMs / UPDATES).toFixed(3)), club: Number((clubSystemMs / UPDATES).toFixed(3)) };
    // This process's CPU over each bot's bursts: the fake Bot API and its users, serving that bot.
    out.fakeApiCpuMsPerUpdate = { echo: perUpdate(echoApiMs), screen: perUpdate(screenApiMs), club: perUpdate(clubApiMs) };
    const serverSeconds = serverCpu ? await serverCpu.stop() : null;
    if (serverSeconds !== null) out.serverCpuMsPerUpdate = Number(((serverSeconds * 1000) / UPDATES).toFixed(3));
    out.rounds = { echo: echoRounds, screen: screenRounds, club: clubRounds };
    await screen.stop();
    screen = undefined;

    // Latency at a moderate, steady load.
    const latencies: number[] = [];
    let wrongAtRate = 0;
    const total = LATENCY_RATE * LATENCY_SECONDS;
    const picked = Array.from({ length: total }, (_, i) => users[i % users.length]!);
    for (let start = 0; start < total; start += users.length) {
      const round = picked.slice(start, start + users.length);
      const watch = answers(round, homeScreen);
      const sentAt = new Map<number, number>();
      const t = performance.now();
      for (const [i, u] of round.entries()) {
        const due = t + (i * 1000) / LATENCY_RATE;
        if (due > performance.now()) await sleep(due - performance.now());
        sentAt.set(u.id, performance.now());
        await u.send('/menu');
      }
      await watch.all(30_000);
      for (const [id, at] of watch.firstAnswer) latencies.push(at - sentAt.get(id)!);
      wrongAtRate += watch.wrong.size;
    }
    latencies.sort((a, b) => a - b);
    out.latency = { rate: LATENCY_RATE, answered: latencies.length, wrong: wrongAtRate, of: total, p50ms: Math.round(pct(latencies, 50)), p99ms: Math.round(pct(latencies, 99)) };

    // Memory: strangers open the signup conversation and leave it waiting for their contact.
    const strangers = Array.from({ length: CONVERSATIONS }, (_, i) => api.user({ id: CHAT_BASE + 5_000_000 + i, first_name: 'S', language_code: 'fa' }));
    const before = await club.memory();
    const opened = await burst(strangers, '/start', anyAnswer);
    await sleep(1000);
    const after = await club.memory();
    out.conversations = {
      started: opened.answered - opened.wrong,
      rssBeforeMB: mb(before.rss),
      rssMB: mb(after.rss),
      // The same, read right after the GC (before V8 returned the pages it freed): how it was measured until 2026-11-30.
      rssAtGcMB: mb(after.rssAtGc),
      heapMB: mb(after.heapUsed),
      heapDeltaMB: mb(after.heapUsed - before.heapUsed),
      // Where the RSS is: the V8 heap's reserved pages, memory outside it (Buffers, native), and
      // the RSS split into anonymous (the process's own) and file-backed (node's binary, addons).
      heapTotalMB: mb(after.heapTotal),
      externalMB: mb(after.external),
      rssAnonMB: mb(after.rssAnon),
      rssFileMB: mb(after.rssFile),
      rssByMappingMB: after.byMapping,
      heapSpacesMB: after.heapSpaces,
      note: driver === 'pglite' ? 'the club process alone; the embedded database (WASM) is inside it' : 'the club process alone',
    };
    const clubLogLines = club.logLines;
    await club.stop();
    club = undefined;
    handle ??= await open();
    (out.conversations as Record<string, unknown>).statesStored = await openConversations(handle);

    if (driver === 'pglite') {
      await handle.close();
      handle = undefined;
      const starts: ({ ms: number; cpuMs: number } | null)[] = [];
      // A start that never polls within a minute is reported as null, not fatal to the figures above.
      for (let i = 0; i < STARTS; i++) starts.push(await startUp(dataDir!).catch(() => null));
      out.startUpMs = { toFirstPoll: starts.map((s) => s?.ms ?? null), cpuMs: starts.map((s) => s?.cpuMs ?? null), note: '`node scripts/start.mjs` (npm start; dist/ already built) on the existing data dir (members, 10k conversations), spawn to first getUpdates' };
    }
    out.clubLogLines = clubLogLines;
    out.loadAfter = load();
    return out;
  } finally {
    await club?.stop();
    await screen?.stop();
    await screenApi?.stop();
    await api.stop();
    if (driver === 'pg') {
      handle ??= await open();
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(handle.db).catch(() => undefined);
    }
    await handle?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  // What a merchant's every start after the first finds: dist/ built.
  if (await buildIfStale()) console.error('built dist/ (npm start would have done it at its first start)');
  await bundle({ 'updates-bot': 'scripts/bench/updates-bot.ts' }, BOTS_DIR);
  const results: Record<string, unknown>[] = [];
  // The bare echo bot: the ceiling of grammY + runner + this fake server on this machine; one
  // process for the whole run, its bursts taken in turn with the club's.
  const echoApi = new FakeBotApi({ platform: 'telegram' });
  await echoApi.start();
  const echoUsers = Array.from({ length: MEMBERS }, (_, i) => echoApi.user({ id: CHAT_BASE + 1 + i, first_name: 'E', language_code: 'fa' }));
  const echo = new BotProcess('echo', { BOT_API_ROOT: echoApi.apiRoot });
  try {
    await echo.next('ready');
    for (const driver of DRIVERS) {
      const r = await benchDriver(driver, echo, echoUsers);
      console.log(JSON.stringify({ updates: UPDATES, members: MEMBERS, ...r }));
      results.push(r);
    }
  } finally {
    await echo.stop();
    await echoApi.stop();
  }
}

await main();
process.exit(0);
