/**
 * npm run bench:engagement [-- --members 1000000 --runs 3 --keep --schema bench_xxxx --serial]
 * (a --schema that holds a generated club is reused; one that does not is generated into)
 *
 * The reports run on a connection of their own; where the server is on this machine, the server
 * CPU each report took is read from /proc (the backend's user + system time). With --serial the
 * reports run without parallel workers, whose CPU /proc of the backend would not show.
 *
 * Milliseconds per report for the invitation funnel, campaign conversions and satisfaction/ticket
 * reports (the SQL behind /report) over this Jalali year and this month, on a generated club in
 * PostgreSQL (DATABASE_URL, default the local test database): members and purchases, then what
 * these reports read: invitation openings and referrals, six campaigns each sent to half the club,
 * satisfaction checks for a third of the purchases, tickets and NPS answers. A kept schema can be
 * timed again with --schema. Target: every report under 2 s at 1,000,000 members.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { catchUpCampaignAttribution } from '../../src/club/analytics/campaign-attribution.ts';
import { campaignConversions } from '../../src/club/analytics/campaign-conversions.ts';
import { feedbackReport } from '../../src/club/analytics/feedback.ts';
import { periodFor } from '../../src/club/analytics/period.ts';
import { referralFunnel } from '../../src/club/analytics/referral-funnel.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    schema: { type: 'string' },
    serial: { type: 'boolean', default: false },
  },
});
const memberCount = Number(values.members);
const runs = Number(values.runs);
const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const schema = values.schema ?? `bench_charts2_${randomBytes(4).toString('hex')}`;
const TZ = 'Asia/Tehran';
const TARGET_MS = 2000;

const log = (message: string) => console.error(`[bench:engagement] ${message}`);
const handle = await createDatabase({ databaseUrl: url, schema, poolSize: 4 });
const { db } = handle;
// The reports' own connection: one backend, whose CPU time /proc shows (null: not readable here).
const reader = await createDatabase({ databaseUrl: url, schema, poolSize: 1 });
async function backendCpuMs(): Promise<number | null> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(reader.db);
  try {
    const stat = readFileSync(`/proc/${rows[0]!.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in ticks of 10 ms
  } catch {
    return null;
  }
}

async function step(name: string, run: () => Promise<unknown>) {
  const t = performance.now();
  await run();
  log(`${name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** Members over three years with 0–10 purchases each at six branches, in batches. */
async function generate(now: Date) {
  const batch = 100_000;
  await db.connection().execute(async (conn) => {
    await sql`select setseed(0.42)`.execute(conn);
    await sql`insert into branches (name, created_at) select 'Bench branch ' || g, ${now} from generate_series(2, 6) g`.execute(conn);
    for (let first = 1; first <= memberCount; first += batch) {
      const last = Math.min(memberCount, first + batch - 1);
      await sql`
        insert into members (id, phone, first_name, referral_code, tier_id, joined_at, last_active_at, referred_by)
        select g, '+98912' || lpad(g::text, 7, '0'), 'Bench', 'B' || g, (select id from tiers where rank = 1), joined, joined,
          case when g > 1000 and random() < 0.05 then 1 + (random() * 999)::int end
        from (select g, ${now}::timestamptz - random() * interval '1095 days' as joined from generate_series(${first}::bigint, ${last}::bigint) g) s`.execute(conn);
      await sql`
        insert into member_accounts (platform, user_id, member_id, chat_id, blocked, created_at)
        select 'telegram', 10000000 + id, id, 10000000 + id, random() < 0.05, joined_at from members where id between ${first} and ${last}`.execute(conn);
      await sql`
        insert into purchases (member_id, branch_id, cashier_member_id, amount_rials, idempotency_key, status, created_at)
        select m.id, 1 + (random() * 5)::int, 1, 100000 + (random() * 5000000)::bigint, 'bench:' || m.id || ':' || n, 'recorded',
          m.joined_at + random() * (${now}::timestamptz - m.joined_at)
        from (select id, joined_at, case when random() < 0.35 then 0 else 1 + floor(random() ^ 2 * 10)::int end as k
              from members where id between ${first} and ${last}) m
        cross join lateral generate_series(1, m.k) n`.execute(conn);
      process.stderr.write(`\r[bench:engagement] members: ${last}`);
    }
    process.stderr.write('\n');
    await sql`select setval(pg_get_serial_sequence('members', 'id'), ${memberCount})`.execute(conn);
    await sql`insert into club_settings (key, value, updated_at) values ('bench', ${JSON.stringify({ now: now.toISOString() })}::jsonb, ${now})`.execute(conn);
    // Invitations: everyone referred joined through a link they opened; as many again opened and stayed away.
    await sql`
      insert into referrals (inviter_id, referee_id, platform, user_id, status, qualifying_purchase_id, inviter_points, created_at)
      select m.referred_by, m.id, 'telegram', 10000000 + m.id,
        case when m.purchase_count > 0 then 'rewarded' else 'pending' end, null, case when m.purchase_count > 0 then 200 else 0 end, m.joined_at
      from members m where m.referred_by is not null`.execute(conn);
    await sql`
      insert into invitation_opens (inviter_id, platform, user_id, opened_at)
      select inviter_id, platform, user_id, created_at - interval '5 minutes' from referrals
      union all
      select 1 + (random() * 999)::int, 'telegram', 50000000 + g, ${now}::timestamptz - random() * interval '1095 days'
      from generate_series(1, (select count(*) from referrals)) g`.execute(conn);
    // Six campaigns in the last 60 days, each to a random half of the club.
    for (let c = 0; c < 6; c++) {
      const started = new Date(now.getTime() - (5 + c * 10) * 86_400_000);
      const { rows } = await sql<{ id: number }>`
        insert into campaigns (segment_id, text, status, started_at, finished_at, created_by, created_at)
        values (null, ${`Bench campaign ${c}`}, 'done', ${started}, ${new Date(started.getTime() + 3_600_000)}, 1, ${started}) returning id`.execute(conn);
      await sql`
        insert into campaign_outbox (campaign_id, member_id, platform, chat_id, status, sent_at)
        select ${rows[0]!.id}, a.member_id, a.platform, a.chat_id, case when a.blocked then 'blocked' else 'sent' end,
          case when a.blocked then null else ${started}::timestamptz + random() * interval '1 hour' end
        from member_accounts a where random() < 0.5`.execute(conn);
    }
    await sql`
      insert into satisfaction_checks (purchase_id, member_id, branch_id, due_at, sent_at, score)
      select id, member_id, branch_id, created_at + interval '2 hours', created_at + interval '2 hours',
        case when random() < 0.4 then 1 + (random() * 4)::int end
      from purchases where random() < 0.33`.execute(conn);
    await sql`
      insert into tickets (member_id, kind, category, branch_id, status, first_response_at, closed_at, created_at)
      select id, 'complaint', 'service', 1 + (random() * 5)::int, 'closed', at + random() * interval '6 hours', at + interval '6 hours' + random() * interval '3 days', at
      from (select id, ${now}::timestamptz - random() * interval '1095 days' as at from members where random() < 0.01) m`.execute(conn);
    const { rows: survey } = await sql<{ id: number }>`
      insert into surveys (title_fa, status, audience, created_at) values ('Bench', 'published', '{"kind":"all"}', ${now}) returning id`.execute(conn);
    const { rows: question } = await sql<{ id: number }>`
      insert into survey_questions (survey_id, position, kind, text_fa) values (${survey[0]!.id}, 1, 'nps', 'NPS') returning id`.execute(conn);
    await sql`
      insert into survey_responses (survey_id, member_id, answers, completed_at)
      select ${survey[0]!.id}, id, jsonb_build_object(${String(question[0]!.id)}::text, (random() * 10)::int), ${now}::timestamptz - random() * interval '365 days'
      from members where random() < 0.02`.execute(conn);
    for (const table of ['members', 'purchases', 'referrals', 'invitation_opens', 'campaign_outbox', 'satisfaction_checks', 'tickets', 'survey_responses']) {
      await sql`vacuum analyze ${sql.table(table)}`.execute(conn);
    }
  });
}

try {
  await step('migrations', () => migrateToLatest(handle));
  // A --schema that holds no generated club yet is generated into (keep it with --keep).
  const generated = await db.selectFrom('club_settings').select('key').where('key', '=', 'bench').executeTakeFirst();
  if (!generated) await step('club', () => generate(new Date()));
  const stored = await db.selectFrom('club_settings').select('value').where('key', '=', 'bench').executeTakeFirstOrThrow();
  const now = new Date((stored.value as { now: string }).now);
  // What the nightly job does: each purchase's campaign, up to its watermark (all of them the first time).
  await step('campaign attribution job', async () => log(`attributed: ${JSON.stringify(await catchUpCampaignAttribution(db, now))}`));
  // What autovacuum does after such an insert: the report's index-only scan needs the visibility map.
  await sql`vacuum analyze campaign_attributions`.execute(db);
  if (values.serial) await sql`set max_parallel_workers_per_gather = 0`.execute(reader.db);
  const { rows: sizes } = await sql<Record<string, string>>`
    select (select count(*) from members) as members, (select count(*) from purchases) as purchases,
      (select count(*) from referrals) as referrals, (select count(*) from invitation_opens) as opens,
      (select count(*) from campaign_outbox) as outbox, (select count(*) from satisfaction_checks) as checks,
      (select count(*) from tickets) as tickets, (select count(*) from survey_responses) as responses`.execute(db);
  log(`club: ${JSON.stringify(sizes[0])}`);
  const results: { label: string; median: number; max: number; cpu: number | null }[] = [];
  for (const periodKey of ['year', 'month'] as const) {
    const period = periodFor(periodKey, now, TZ);
    const reports: [string, () => Promise<unknown>][] = [
      ['invitation funnel', () => referralFunnel(reader.db, period)],
      ['campaign conversions', () => campaignConversions(reader.db, { period, branchId: null }, now)],
      ['campaign conversions, one branch', () => campaignConversions(reader.db, { period, branchId: 2 }, now)],
      ['satisfaction and tickets', () => feedbackReport(reader.db, { period, branchId: null })],
      ['satisfaction and tickets, one branch', () => feedbackReport(reader.db, { period, branchId: 2 })],
    ];
    for (const [name, run] of reports) {
      await run(); // warm-up
      const times: number[] = [];
      let cpu: number | null = 0;
      for (let i = 0; i < runs; i++) {
        const before = await backendCpuMs();
        const t = performance.now();
        await run();
        times.push(performance.now() - t);
        const after = await backendCpuMs();
        cpu = cpu === null || before === null || after === null ? null : cpu + (after - before);
      }
      times.sort((a, b) => a - b);
      results.push({ label: `${name} (${periodKey === 'year' ? 'this Jalali year' : 'this Jalali month'})`, median: times[Math.floor(times.length / 2)]!, max: times.at(-1)!, cpu: cpu === null ? null : cpu / runs });
      log(`${results.at(-1)!.label}: ${results.at(-1)!.median.toFixed(0)} ms, server CPU ${cpu === null ? '?' : (cpu / runs).toFixed(0)} ms`);
    }
  }
  const club = sizes[0]!;
  console.log(`\n${Object.entries(club).map(([k, v]) => `${Number(v).toLocaleString('en')} ${k}`).join(', ')}; ${runs} runs each after one warm-up\n`);
  console.log(`| report | median ms | max ms | server CPU ms per run${values.serial ? ' (no parallel workers)' : ' (leader only)'} |`);
  console.log('|---|---:|---:|---:|');
  for (const r of results) console.log(`| ${r.label} | ${r.median.toFixed(0)} | ${r.max.toFixed(0)} | ${r.cpu === null ? '?' : r.cpu.toFixed(0)} |`);
  const slow = results.filter((r) => r.max >= TARGET_MS);
  if (slow.length) {
    console.log(`\nover ${TARGET_MS} ms: ${slow.map((r) => r.label).join(', ')}`);
    process.exitCode = 1;
  }
} finally {
  if (values.keep) log(`kept schema ${schema}`);
  else await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => undefined);
  await reader.close();
  await handle.close();
}
