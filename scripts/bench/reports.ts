/**
 * npm run bench:reports [-- --members 1000000 --runs 3 --keep --schema bench_xxxx --ledger-rows 10000000]
 *
 * Milliseconds per report (the SQL behind /report, over this Jalali year and this month) on a
 * generated club in PostgreSQL (DATABASE_URL, default the local test database): members, accounts
 * and purchases as `bench:segments` makes them, plus a ledger (the signup bonus, one lot per
 * purchase, reversals of voided ones, spending, conversions to credit, expiries). A schema kept by
 * `bench:segments -- --keep` can be reused with --schema: its ledger is filled in if empty. A --schema
 * that does not hold a generated club yet is generated into (keep it with --keep).
 * Target: every report under 2 s at 1,000,000 members.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { refreshMemberActivity } from '../../src/club/analytics/activity.ts';
import { cohortReport } from '../../src/club/analytics/cohorts.ts';
import { loyaltyReport } from '../../src/club/analytics/loyalty.ts';
import { membersReport } from '../../src/club/analytics/members.ts';
import { periodFor } from '../../src/club/analytics/period.ts';
import { rfmReport } from '../../src/club/analytics/rfm.ts';
import { salesReport } from '../../src/club/analytics/sales.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    schema: { type: 'string' },
    // Top the ledger up with further passes of the generator (another round of earning, spending,
    // conversions and expiries on the same purchases) until it has at least this many rows.
    'ledger-rows': { type: 'string', default: '0' },
  },
});
const memberCount = Number(values.members);
const runs = Number(values.runs);
const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const schema = values.schema ?? `bench_${randomBytes(4).toString('hex')}`;
const TZ = 'Asia/Tehran';
const TARGET_MS = 2000;

const log = (message: string) => console.error(`[bench:reports] ${message}`);
const handle = await createDatabase({ databaseUrl: url, schema, poolSize: 4 });
const { db } = handle;

/** The club of bench:segments (same shape and seed), in batches with a VACUUM after each. */
async function generateMembers(now: Date) {
  const batch = 50_000;
  await db.connection().execute(async (conn) => {
    await sql`select setseed(0.42)`.execute(conn);
    await sql`insert into branches (name, created_at) select 'Bench branch ' || g, ${now} from generate_series(2, 6) g`.execute(conn);
    const started = performance.now();
    for (let first = 1; first <= memberCount; first += batch) {
      const last = Math.min(memberCount, first + batch - 1);
      await sql`
        insert into members (id, phone, first_name, referral_code, tier_id, points_balance, marketing_opt_in,
          birth_date, gender, city, joined_at, last_active_at)
        select g, '+98912' || lpad(g::text, 7, '0'), 'Bench', 'B' || g,
          (select id from tiers where rank = case when r1 < 0.60 then 1 when r1 < 0.85 then 2 when r1 < 0.96 then 3 else 4 end),
          (random() ^ 2 * 20000)::bigint, random() < 0.9,
          case when random() < 0.85 then date '1960-01-01' + (random() * 16000)::int end,
          case when r2 < 0.40 then 'female' when r2 < 0.75 then 'male' end,
          case when random() < 0.5 then (array['Tehran', 'Shiraz', 'Isfahan', 'Mashhad', 'Tabriz', 'Karaj', 'Qom', 'Ahvaz'])[1 + (random() * 7)::int] end,
          joined, joined
        from (select g, random() as r1, random() as r2, ${now}::timestamptz - random() * interval '1095 days' as joined
              from generate_series(${first}::bigint, ${last}::bigint) g) s`.execute(conn);
      await sql`
        insert into member_accounts (platform, user_id, member_id, chat_id, blocked, created_at)
        select case when random() < 0.65 then 'telegram' else 'bale' end, 10000000 + id, id, 10000000 + id, random() < 0.05, joined_at
        from members where id between ${first} and ${last}`.execute(conn);
      await sql`
        insert into purchases (member_id, branch_id, cashier_member_id, amount_rials, idempotency_key, status, points_earned, created_at)
        select m.id, 1 + (random() * 5)::int, 1, a, 'bench:' || m.id || ':' || n,
          case when random() < 0.03 then 'voided' else 'recorded' end, a / 10000,
          m.joined_at + random() * (${now}::timestamptz - m.joined_at)
        from (select id, joined_at, case when random() < 0.35 then 0 else 1 + floor(random() ^ 2 * 10)::int end as k
              from members where id between ${first} and ${last}) m
        cross join lateral generate_series(1, m.k) n
        cross join lateral (select 100000 + (random() * 5000000)::bigint as a) x`.execute(conn);
      await sql`vacuum members`.execute(conn);
      process.stderr.write(`\r[bench:reports] members: ${last}, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    process.stderr.write('\n');
    await sql`select setval(pg_get_serial_sequence('members', 'id'), ${memberCount})`.execute(conn);
    await sql`insert into club_settings (key, value, updated_at) values ('bench', ${JSON.stringify({ now: now.toISOString() })}::jsonb, ${now})`.execute(conn);
  });
}

/** Ledger rows for the club's members and purchases (bench:segments makes none). */
async function generateLedger(now: Date) {
  const started = performance.now();
  const { rows } = await sql<{ lo: number; hi: number }>`select min(id) as lo, max(id) as hi from members`.execute(db);
  const { lo, hi } = rows[0]!;
  const batch = 100_000;
  for (let first = lo; first <= hi; first += batch) {
    const last = first + batch - 1;
    await sql`
      insert into ledger_entries (member_id, currency, amount, kind, reason, expires_at, branch_id, created_at)
      select id, 'points', 50, 'earn', 'signup', joined_at + interval '365 days', null, joined_at from members where id between ${first} and ${last}
      union all
      select member_id, 'points', greatest(1, amount_rials / 10000), 'earn', 'purchase', created_at + interval '365 days', branch_id, created_at
      from purchases where member_id between ${first} and ${last}
      union all
      select member_id, 'points', -greatest(1, amount_rials / 10000), 'earn_reversal', 'void', null, branch_id, created_at + interval '1 hour'
      from purchases where member_id between ${first} and ${last} and status = 'voided'
      union all
      select member_id, 'points', -(10 + (random() * 200)::int), 'spend', 'purchase', null, branch_id, least(${now}::timestamptz, created_at + interval '3 days')
      from purchases where member_id between ${first} and ${last} and random() < 0.3
      union all
      select member_id, c, case when c = 'points' then -100 else 100000 end, 'convert', 'convert', null, null, least(${now}::timestamptz, created_at + interval '5 days')
      from purchases cross join (values ('points'), ('credit')) v(c) where member_id between ${first} and ${last} and random() < 0.1
      union all
      select id, 'points', -(1 + (random() * 40)::int), 'expire', 'expiry', null, null, joined_at + interval '365 days'
      from members where id between ${first} and ${last} and joined_at + interval '365 days' < ${now} and random() < 0.4`.execute(db);
    process.stderr.write(`\r[bench:reports] ledger: members to ${Math.min(last, hi)}, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  process.stderr.write('\n');
}

async function step(name: string, run: () => Promise<unknown>) {
  const t = performance.now();
  await run();
  log(`${name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

try {
  // A kept schema gets the migrations it lacks too (the report summaries are backfilled there).
  // A named schema is reused when it holds a generated club, and generated into when it does not.
  const { rows: generated } = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = ${schema} and table_name = 'club_settings'`.execute(db);
  const reuse = generated[0]!.n > 0 && (await sql<{ n: number }>`select count(*)::int as n from club_settings where key = 'bench'`.execute(db)).rows[0]!.n > 0;
  await step('migrations', () => migrateToLatest(handle));
  if (!reuse) await step('members, accounts, purchases', () => generateMembers(new Date()));
  const stored = await db.selectFrom('club_settings').select('value').where('key', '=', 'bench').executeTakeFirstOrThrow();
  const now = new Date((stored.value as { now: string }).now);
  const { rows: hasLedger } = await sql<{ n: number }>`select count(*) as n from (select 1 from ledger_entries limit 1) l`.execute(db);
  if (hasLedger[0]!.n === 0) {
    await step('ledger', () => generateLedger(now));
    await step('vacuum analyze', async () => {
      for (const table of ['members', 'member_accounts', 'purchases', 'ledger_entries', 'report_sales', 'report_ledger', 'report_member_counts']) {
        await sql`vacuum analyze ${sql.table(table)}`.execute(db);
      }
    });
  }
  for (let pass = 2; ; pass++) {
    const { rows: n } = await sql<{ n: string }>`select count(*) as n from ledger_entries`.execute(db);
    if (Number(n[0]!.n) >= Number(values['ledger-rows'])) break;
    await step(`ledger, pass ${pass}`, () => generateLedger(now));
    await step('vacuum analyze', async () => {
      for (const table of ['ledger_entries', 'report_ledger']) await sql`vacuum analyze ${sql.table(table)}`.execute(db);
    });
  }
  // What the scheduler does at start: the months over go into the per-member activity rollup.
  await step('activity rollup', async () => {
    const r = await refreshMemberActivity(db, now, TZ);
    log(`activity rollup: ${r.built.length} months built${r.rezoned ? ' (rezoned)' : ''}`);
  });
  const { rows: sizes } = await sql<{ members: number; purchases: number; ledger: number }>`
    select (select count(*) from members) as members, (select count(*) from purchases) as purchases,
      (select count(*) from ledger_entries) as ledger`.execute(db);
  const club = sizes[0]!;
  log(`club: ${JSON.stringify(club)}`);

  const results: { label: string; median: number; max: number }[] = [];
  for (const periodKey of ['year', 'month'] as const) {
    const scope = { period: periodFor(periodKey, now, TZ), branchId: null };
    const reports: [string, () => Promise<unknown>][] = [
      ['sales', () => salesReport(db, scope)],
      ['members', () => membersReport(db, scope, now)],
      ['loyalty', () => loyaltyReport(db, scope, 1000)],
      ['rfm', () => rfmReport(db, now)],
      ['cohorts', () => cohortReport(db, scope)],
      ['sales, one branch', () => salesReport(db, { ...scope, branchId: 2 })],
    ];
    for (const [name, run] of reports) {
      if (periodKey === 'month' && name === 'rfm') continue; // RFM looks at all history, not the period
      await run(); // warm-up
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await run();
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      results.push({ label: `${name} (${periodKey === 'year' ? 'this Jalali year' : 'this Jalali month'})`, median: times[Math.floor(times.length / 2)]!, max: times.at(-1)! });
      log(`${results.at(-1)!.label}: ${results.at(-1)!.median.toFixed(0)} ms`);
    }
  }
  console.log(`\n${club.members.toLocaleString('en')} members, ${club.purchases.toLocaleString('en')} purchases, ${club.ledger.toLocaleString('en')} ledger rows; ${runs} runs each after one warm-up\n`);
  console.log('| report | median ms | max ms |');
  console.log('|---|---:|---:|');
  for (const r of results) console.log(`| ${r.label} | ${r.median.toFixed(0)} | ${r.max.toFixed(0)} |`);
  const slow = results.filter((r) => r.max >= TARGET_MS);
  if (slow.length) {
    console.log(`\nover ${TARGET_MS} ms: ${slow.map((r) => r.label).join(', ')}`);
    process.exitCode = 1;
  }
} finally {
  if (values.keep) log(`kept schema ${schema}`);
  else await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => undefined);
  await handle.close();
}
