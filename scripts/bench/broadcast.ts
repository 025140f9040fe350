/**
 * npm run bench:broadcast
 *
 * Campaign delivery through the real BroadcastDispatcher, in a child club process (started with
 * startClub as production does) against the fake Bot API served by this process, on PostgreSQL
 * (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test), each run in its own schema that
 * is dropped at the end.
 *
 *   A     MEMBERS (100,000) recipients, the fake API unlimited, BROADCAST_RATE=RATE (2000/s): the
 *         dispatcher's own ceiling, duplicates, losses, the child's peak RSS.
 *   B     B_MEMBERS (3,000) at B_RATE (30/s) against a fake API that allows B_LIMIT (30) a second:
 *         achieved / configured (target >= 0.97), 429s, duplicates.
 *   kill  KILL_MEMBERS (20,000) at KILL_RATE (1000/s); the child is SIGKILLed in the middle of a
 *         claimed batch once about KILL_AT (0.4) of them are delivered, and a new child is started on
 *         the real clock: it must take over by itself (the dead holder's dispatch lease runs out) and
 *         finish. Duplicates must be 0, lost rows at most one claimed batch, and nobody may be left
 *         without a message unless their row is 'lost'. KILL_SHIFT_S=150 runs the new child with its
 *         clock that far ahead, for a dispatcher that judges dead claims by the age of claimed_at.
 *
 *   RUNS=a,b,kill (default all)   e.g. RUNS=kill MEMBERS=... for a quick look.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { campaignProgress, createCampaign, startCampaign, type Progress } from '../../src/club/campaigns.ts';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { OutboxStatus } from '../../src/db/schema.ts';
import { FakeBotApi } from '../../test/support/fake-bot-api.ts';

const env = process.env;
const num = (name: string, fallback: number) => {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${v}"`);
  return n;
};
const databaseUrl = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const runs = new Set((env.RUNS ?? 'a,b,kill').split(',').map((s) => s.trim().toLowerCase()));
const A = { members: num('MEMBERS', 100_000), rate: num('RATE', 2000) };
const B = { members: num('B_MEMBERS', 3000), rate: num('B_RATE', 30), limit: num('B_LIMIT', 30) };
const KILL = {
  members: num('KILL_MEMBERS', 20_000),
  rate: num('KILL_RATE', 1000),
  at: num('KILL_AT', 0.4),
  shiftMs: Number(env.KILL_SHIFT_S ?? 0) * 1000,
};
const workerPath = fileURLToPath(new URL('./broadcast-worker.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CHAT_BASE = 8_000_000_000;

// ---------------------------------------------------------------------------------------------
// A schema with N members, each with a Telegram account and a chat in the fake API

interface Setup {
  handle: DatabaseHandle;
  schema: string;
  api: FakeBotApi;
  campaignId: number;
  recipients: number;
  marker: string;
  seedSeconds: number;
}

async function setup(label: string, members: number, api: FakeBotApi): Promise<Setup> {
  const schema = `bench_bc_${randomBytes(4).toString('hex')}`;
  const handle = await createDatabase({ databaseUrl, schema, poolSize: 4 });
  const { db } = handle;
  const t = performance.now();
  await migrateToLatest(handle);
  await sql`
    insert into members (phone, first_name, referral_code, tier_id, locale, joined_at, last_active_at)
    select '+98913' || lpad(g::text, 7, '0'), 'M' || g, 'BC' || g, (select id from tiers order by rank limit 1),
           case when g % 2 = 0 then 'fa' else 'en' end, ${new Date()}, ${new Date()}
    from generate_series(1, ${members}::int) g`.execute(db);
  await sql`
    insert into member_accounts (platform, user_id, member_id, chat_id, created_at)
    select 'telegram', ${CHAT_BASE}::int8 + id, id, ${CHAT_BASE}::int8 + id, ${new Date()} from members`.execute(db);
  await sql`analyze members; analyze member_accounts`.execute(db);
  const accounts = await db.selectFrom('member_accounts').select(['chat_id', 'member_id']).execute();
  for (const a of accounts) api.user({ id: a.chat_id, first_name: `M${a.member_id}` });
  const owner = await db.selectFrom('members').select('id').orderBy('id').executeTakeFirstOrThrow();
  const marker = `Bench ${label} ${randomBytes(3).toString('hex')}`;
  const campaign = await createCampaign(db, owner.id, { segmentId: null, text: `${marker} {name}: 20% off this week`, photoFileId: null, button: { kind: 'card' } }, new Date());
  const recipients = (await startCampaign(db, campaign.id, new Date())) ?? 0;
  return { handle, schema, api, campaignId: campaign.id, recipients, marker, seedSeconds: (performance.now() - t) / 1000 };
}

async function teardown(s: Setup | undefined) {
  if (!s) return;
  await sql`drop schema if exists ${sql.id(s.schema)} cascade`.execute(s.handle.db).catch((e: unknown) => console.error('drop schema failed', e));
  await s.handle.close();
}

// ---------------------------------------------------------------------------------------------
// The child club process

interface Worker {
  child: ChildProcess;
  started: Promise<void>;
  done: Promise<WorkerDone>;
  exited: Promise<number | null>;
}
interface WorkerDone {
  status: string;
  progress: Progress;
  cpuSeconds: number;
  peakRssMB: number;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const c of live) c.kill('SIGKILL');
    process.exit(130);
  });
}

function startWorker(s: Setup, rate: number, nowShiftMs = 0): Worker {
  // node --import tsx, not the tsx CLI: the CLI runs the script in a grandchild that a SIGKILL to
  // the CLI would leave running.
  const child = spawn(process.execPath, ['--import', 'tsx', workerPath], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...env,
      DATABASE_URL: databaseUrl,
      BENCH_SCHEMA: s.schema,
      BOT_API_ROOT: s.api.apiRoot,
      BENCH_RATE: String(rate),
      BENCH_CAMPAIGN: String(s.campaignId),
      BENCH_NOW_SHIFT_MS: String(nowShiftMs),
    },
  });
  live.add(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    live.delete(child);
    resolve(code);
  }));
  let onStarted!: () => void;
  let onDone!: (d: WorkerDone) => void;
  const started = new Promise<void>((r) => (onStarted = r));
  const done = new Promise<WorkerDone>((resolve, reject) => {
    onDone = resolve;
    void exited.then((code) => reject(new Error(`worker exited (${code ?? 'signal'}) before finishing`)));
  });
  done.catch(() => undefined);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let msg: { event?: string } & Partial<WorkerDone>;
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      process.stderr.write(`[worker] ${line}\n`);
      return;
    }
    if (msg.event === 'started') onStarted();
    if (msg.event === 'done') onDone(msg as WorkerDone);
  });
  return { child, started, done, exited };
}

// ---------------------------------------------------------------------------------------------
// Watching the fake API: api.version grows by one per message stored (no edits in these runs)

class Meter {
  private readonly samples: { t: number; v: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  readonly base: number;

  /** When each send request reached the fake API (before its rate check). */
  readonly arrivals: number[] = [];

  constructor(private readonly api: FakeBotApi) {
    this.base = api.version;
    this.timer = setInterval(() => this.sample(), 20);
    this.sample();
    // The fake API records every request in `calls` as it arrives: note the time too.
    const calls = api.calls;
    const push = calls.push.bind(calls);
    calls.push = (...items) => {
      for (const c of items) {
        if (c.method !== 'sendMessage') continue;
        this.arrivals.push(performance.now());
        this.sends.push({ call: c, at: performance.now() });
      }
      return push(...items);
    };
  }

  private readonly sends: { call: FakeBotApi['calls'][number]; at: number }[] = [];

  /**
   * The first 429 of each throttled spell, as (a) how long the window held the 30 or so requests
   * accepted just before it, and (b) the shortest gap between two of those requests: a paced lane
   * at the limit should never put limit+1 requests inside one second.
   */
  throttleSpells(limit: number) {
    const spells: { spanMs: number; minGapMs: number }[] = [];
    const ok: number[] = [];
    let inSpell = false;
    for (const { call, at } of this.sends) {
      if (call.status === 429) {
        if (!inSpell && ok.length >= limit) {
          const last = ok.slice(-limit);
          const gaps = last.slice(1).map((t, i) => t - last[i]!);
          spells.push({ spanMs: at - last[0]!, minGapMs: Math.min(...gaps) });
        }
        inSpell = true;
      } else {
        inSpell = false;
        ok.push(at);
      }
    }
    return spells;
  }

  /** Pauses between two send requests longer than `minMs`: how many, and the time they took. */
  stalls(minMs: number) {
    let count = 0;
    let ms = 0;
    for (let i = 1; i < this.arrivals.length; i++) {
      const gap = this.arrivals[i]! - this.arrivals[i - 1]!;
      if (gap > minMs) {
        count++;
        ms += gap;
      }
    }
    return { count, seconds: ms / 1000 };
  }

  /** The most send requests that reached the API within any one second (what a limit sees). */
  busiestSecond() {
    const a = this.arrivals;
    let best = 0;
    for (let i = 0, j = 0; j < a.length; j++) {
      while (a[j]! - a[i]! >= 1000) i++;
      best = Math.max(best, j - i + 1);
    }
    return best;
  }

  get delivered() {
    return this.api.version - this.base;
  }

  private sample() {
    this.samples.push({ t: performance.now(), v: this.api.version - this.base });
  }

  stop() {
    clearInterval(this.timer);
    this.sample();
  }

  /** From the first message to the last: messages/s, and the slowest and median whole second. */
  summary() {
    const s = this.samples;
    const total = s.at(-1)!.v;
    const firstIdx = s.findIndex((x) => x.v > 0);
    if (firstIdx < 0) return { seconds: 0, perSecond: 0, minSecond: 0, medianSecond: 0 };
    const t0 = s[Math.max(0, firstIdx - 1)]!.t;
    const t1 = s.find((x) => x.v === total)!.t;
    const seconds = (t1 - t0) / 1000;
    const perSecond = total > 1 ? (total - 1) / seconds : total;
    const windows: number[] = [];
    let j = Math.max(0, firstIdx - 1);
    for (let from = t0; from + 1000 <= t1; from += 1000) {
      while (j < s.length - 1 && s[j]!.t < from) j++;
      let k = j;
      while (k < s.length - 1 && s[k]!.t < from + 1000) k++;
      windows.push(((s[k]!.v - s[j]!.v) * 1000) / (s[k]!.t - s[j]!.t));
    }
    windows.sort((a, b) => a - b);
    return {
      seconds,
      perSecond,
      minSecond: windows[0] ?? perSecond,
      medianSecond: windows[Math.floor(windows.length / 2)] ?? perSecond,
    };
  }
}

async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// ---------------------------------------------------------------------------------------------
// What each chat got, against what the outbox says

async function audit(s: Setup) {
  const got = new Map<number, number>();
  let throttled = 0;
  let otherErrors = 0;
  for (const c of s.api.calls) {
    if (c.method !== 'sendMessage' || !String(c.params.text ?? '').startsWith(s.marker)) continue;
    if (c.status === 200) got.set(Number(c.params.chat_id), (got.get(Number(c.params.chat_id)) ?? 0) + 1);
    else if (c.status === 429) throttled++;
    else otherErrors++;
  }
  const rows = await s.handle.db.selectFrom('campaign_outbox').select(['chat_id', 'status']).where('campaign_id', '=', s.campaignId).execute();
  const status = new Map(rows.map((r) => [r.chat_id, r.status] as const));
  let duplicates = 0;
  let extraMessages = 0;
  let strangers = 0;
  for (const [chat, n] of got) {
    if (n > 1) {
      duplicates++;
      extraMessages += n - 1;
    }
    if (!status.has(chat)) strangers++;
  }
  const nothingBy: Partial<Record<OutboxStatus, number>> = {};
  let deliveredButLost = 0;
  let sentWithoutMessage = 0;
  for (const [chat, st] of status) {
    const n = got.get(chat) ?? 0;
    if (n === 0) nothingBy[st] = (nothingBy[st] ?? 0) + 1;
    if (n === 0 && st === 'sent') sentWithoutMessage++;
    if (n > 0 && st === 'lost') deliveredButLost++;
  }
  const nothing = Object.values(nothingBy).reduce((a, b) => a + b, 0);
  return {
    delivered: [...got.values()].reduce((a, b) => a + b, 0),
    throttled,
    otherErrors,
    duplicates,
    extraMessages,
    strangers,
    nothing,
    nothingBy,
    nothingNotLost: nothing - (nothingBy.lost ?? 0),
    sentWithoutMessage,
    deliveredButLost,
    progress: await campaignProgress(s.handle.db, s.campaignId),
    campaignStatus: (await s.handle.db.selectFrom('campaigns').select('status').where('id', '=', s.campaignId).executeTakeFirstOrThrow()).status,
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const results: { name: string; rows: [string, string][]; ok: boolean }[] = [];

/** A gap in sending worth naming: 3 intervals, and never under 10 ms (timer noise). */
const stallMs = (rate: number) => Math.max(10, Math.round(3000 / rate));

// ---------------------------------------------------------------------------------------------
// Runs A and B: one child delivers the whole campaign

async function paced(name: string, members: number, rate: number, limit: number, target: number | null) {
  const api = new FakeBotApi({ platform: 'telegram', ...(Number.isFinite(limit) ? { rateLimitPerSecond: limit } : {}), retryAfter: 1 });
  await api.start();
  let s: Setup | undefined;
  try {
    console.log(`\n[${name}] seeding ${fmt(members)} members...`);
    s = await setup(name, members, api);
    console.log(`[${name}] ${fmt(s.recipients)} recipients in ${s.seedSeconds.toFixed(1)} s; sending at ${fmt(rate)}/s (fake API limit ${Number.isFinite(limit) ? `${fmt(limit)}/s` : 'none'})...`);
    // Other work on the machine (another benchmark, a test run) slows the child: note it.
    const load0 = loadavg()[0]!.toFixed(2);
    const meter = new Meter(api);
    const wall = performance.now();
    const worker = startWorker(s, rate);
    const done = await worker.done;
    await worker.exited;
    meter.stop();
    const wallSeconds = (performance.now() - wall) / 1000;
    const m = meter.summary();
    const a = await audit(s);
    const ratio = m.perSecond / rate;
    const ok = a.duplicates === 0 && a.nothing === 0 && a.campaignStatus === 'done' && (target === null || ratio >= target);
    results.push({
      name,
      ok,
      rows: [
        ['recipients', fmt(s.recipients)],
        ['configured rate /s', fmt(rate)],
        ['fake API limit /s', Number.isFinite(limit) ? fmt(limit) : 'none'],
        ['delivered', fmt(a.delivered)],
        ['first..last message s', m.seconds.toFixed(1)],
        ['achieved msgs/s', fmt(m.perSecond, 1)],
        ['achieved / configured', `${ratio.toFixed(3)}${target === null ? '' : ` (target >= ${target})`}`],
        ['slowest / median 1-s window', `${fmt(m.minSecond)} / ${fmt(m.medianSecond)}`],
        ['most requests in any 1 s', fmt(meter.busiestSecond())],
        [`stalls > ${stallMs(rate)} ms between sends`, (() => {
          const st = meter.stalls(stallMs(rate));
          return `${fmt(st.count)}, ${st.seconds.toFixed(1)} s in all`;
        })()],
        ['429 answers', fmt(a.throttled)],
        ['other API errors', fmt(a.otherErrors)],
        ['duplicates (chats, extra msgs)', `${a.duplicates}, ${a.extraMessages}`],
        ['losses (no message)', `${a.nothing} ${JSON.stringify(a.nothingBy)}`],
        ['outbox', JSON.stringify(a.progress)],
        ['campaign status', a.campaignStatus],
        ['child wall s (start..exit)', wallSeconds.toFixed(1)],
        ['child CPU s', String(done.cpuSeconds)],
        ['child peak RSS MB', String(done.peakRssMB)],
        ['bench (fake API) peak RSS MB', String(Math.round(process.resourceUsage().maxRSS / 1024))],
        ['load average 1 min, before / after', `${load0} / ${loadavg()[0]!.toFixed(2)}`],
      ],
    });
    console.log(`[${name}] ${fmt(a.delivered)} delivered at ${fmt(m.perSecond, 1)}/s`);
    if (Number.isFinite(limit) && a.throttled) {
      const spells = meter.throttleSpells(limit);
      const spans = spells.map((x) => x.spanMs).sort((p, q) => p - q);
      const gaps = spells.map((x) => x.minGapMs).sort((p, q) => p - q);
      const med = (v: number[]) => v[Math.floor(v.length / 2)] ?? NaN;
      results.at(-1)!.rows.push([
        '429 spells: last limit sends span',
        `${spells.length} spells; ${fmt(spans[0] ?? NaN)}..${fmt(spans.at(-1) ?? NaN)} ms (median ${fmt(med(spans))}); shortest gap median ${fmt(med(gaps), 1)} ms`,
      ]);
    }
  } finally {
    await teardown(s);
    await api.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// kill -9 midway, then a new process

async function killRun() {
  const name = 'kill -9';
  const api = new FakeBotApi({ platform: 'telegram' });
  await api.start();
  let s: Setup | undefined;
  try {
    console.log(`\n[${name}] seeding ${fmt(KILL.members)} members...`);
    s = await setup('kill', KILL.members, api);
    const load0 = loadavg()[0]!.toFixed(2);
    const meter = new Meter(api);
    const first = startWorker(s, KILL.rate);
    // In the middle of a claimed batch, not at its edge (where almost nothing is in flight).
    const batch = Math.min(500, Math.ceil(KILL.rate));
    const killAt = Math.floor((s.recipients * KILL.at) / batch) * batch + Math.floor(batch / 2);
    console.log(`[${name}] ${fmt(s.recipients)} recipients at ${fmt(KILL.rate)}/s; SIGKILL after ${fmt(killAt)} messages...`);
    await Promise.race([waitUntil(() => meter.delivered >= killAt, 10 * 60_000, 'the kill point'), first.done]);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = meter.delivered;
    // Requests the dead process had already written may still be answered by the server.
    await sleep(300);
    const afterKill = meter.delivered;
    const snapshot = await campaignProgress(s.handle.db, s.campaignId);
    console.log(`[${name}] killed at ${fmt(atKill)} delivered (${fmt(afterKill)} after the dust settled); outbox ${JSON.stringify(snapshot)}`);

    const restart = performance.now();
    const arrivalsBefore = meter.arrivals.length;
    const second = startWorker(s, KILL.rate, KILL.shiftMs);
    const done = await second.done;
    await second.exited;
    meter.stop();
    const restartSeconds = (performance.now() - restart) / 1000;
    const a = await audit(s);
    const ok = a.duplicates === 0 && a.nothingNotLost === 0 && a.sentWithoutMessage === 0 && a.campaignStatus === 'done' && a.progress.lost <= batch;
    results.push({
      name,
      ok,
      rows: [
        ['recipients', fmt(s.recipients)],
        ['configured rate /s', fmt(KILL.rate)],
        ['delivered when killed', fmt(atKill)],
        ['outbox at kill', JSON.stringify(snapshot)],
        ['new child clock', KILL.shiftMs ? `+${KILL.shiftMs / 1000} s` : 'real'],
        ['restart..first new send s', (() => {
          const at = meter.arrivals[arrivalsBefore];
          return at === undefined ? 'none' : ((at - restart) / 1000).toFixed(1);
        })()],
        ['restart..done s', restartSeconds.toFixed(1)],
        ['campaign status', a.campaignStatus],
        ['delivered (total)', fmt(a.delivered)],
        ['duplicates (chats, extra msgs)', `${a.duplicates}, ${a.extraMessages}`],
        ['rows marked lost', `${fmt(a.progress.lost)} (one claimed batch = ${batch})`],
        ['  of which delivered anyway', fmt(a.deliveredButLost)],
        ['got nothing, not lost', `${a.nothingNotLost} ${JSON.stringify(a.nothingBy)}`],
        ["'sent' without a message", String(a.sentWithoutMessage)],
        ['outbox', JSON.stringify(a.progress)],
        ['second child peak RSS MB', String(done.peakRssMB)],
        ['load average 1 min, before / after', `${load0} / ${loadavg()[0]!.toFixed(2)}`],
      ],
    });
  } finally {
    await teardown(s);
    await api.stop();
  }
}

// ---------------------------------------------------------------------------------------------

const t0 = performance.now();
console.log(`bench:broadcast on ${databaseUrl.replace(/\/\/[^@]*@/, '//…@')}, runs: ${[...runs].join(', ')}`);
if (runs.has('a')) await paced('A: ceiling', A.members, A.rate, Infinity, null);
if (runs.has('b')) await paced('B: paced', B.members, B.rate, B.limit, 0.97);
if (runs.has('kill')) await killRun();

for (const r of results) {
  const width = Math.max(...r.rows.map(([k]) => k.length));
  console.log(`\n${r.name}  ${r.ok ? 'OK' : 'FAILED'}`);
  for (const [k, v] of r.rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(0)} s`);
if (results.some((r) => !r.ok)) process.exitCode = 1;
