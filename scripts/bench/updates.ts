/**
 * `npm run bench:updates`: how many updates a second the club handles against a bare grammY echo
 * bot on the same fake Bot API (real HTTP, long polling through @grammyjs/runner), the latency of
 * the club's answers at a moderate load, and the memory of 10,000 open conversations.
 *
 *   club      members send /menu (the home screen: a member lookup, points and tier, an inline menu)
 *   echo      a Bot with one handler that replies with the text, run by the same runner
 *   latency   /menu at LATENCY_RATE updates/s for LATENCY_SECONDS: p50 / p99 from push to answer
 *   memory    CONVERSATIONS strangers send /start: each waits in the signup conversation
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), a schema of its own, dropped at
 * the end. Knobs: UPDATES (burst size, 5000), MEMBERS (1000), LATENCY_RATE (100),
 * LATENCY_SECONDS (10), CONVERSATIONS (10000).
 */
import { randomBytes } from 'node:crypto';
import { run } from '@grammyjs/runner';
import { Bot } from 'grammy';
import { sql } from 'kysely';
import pino from 'pino';
import { startClub } from '../../src/club.ts';
import { loadConfig } from '../../src/config.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { FakeBotApi, type FakeUser } from '../../test/support/fake-bot-api.ts';

const env = process.env;
const databaseUrl = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const UPDATES = Number(env.UPDATES ?? 5000);
const MEMBERS = Number(env.MEMBERS ?? 1000);
const LATENCY_RATE = Number(env.LATENCY_RATE ?? 100);
const LATENCY_SECONDS = Number(env.LATENCY_SECONDS ?? 10);
const CONVERSATIONS = Number(env.CONVERSATIONS ?? 10_000);
const TOKEN = '123456:BENCH-token-for-the-fake-bot-api';
const CHAT_BASE = 8_800_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** Resolves when every user in `users` has `count` more messages from the bot than now; records each first answer's time. */
function answers(users: FakeUser[]) {
  const firstAnswer = new Map<number, number>();
  const before = new Map(users.map((u) => [u.id, u.messages.length]));
  for (const u of users) {
    const changed = u.changed.bind(u);
    u.changed = (m) => {
      if (!firstAnswer.has(u.id) && u.messages.length > before.get(u.id)!) firstAnswer.set(u.id, performance.now());
      changed(m);
    };
  }
  return {
    firstAnswer,
    async all(timeoutMs: number) {
      const deadline = performance.now() + timeoutMs;
      while (firstAnswer.size < users.length && performance.now() < deadline) await sleep(5);
      return firstAnswer.size;
    },
  };
}

/** Pushes one update per user as fast as the fake server takes them; returns updates/s to the last answer. */
async function burst(api: FakeBotApi, users: FakeUser[], text: string) {
  const watch = answers(users);
  const t0 = performance.now();
  for (const u of users) await u.send(text);
  const answered = await watch.all(120_000);
  const last = Math.max(...watch.firstAnswer.values());
  return { answered, perSecond: Math.round(answered / ((last - t0) / 1000)) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

async function main() {
  const schema = `bench_up_${randomBytes(4).toString('hex')}`;
  const handle = await createDatabase({ databaseUrl, schema, poolSize: 10 });
  const results: Record<string, unknown> = { driver: 'pg', updates: UPDATES, members: MEMBERS };
  try {
    await migrateToLatest(handle);
    await sql`
      insert into members (phone, first_name, referral_code, tier_id, locale, joined_at, last_active_at)
      select '+98914' || lpad(g::text, 7, '0'), 'U' || g, 'UP' || g, (select id from tiers order by rank limit 1), 'fa', now(), now()
      from generate_series(1, ${MEMBERS}::int) g`.execute(handle.db);
    await sql`insert into member_accounts (platform, user_id, member_id, chat_id, created_at) select 'telegram', ${CHAT_BASE}::int8 + id, id, ${CHAT_BASE}::int8 + id, now() from members`.execute(handle.db);
    await sql`analyze members; analyze member_accounts`.execute(handle.db);
    const ids = (await handle.db.selectFrom('member_accounts').select('chat_id').orderBy('chat_id').execute()).map((a) => a.chat_id);

    // --- the bare echo bot: the ceiling of grammY + runner + this fake server on this machine.
    {
      const api = new FakeBotApi({ platform: 'telegram' });
      await api.start();
      const users = ids.map((id) => api.user({ id, first_name: 'E', language_code: 'fa' }));
      const bot = new Bot(TOKEN, { client: { apiRoot: api.apiRoot } });
      await bot.init();
      bot.on('message:text', (ctx) => ctx.reply(ctx.message.text));
      const runner = run(bot);
      const rounds: number[] = [];
      for (let done = 0; done < UPDATES; done += users.length) rounds.push((await burst(api, users.slice(0, Math.min(users.length, UPDATES - done)), 'hello')).perSecond);
      results.echoPerSecond = Math.round(rounds.reduce((a, b) => a + b, 0) / rounds.length);
      await runner.stop();
      await api.stop();
    }

    // --- the club: the same number of updates, /menu from members.
    const api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_bench_bot' });
    await api.start();
    const users = ids.map((id) => api.user({ id, first_name: 'U', language_code: 'fa' }));
    const config = loadConfig({ BOT_TOKEN: TOKEN, BOT_API_ROOT: api.apiRoot, LOG_LEVEL: 'warn' });
    const club = await startClub({ config, logger: pino({ level: 'warn' }), database: handle, scheduler: false });
    try {
      await burst(api, users.slice(0, 200), '/menu'); // warm-up
      const rounds: number[] = [];
      for (let done = 0; done < UPDATES; done += users.length) rounds.push((await burst(api, users.slice(0, Math.min(users.length, UPDATES - done)), '/menu')).perSecond);
      results.clubPerSecond = Math.round(rounds.reduce((a, b) => a + b, 0) / rounds.length);
      results.ratio = Number(((results.clubPerSecond as number) / (results.echoPerSecond as number)).toFixed(2));

      // Latency at a moderate, steady load.
      const latencies: number[] = [];
      const total = LATENCY_RATE * LATENCY_SECONDS;
      const picked = Array.from({ length: total }, (_, i) => users[i % users.length]!);
      for (let start = 0; start < total; start += users.length) {
        const round = picked.slice(start, start + users.length);
        const watch = answers(round);
        const sentAt = new Map<number, number>();
        const t0 = performance.now();
        for (const [i, u] of round.entries()) {
          const due = t0 + (i * 1000) / LATENCY_RATE;
          if (due > performance.now()) await sleep(due - performance.now());
          sentAt.set(u.id, performance.now());
          await u.send('/menu');
        }
        await watch.all(30_000);
        for (const [id, at] of watch.firstAnswer) latencies.push(at - sentAt.get(id)!);
      }
      latencies.sort((a, b) => a - b);
      results.latency = { rate: LATENCY_RATE, answered: latencies.length, of: total, p50ms: Math.round(pct(latencies, 50)), p99ms: Math.round(pct(latencies, 99)) };

      // Memory: strangers open the signup conversation and leave it waiting for their contact.
      global.gc?.();
      const strangers = Array.from({ length: CONVERSATIONS }, (_, i) => api.user({ id: CHAT_BASE + 5_000_000 + i, first_name: 'S', language_code: 'fa' }));
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      const heapBefore = process.memoryUsage().heapUsed;
      const opened = await burst(api, strangers, '/start');
      await sleep(1000);
      global.gc?.();
      const open = await handle.db.selectFrom('conversation_state').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      const mem = process.memoryUsage();
      results.conversations = {
        started: opened.answered,
        statesInPostgres: open.n,
        rssMB: mb(mem.rss),
        rssDeltaMB: mb(mem.rss - rssBefore),
        heapDeltaMB: mb(mem.heapUsed - heapBefore),
        note: 'one process: the fake Bot API and its 10k users share this RSS',
      };
    } finally {
      await club.stop();
      await api.stop();
    }
  } finally {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(handle.db).catch(() => undefined);
    await handle.close();
  }
  console.log(JSON.stringify(results));
}

await main();
process.exit(0);
