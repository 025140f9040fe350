/**
 * DATABASE_URL=... npx tsx scripts/bench/ledger-profile.ts [-- --seconds 5 --serial 1000 --cpu --serial-only --only <label> --rounds 1]
 * DATABASE_URL=... npx tsx scripts/bench/ledger-profile.ts -- --explain 300
 *
 * Where a purchase's time goes (issue 14), in a scratch schema dropped at the end (see
 * docs/benchmarks.md, "Purchase recording: where the time went"). For each variant (the schema as
 * migrated, then with groups of triggers disabled, then cumulatively without the balance index,
 * the foreign keys and the receipt) it measures:
 * - serial: purchases one after another on one connection: ms per purchase, the backend's and this
 *   process's CPU per purchase (from /proc and process.cpuUsage), the server's WAL over the run
 *   (all databases: only meaningful on a server of one's own), and with track_functions = 'all'
 *   the time of each plpgsql function (the purchase function's own statements are its self time;
 *   each trigger function's time is its own line). --cpu sets synchronous_commit = off in that
 *   session only, so the serial time is work rather than the disk's flush (measuring only);
 * - concurrent (unless --serial-only): 64 cashiers over a pool of 16 for --seconds, purchases/s,
 *   with pg_stat_activity sampled every 20 ms for what the club's backends were waiting on.
 * --explain n: n purchases with auto_explain logging each nested statement's plan, time, buffers
 * and WAL to the server log under the printed backend pid.
 * Disabling triggers and dropping constraints is for measuring only: those variants leave the
 * summaries wrong, and the schema is dropped. */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { recordPurchase } from '../../src/club/purchases.ts';
import { createDatabase, type Db } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { processCpuSeconds } from './backend-cpu.ts';
import { randomPurchase, seedTillClub } from './till-club.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, serial: { type: 'string', default: '1000' }, only: { type: 'string' }, explain: { type: 'string' }, cpu: { type: 'boolean' }, 'serial-only': { type: 'boolean', default: false }, rounds: { type: 'string', default: '1' } } });
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must point at PostgreSQL');
const schema = `ledger_profile_${randomBytes(3).toString('hex')}`;
const handle = await createDatabase({ databaseUrl: url, schema, poolSize: 16 });
const { db } = handle;

// [label, triggers disabled for this variant only, SQL run before it and kept for the ones after (cumulative)]
const VARIANTS: [string, string[], string?][] = [
  ['as migrated', []],
  ['no report triggers on purchases/ledger', ['purchases.purchases_report_insert', 'ledger_entries.ledger_entries_report_insert']],
  ['no member-stats trigger', ['purchases.purchases_member_stats_insert']],
  ['no statement triggers on purchases/ledger', ['purchases.purchases_report_insert', 'ledger_entries.ledger_entries_report_insert', 'purchases.purchases_member_stats_insert']],
  ['no statement triggers, no members_points_idx (balance update can be HOT)', ['purchases.purchases_report_insert', 'ledger_entries.ledger_entries_report_insert', 'purchases.purchases_member_stats_insert'], 'drop index if exists members_points_idx'],
  ['... and no foreign keys on purchases/ledger/lots/audit/notifications', ['purchases.purchases_report_insert', 'ledger_entries.ledger_entries_report_insert', 'purchases.purchases_member_stats_insert'],
    `do $$ declare c record; begin for c in select conrelid::regclass as t, conname from pg_constraint where contype = 'f' and connamespace = current_schema()::regnamespace
       and conrelid::regclass::text in ('purchases', 'ledger_entries', 'ledger_lots', 'audit_log', 'notifications') loop
       execute format('alter table %s drop constraint %I', c.t, c.conname); end loop; end $$`],
  ['... and no receipt (no member accounts)', ['purchases.purchases_report_insert', 'ledger_entries.ledger_entries_report_insert', 'purchases.purchases_member_stats_insert'], 'delete from member_accounts'],
];


async function setTriggers(names: string[], enabled: boolean) {
  for (const n of names) {
    const [table, trigger] = n.split('.') as [string, string];
    await sql`alter table ${sql.id(table)} ${sql.raw(enabled ? 'enable' : 'disable')} trigger ${sql.id(trigger)}`.execute(db);
  }
}

try {
  await migrateToLatest(handle);
  const club = await seedTillClub(db, 2000, new Date());
  const buy = (conn: Db) => recordPurchase(conn, randomPurchase(club), { now: new Date(), timeZone: 'Asia/Tehran' });

  const applied = new Set<string>();
  if (values.explain) {
    // --explain <n>: n purchases with auto_explain logging every statement inside the function (its
    // plan, time, buffers and WAL) to the server log under this backend's pid; read them there.
    await db.connection().execute(async (conn) => {
      for (let i = 0; i < 100; i++) await buy(conn);
      const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn)).rows[0]!.pid;
      await sql`load 'auto_explain'`.execute(conn);
      for (const [k, v] of [['log_min_duration', '0'], ['log_nested_statements', 'on'], ['log_analyze', 'on'], ['log_buffers', 'on'], ['log_wal', 'on'], ['log_triggers', 'on']]) {
        await sql`select set_config(${`auto_explain.${k}`}, ${v}, false)`.execute(conn);
      }
      for (let i = 0; i < Number(values.explain); i++) await buy(conn);
      console.log(JSON.stringify({ explainedPid: pid, purchases: Number(values.explain) }));
    });
  }
  for (const [label, disabled, change] of values.explain ? [] : VARIANTS.flatMap((v) => Array.from({ length: Number(values.rounds) }, () => v))) {
    if (change && !applied.has(change)) {
      applied.add(change);
      await sql.raw(change).execute(db);
    }
    if (values.only && !label.includes(values.only)) continue;
    await setTriggers(disabled, false);
    // Serial, one connection.
    const serial = await db.connection().execute(async (conn) => {
      await sql`set track_functions = 'all'`.execute(conn);
      // --cpu: without waiting for the WAL flush (this session only, scratch schema, measuring only)
      // a serial purchase's time is the server's and the client's work, not the disk's.
      if (values.cpu) await sql`set synchronous_commit = off`.execute(conn);
      for (let i = 0; i < 200; i++) await buy(conn); // warm-up
      await sql`select pg_stat_reset()`.execute(conn);
      const before = (await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(conn)).rows[0]!.lsn;
      const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn)).rows[0]!.pid;
      const n = Number(values.serial);
      const cpu0 = processCpuSeconds(pid);
      const node0 = process.cpuUsage();
      const t = performance.now();
      for (let i = 0; i < n; i++) await buy(conn);
      const ms = (performance.now() - t) / n;
      const cpu1 = processCpuSeconds(pid);
      const node = process.cpuUsage(node0);
      const wal = (await sql<{ bytes: string }>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${before}::pg_lsn)::text as bytes`.execute(conn)).rows[0]!.bytes;
      await sql`select pg_stat_force_next_flush()`.execute(conn);
      await sql`select 1`.execute(conn);
      const fns = (await sql<{ funcname: string; calls: number; total: number; self: number }>`
        select funcname, calls::int, total_time::float8 as total, self_time::float8 as self from pg_stat_user_functions
        where schemaname = ${schema} and calls > 0 order by self_time desc`.execute(conn)).rows;
      await sql`set track_functions = 'none'`.execute(conn);
      return { msPerPurchase: Number(ms.toFixed(3)),
        backendCpuMsPerPurchase: cpu0 === null || cpu1 === null ? null : Number((((cpu1 - cpu0) * 1000) / n).toFixed(3)),
        nodeCpuMsPerPurchase: Number(((node.user + node.system) / 1000 / n).toFixed(3)),
        // The whole server's WAL over the run: other databases' writes count too on a shared server.
        serverWalBytesPerPurchase: Math.round(Number(wal) / n), functions: fns.map((f) => ({ name: f.funcname, callsPerPurchase: Number((f.calls / n).toFixed(2)), totalMsPerPurchase: Number((f.total / n).toFixed(3)), selfMsPerPurchase: Number((f.self / n).toFixed(3)) })) };
    });
    // Concurrent: 64 cashiers over the pool, activity sampled.
    if (values['serial-only']) {
      await setTriggers(disabled, true);
      console.log(JSON.stringify({ variant: label, serial }));
      continue;
    }
    const waits = new Map<string, number>();
    let samples = 0;
    const deadline = Date.now() + Number(values.seconds) * 1000;
    const sampler = (async () => {
      const probe = await createDatabase({ databaseUrl: url, poolSize: 1 });
      try {
        while (Date.now() < deadline) {
          const rows = (await sql<{ w: string }>`
            select coalesce(wait_event_type || ':' || wait_event, state) as w from pg_stat_activity
            where backend_type = 'client backend' and pid <> pg_backend_pid() and query like '%club_record_purchase%' and state <> 'idle'`.execute(probe.db)).rows;
          samples++;
          for (const r of rows) waits.set(r.w, (waits.get(r.w) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await probe.close();
      }
    })();
    let done = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (Date.now() < deadline) {
        await buy(db);
        done++;
      }
    }));
    const perSecond = Math.round(done / ((performance.now() - started) / 1000));
    await sampler;
    const activeBackends = [...waits.entries()].sort((a, b) => b[1] - a[1]).map(([w, n]) => `${w}=${(n / samples).toFixed(1)}`);
    await setTriggers(disabled, true);
    console.log(JSON.stringify({ variant: label, serial, concurrent: { perSecond, activeBackendsBy: activeBackends } }, null, 1));
  }
} finally {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => undefined);
  await handle.close();
}
