/**
 * DATABASE_URL=... npx tsx scripts/bench/ledger-pair.ts -- --undo <migration> [--purchases 2000 --rounds 5 --seconds 0]
 *
 * A before/after of the till's server CPU per purchase (issue 14) that a shared, noisy machine
 * cannot tilt: two scratch schemas (dropped at the end) migrated to the latest, and in "before"
 * the named migration's `down` run (so it holds the schema as it was without that migration); then
 * purchases through the real recordPurchase, one on each schema in turn on a connection each
 * (which goes first alternates), so whatever else runs on the machine falls on both alike. Each
 * round prints both backends' CPU per purchase (/proc, a local server only) and after/before.
 * `synchronous_commit = off` in both sessions: the figure is work, not the disk's flush.
 * --seconds n: then n seconds of 32 cashiers on each schema at once (pools of 8), the CPU of each
 * pool's backends per purchase: contention included, still side by side.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { sql, type Kysely, type Migration } from 'kysely';
import { recordPurchase } from '../../src/club/purchases.ts';
import { createDatabase, type Db } from '../../src/db/database.ts';
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.ts';
import { processCpuSeconds, watchBackends } from './backend-cpu.ts';
import { randomPurchase, seedTillClub, type TillClub } from './till-club.ts';

const { values } = parseArgs({ options: { undo: { type: 'string' }, purchases: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '0' } } });
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must point at PostgreSQL');
if (!values.undo) throw new Error('--undo <migration name> is required');
const migration = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, `${values.undo.replace(/\.ts$/, '')}.ts`)).href)) as Migration;
const tag = randomBytes(3).toString('hex');
const sides = await Promise.all(['before', 'after'].map(async (name) => {
  const schema = `ledger_pair_${name}_${tag}`;
  const handle = await createDatabase({ databaseUrl: url, schema, poolSize: 8, applicationName: schema });
  return { name, schema, handle, club: null as TillClub | null };
}));
const perPurchase = (seconds: number, n: number) => Number(((seconds * 1000) / n).toFixed(3));

try {
  for (const side of sides) {
    await migrateToLatest(side.handle);
    side.club = await seedTillClub(side.handle.db, 2000, new Date());
  }
  await migration.down!(sides[0]!.handle.db as Kysely<any>);
  const buy = (conn: Db, club: TillClub) => recordPurchase(conn, randomPurchase(club), { now: new Date(), timeZone: 'Asia/Tehran' });

  const [before, after] = sides as [typeof sides[0], typeof sides[0]];
  await before.handle.db.connection().execute(async (a) => after.handle.db.connection().execute(async (b) => {
    const pids: number[] = [];
    for (const conn of [a, b]) {
      await sql`set synchronous_commit = off`.execute(conn);
      pids.push((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn)).rows[0]!.pid);
    }
    for (let i = 0; i < 200; i++) { await buy(a, before.club!); await buy(b, after.club!); } // every statement planned
    const n = Number(values.purchases);
    for (let round = 1; round <= Number(values.rounds); round++) {
      const cpu0 = pids.map(processCpuSeconds);
      for (let i = 0; i < n; i++) {
        if (i % 2) { await buy(a, before.club!); await buy(b, after.club!); } else { await buy(b, after.club!); await buy(a, before.club!); }
      }
      const cpu = pids.map((pid, k) => processCpuSeconds(pid)! - cpu0[k]!);
      console.log(JSON.stringify({ round, purchasesEach: n, beforeCpuMs: perPurchase(cpu[0]!, n), afterCpuMs: perPurchase(cpu[1]!, n), afterOverBefore: Number((cpu[1]! / cpu[0]!).toFixed(3)), load1m: Number(loadavg()[0]!.toFixed(2)) }));
    }
  }));

  const seconds = Number(values.seconds);
  if (seconds > 0) {
    const counts = await Promise.all(sides.map(async (side) => {
      const watch = watchBackends(url, { column: 'application_name', value: side.schema });
      await new Promise((r) => setTimeout(r, 300));
      const deadline = Date.now() + seconds * 1000;
      let done = 0;
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (Date.now() < deadline) { await buy(side.handle.db, side.club!); done++; }
      }));
      return { side: side.name, done, cpu: await watch.stop() };
    }));
    const [b, a] = counts as [typeof counts[0], typeof counts[0]];
    console.log(JSON.stringify({ concurrent: { seconds, beforePurchases: b.done, afterPurchases: a.done,
      beforeCpuMs: b.cpu === null ? null : perPurchase(b.cpu, b.done), afterCpuMs: a.cpu === null ? null : perPurchase(a.cpu, a.done),
      afterOverBefore: a.cpu && b.cpu ? Number(((a.cpu / a.done) / (b.cpu / b.done)).toFixed(3)) : null, load1m: Number(loadavg()[0]!.toFixed(2)) } }));
  }
} finally {
  for (const side of sides) {
    await sql`drop schema if exists ${sql.id(side.schema)} cascade`.execute(side.handle.db).catch(() => undefined);
    await side.handle.close();
  }
}
