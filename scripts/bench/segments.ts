/**
 * npm run bench:segments [-- --members 1000000 --runs 7 --explain --verify --keep --schema bench_xxxx]
 *
 * Milliseconds per segment count (the live count managers see while typing a segment, and what a
 * campaign reaches) over a generated club: members with Telegram/Bale accounts (some blocked, some
 * opted out of offers), tiers, points, birth dates, genders, join links, referrals and a few
 * purchases per member (some voided). Runs on PostgreSQL (DATABASE_URL, default the local test
 * database) in a schema of its own, dropped at the end unless --keep. Target: every count under
 * 500 ms at 1,000,000 members.
 *
 * --explain prints each count's plan; --verify also counts each segment the slow, direct way
 * (aggregating purchases and accounts per member) and fails on any difference.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql, type RawBuilder } from 'kysely';
import { countSegment, compileSegment, parseSegment, type SegmentCondition, type SegmentFilter } from '../../src/club/segments.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '7' },
    explain: { type: 'boolean', default: false },
    verify: { type: 'boolean', default: false },
    // Leave the generated schema in place (its name is printed), and time an existing one again.
    keep: { type: 'boolean', default: false },
    schema: { type: 'string' },
  },
});
const memberCount = Number(values.members);
const runs = Number(values.runs);
const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const reuse = values.schema !== undefined;
const schema = values.schema ?? `bench_${randomBytes(4).toString('hex')}`;
const TARGET_MS = 500;

const SEGMENTS: [label: string, expression: string][] = [
  ['all members', 'all'],
  ['tier', 'tier=gold,platinum'],
  ['points', 'points>=5000'],
  ['win-back (no purchase for 60 days)', 'bought>60'],
  ['recent regulars', 'bought<30; purchases>=3'],
  ['big spenders', 'spend>=20000000'],
  ['birthday month + gender', 'birthday=9; gender=female'],
  ['age + platform', 'age=20-35; platform=bale'],
  ['inviters', 'referrals>=1'],
  ['never invited, joined a year ago', 'referrals=0; joined>365'],
  ['join link or new members', 'link=poster-3 | joined<30'],
  ['combined OR', 'tier=gold,platinum; bought>90 | referrals>=2; platform=telegram | spend>=20000000; age=18-30 | birthday=1; gender=male; purchases=0'],
];

const log = (message: string) => console.error(`[bench:segments] ${message}`);
const handle = await createDatabase({ databaseUrl: url, schema, poolSize: 4 });
const { db } = handle;

async function step(name: string, run: () => Promise<unknown>) {
  const t = performance.now();
  await run();
  log(`${name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/**
 * Generates the club in SQL, in batches of 50,000 members with a VACUUM after each, as autovacuum
 * would between a real club's writes: the triggers update each member row as its accounts and
 * purchases go in, and without the vacuums the table would end up with every row twice.
 */
async function generate(now: Date) {
  const batch = 50_000;
  // One connection, so that setseed() makes the same club every run.
  await db.connection().execute(async (conn) => {
    await sql`select setseed(0.42)`.execute(conn);
    await sql`insert into branches (name) select 'Bench branch ' || g from generate_series(2, 6) g`.execute(conn);
    await sql`insert into join_links (slug, name) select 'poster-' || g, 'Poster ' || g from generate_series(1, 20) g`.execute(conn);
    const started = performance.now();
    for (let first = 1; first <= memberCount; first += batch) {
      const last = Math.min(memberCount, first + batch - 1);
      // Ids are set here so that referrals point at earlier members (within the statement too).
      // Tiers 60/25/11/4 %, 90 % take offers, 85 % gave a birth date, 20 % were invited (a few
      // inviters bring many), 30 % came through one of 20 join links, joined over three years.
      await sql`
        insert into members (id, phone, first_name, referral_code, tier_id, points_balance, marketing_opt_in,
          birth_date, gender, joined_at, last_active_at, join_link_id, referred_by)
        select g, '+98912' || lpad(g::text, 7, '0'), 'Bench', 'B' || g,
          (select id from tiers where rank = case when r1 < 0.60 then 1 when r1 < 0.85 then 2 when r1 < 0.96 then 3 else 4 end),
          (random() ^ 2 * 20000)::bigint,
          random() < 0.9,
          case when random() < 0.85 then date '1960-01-01' + (random() * 16000)::int end,
          case when r2 < 0.40 then 'female' when r2 < 0.75 then 'male' end,
          joined, joined,
          case when random() < 0.3 then 1 + (random() * 19)::int end,
          case when g > 1000 and random() < 0.2 then greatest(1, (random() ^ 2 * (g - 1))::bigint) end
        from (
          select g, random() as r1, random() as r2, ${now}::timestamptz - random() * interval '1095 days' as joined
          from generate_series(${first}::bigint, ${last}::bigint) g
        ) s`.execute(conn);
      // One account each (65 % Telegram), 15 % also on the other platform, 1 % none, 5 % blocked.
      await sql`
        insert into member_accounts (platform, user_id, member_id, chat_id, blocked)
        select platform, user_id, member_id, user_id, random() < 0.05
        from (
          select case when r < 0.65 then 'telegram' else 'bale' end as platform, 10000000 + id as user_id, id as member_id
          from (select id, random() as r from members where id between ${first} and ${last}) m
          union all
          select case when r < 0.65 then 'bale' else 'telegram' end, 20000000 + id, id
          from (select id, random() as r, random() as r2 from members where id between ${first} and ${last}) m
          where r2 < 0.15
        ) a
        where random() >= 0.01`.execute(conn);
      // 35 % never bought; the others 1 to 10 purchases (most few) since they joined; 3 % voided.
      await sql`
        insert into purchases (member_id, branch_id, cashier_member_id, amount_rials, idempotency_key, status, created_at)
        select m.id, 1 + (random() * 5)::int, 1, 100000 + (random() * 5000000)::bigint, 'bench:' || m.id || ':' || n,
          case when random() < 0.03 then 'voided' else 'recorded' end,
          m.joined_at + random() * (${now}::timestamptz - m.joined_at)
        from (
          select id, joined_at, case when random() < 0.35 then 0 else 1 + floor(random() ^ 2 * 10)::int end as k
          from members where id between ${first} and ${last}
        ) m
        cross join lateral generate_series(1, m.k) n`.execute(conn);
      await sql`vacuum members`.execute(conn);
      process.stderr.write(`\r[bench:segments] generating: ${last} members, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    process.stderr.write('\n');
    await sql`select setval(pg_get_serial_sequence('members', 'id'), ${memberCount})`.execute(conn);
    await sql`insert into club_settings (key, value) values ('bench', ${JSON.stringify({ now: now.toISOString() })}::jsonb)`.execute(conn);
  });
  await step('vacuum analyze', async () => {
    for (const table of ['members', 'member_accounts', 'purchases']) await sql`vacuum analyze ${sql.table(table)}`.execute(db);
  });
}

/** The direct way, as segments were counted before the cached columns: the check for --verify. */
function direct(c: SegmentCondition, now: Date): RawBuilder<unknown> {
  const range = (expr: RawBuilder<unknown>, r: { min?: number | undefined; max?: number | undefined }) =>
    sql`(${r.min === undefined ? sql`true` : sql`${expr} >= ${r.min}`} and ${r.max === undefined ? sql`true` : sql`${expr} <= ${r.max}`})`;
  const days = (column: RawBuilder<unknown>) => sql`(extract(epoch from (${now}::timestamptz - ${column})) / 86400)`;
  const recorded = sql`from purchases p where p.member_id = m.id and p.status = 'recorded'`;
  switch (c.field) {
    case 'joined_days':
      return range(days(sql`m.joined_at`), c);
    case 'last_purchase_days':
      return range(days(sql`(select max(p.created_at) ${recorded})`), c);
    case 'purchases':
      return range(sql`(select count(*) ${recorded})`, c);
    case 'spend':
      return range(sql`(select coalesce(sum(p.amount_rials), 0) ${recorded})`, c);
    case 'age':
      return range(sql`extract(year from age(${now}::timestamptz, m.birth_date::timestamptz))`, c);
    case 'platform':
      return sql`exists (select 1 from member_accounts a2 where a2.member_id = m.id and a2.platform = ${c.value})`;
    case 'referrals':
      return range(sql`(select count(*) from members r where r.referred_by = m.id)`, c);
    default:
      return compileSegment({ groups: [[c]] }, now);
  }
}

async function directCount(filter: SegmentFilter, now: Date): Promise<number> {
  const where = filter.groups.length
    ? sql`(${sql.join(filter.groups.map((g) => (g.length ? sql`(${sql.join(g.map((c) => direct(c, now)), sql` and `)})` : sql`true`)), sql` or `)})`
    : sql`true`;
  const { rows } = await sql<{ n: number }>`
    select count(*) as n from members m
    where m.marketing_opt_in and ${where}
      and exists (select 1 from member_accounts a where a.member_id = m.id and not a.blocked)`.execute(db);
  return rows[0]!.n;
}

try {
  if (!reuse) {
    await migrateToLatest(handle);
    await generate(new Date());
  }
  const stored = await db.selectFrom('club_settings').select('value').where('key', '=', 'bench').executeTakeFirstOrThrow();
  const now = new Date((stored.value as { now: string }).now);
  const { rows: sizes } = await sql<{ members: number; accounts: number; purchases: number; referred: number; table: string }>`
    select (select count(*) from members) as members, (select count(*) from member_accounts) as accounts,
      (select count(*) from purchases) as purchases, (select count(*) from members where referred_by is not null) as referred,
      pg_size_pretty(pg_relation_size('members')) as table`.execute(db);
  const club = sizes[0]!;
  log(`club: ${JSON.stringify(club)}`);

  const results: { label: string; expression: string; count: number; median: number; max: number }[] = [];
  let mismatches = 0;
  for (const [label, expression] of SEGMENTS) {
    const filter = parseSegment(expression);
    let count = await countSegment(db, filter, now); // warm-up
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      count = await countSegment(db, filter, now);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    results.push({ label, expression, count, median: times[Math.floor(times.length / 2)]!, max: times[times.length - 1]! });
    if (values.explain) {
      // The statement countSegment runs (keep the two in step).
      const plan = await db.transaction().execute(async (trx) => {
        await sql`set local jit = off`.execute(trx);
        const { rows } = await sql<{ 'QUERY PLAN': string }>`
          explain (analyze, buffers) select count(*) from members m
          where m.marketing_opt_in and m.reachable and ${compileSegment(filter, now)}`.execute(trx);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      console.error(`\n${label}: ${expression}\n${plan}\n`);
    }
    if (values.verify) {
      const started = performance.now();
      const expected = await directCount(filter, now);
      log(`verify ${label}: ${count} ${count === expected ? '=' : '<>'} ${expected} (direct count ${(performance.now() - started).toFixed(0)} ms)`);
      if (count !== expected) mismatches++;
    }
  }

  console.log(
    `\n${club.members.toLocaleString('en')} members (table ${club.table}), ${club.accounts.toLocaleString('en')} accounts, ` +
      `${club.purchases.toLocaleString('en')} purchases; ${runs} runs each after one warm-up\n`,
  );
  console.log('| segment | expression | members | median ms | max ms |');
  console.log('|---|---|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.label} | \`${r.expression.replaceAll('|', '\\|')}\` | ${r.count.toLocaleString('en')} | ${r.median.toFixed(0)} | ${r.max.toFixed(0)} |`);
  }
  const slow = results.filter((r) => r.max >= TARGET_MS);
  if (slow.length) console.log(`\nover ${TARGET_MS} ms: ${slow.map((r) => r.label).join(', ')}`);
  if (mismatches) console.log(`\n${mismatches} segment(s) differ from the direct count`);
  if (slow.length || mismatches) process.exitCode = 1;
} finally {
  if (values.keep) log(`kept schema ${schema}`);
  else await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => undefined);
  await handle.close();
}
