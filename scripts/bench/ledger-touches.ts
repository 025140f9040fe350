/**
 * DATABASE_URL=... npx tsx scripts/bench/ledger-touches.ts [--purchases 1000 --members 2000]
 *
 * What one purchase touches on the server (issue 14), counted rather than timed: in a scratch
 * schema (dropped at the end) it records --purchases purchases one after another through the real
 * recordPurchase and prints, per purchase, the deltas of pg_stat_user_tables (rows inserted,
 * updated, of which HOT, index scans) and pg_stat_user_indexes (scans, entries read), then the
 * indexes, foreign keys and triggers of the tables the purchase writes. An index scan on a table
 * the function does not read by that key is a foreign-key check; an update that is not HOT writes
 * an entry into every index of its table; an index read far above 1 per scan is a scan of many
 * entries (see docs/benchmarks.md, 2026-11-30).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { recordPurchase } from '../../src/club/purchases.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { randomPurchase, seedTillClub } from './till-club.ts';

const { values } = parseArgs({ options: { purchases: { type: 'string', default: '1000' }, members: { type: 'string', default: '2000' } } });
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must point at PostgreSQL');
const n = Number(values.purchases);
const schema = `ledger_touches_${randomBytes(3).toString('hex')}`;
const handle = await createDatabase({ databaseUrl: url, schema, poolSize: 2 });
const { db } = handle;
const WRITTEN = ['purchases', 'ledger_entries', 'ledger_lots', 'audit_log', 'notifications', 'members', 'report_sales', 'report_ledger'];

type TableStats = { name: string; ins: number; upd: number; hot: number; scans: number };
type IndexStats = { name: string; scans: number; read: number };
const perPurchase = (x: number) => Number((x / n).toFixed(2));

try {
  await migrateToLatest(handle);
  const club = await seedTillClub(db, Number(values.members), new Date());
  await db.connection().execute(async (conn) => {
    const buy = () => recordPurchase(conn, randomPurchase(club), { now: new Date(), timeZone: 'Asia/Tehran' });
    const snapshot = async () => {
      await sql`select pg_stat_force_next_flush()`.execute(conn);
      await sql`select 1`.execute(conn);
      const tables = (await sql<TableStats>`
        select relname as name, n_tup_ins::int8 as ins, n_tup_upd::int8 as upd, n_tup_hot_upd::int8 as hot, coalesce(idx_scan, 0)::int8 as scans
        from pg_stat_user_tables where schemaname = ${schema}`.execute(conn)).rows;
      const indexes = (await sql<IndexStats>`
        select indexrelname as name, idx_scan::int8 as scans, idx_tup_read::int8 as read from pg_stat_user_indexes where schemaname = ${schema}`.execute(conn)).rows;
      return { tables, indexes };
    };
    for (let i = 0; i < 100; i++) await buy(); // warm-up: every statement planned
    const before = await snapshot();
    for (let i = 0; i < n; i++) await buy();
    const after = await snapshot();
    for (const t of after.tables) {
      const b = before.tables.find((x) => x.name === t.name)!;
      const row = { table: t.name, inserted: perPurchase(t.ins - b.ins), updated: perPurchase(t.upd - b.upd), hot: perPurchase(t.hot - b.hot), indexScans: perPurchase(t.scans - b.scans) };
      if (row.inserted || row.updated || row.indexScans) console.log(JSON.stringify(row));
    }
    for (const i of after.indexes) {
      const b = before.indexes.find((x) => x.name === i.name)!;
      const row = { index: i.name, scans: perPurchase(i.scans - b.scans), entriesRead: perPurchase(i.read - b.read) };
      if (row.scans || row.entriesRead) console.log(JSON.stringify(row));
    }
  });
  const inSchema = (rel: string) => sql`${sql.ref(rel)}::regclass in (select c.oid from pg_class c where c.relnamespace = ${schema}::regnamespace and c.relname = any(${WRITTEN}))`;
  const listed = await sql<{ kind: string; tbl: string; def: string }>`
    select 'index' as kind, indrelid::regclass::text as tbl, pg_get_indexdef(indexrelid) as def from pg_index where ${inSchema('indrelid')}
    union all
    select 'foreign key', conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid) from pg_constraint where contype = 'f' and ${inSchema('conrelid')}
    union all
    select 'trigger', tgrelid::regclass::text, pg_get_triggerdef(oid) from pg_trigger where not tgisinternal and ${inSchema('tgrelid')}
    order by 1, 2, 3`.execute(db);
  for (const r of listed.rows) console.log(JSON.stringify({ [r.kind]: r.def.replaceAll(`${schema}.`, ''), table: r.tbl.replace(`${schema}.`, '') }));
} finally {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => undefined);
  await handle.close();
}
