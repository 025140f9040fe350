/**
 * npm run bench:ledger [-- --cashiers 64 --seconds 10 --members 2000 --pool 16 --reference-seconds 10 --no-reference]
 *
 * Purchases per second recorded by concurrent cashiers through the real recordPurchase (row lock,
 * rule lookup, purchase row, points lot, tier check, audit, receipt in the outbox (every member
 * has a chat), report summaries), on PostgreSQL when DATABASE_URL is set and on embedded PGlite otherwise. The ledger
 * invariant is checked over every member at the end.
 *
 * On PostgreSQL the same run first measures the reference issue 14 compares against: pgbench
 * TPC-B (`pgbench -i -s 10` into a scratch database, then `pgbench -c 64 -j 2 -T <seconds>`) on
 * the same server; the JSON carries both figures and `ratio` = purchases/s / pgbench tps.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { watchBackends } from './backend-cpu.ts';
import { pgbenchReference, type PgbenchReference } from './pgbench-reference.ts';
import { randomPurchase, seedTillClub } from './till-club.ts';

const { values } = parseArgs({
  options: {
    cashiers: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    members: { type: 'string', default: '2000' },
    // Database connections shared by the cashiers (a club process's pool), not one per cashier.
    pool: { type: 'string', default: '16' },
    // The pgbench TPC-B reference (PostgreSQL only): its duration, and a way to leave it out.
    'reference-seconds': { type: 'string', default: '10' },
    'no-reference': { type: 'boolean', default: false },
  },
});
const cashiers = Number(values.cashiers);
const seconds = Number(values.seconds);
const memberCount = Number(values.members);
const url = process.env.DATABASE_URL || undefined;
const schema = `bench_${randomBytes(4).toString('hex')}`;

const poolSize = Number(values.pool);
const referenceSeconds = Number(values['reference-seconds']);

// The reference runs first, alone on the server (the club's schema is not created yet).
const reference: PgbenchReference = !url
  ? { skipped: 'embedded PGlite: pgbench needs a PostgreSQL server (set DATABASE_URL)' }
  : values['no-reference']
    ? { skipped: '--no-reference' }
    : await pgbenchReference(url, { scale: 10, clients: 64, threads: 2, seconds: referenceSeconds });
const handle = await createDatabase({ databaseUrl: url, dataDir: 'memory://', schema, poolSize, applicationName: schema });
const { db } = handle;
try {
  await migrateToLatest(handle);
  const club = await seedTillClub(db, memberCount, new Date());

  const latencies: number[] = [];
  let errors = 0;
  // The CPU the purchases cost: the pool's backends (from /proc, a local server only) and this process.
  const serverCpu = url ? watchBackends(url, { column: 'application_name', value: schema }) : null;
  await new Promise((r) => setTimeout(r, 300)); // its first sample
  const nodeCpu = process.cpuUsage();
  const deadline = Date.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: cashiers }, async () => {
      while (Date.now() < deadline) {
        const t = performance.now();
        try {
          await recordPurchase(db, randomPurchase(club), { now: new Date(), timeZone: 'Asia/Tehran' });
          latencies.push(performance.now() - t);
        } catch (error) {
          errors++;
          if (errors < 5) console.error(error);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const nodeCpuUsed = process.cpuUsage(nodeCpu);
  const serverCpuUsed = serverCpu ? await serverCpu.stop() : null;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(1);
  const violations = await ledgerViolations(db);
  const recorded = (await db.selectFrom('purchases').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n;
  const result = {
    driver: handle.driver,
    cashiers,
    pool: poolSize,
    seconds: Number(elapsed.toFixed(1)),
    purchases: recorded,
    perSecond: Math.round(recorded / elapsed),
    p50ms: pct(50),
    p99ms: pct(99),
    errors,
    invariantViolations: violations.length,
    rssMB: Math.round(process.memoryUsage().rss / 1e6),
    // CPU per purchase: the server's backends (null when not visible from here) and this process
    // (the club's code, the driver, and the bench's own loop).
    serverCpuMsPerPurchase: serverCpuUsed === null ? null : Number(((serverCpuUsed * 1000) / recorded).toFixed(3)),
    nodeCpuMsPerPurchase: Number(((nodeCpuUsed.user + nodeCpuUsed.system) / 1000 / recorded).toFixed(3)),
    // The machine is shared: the load average at the end says how much else was running.
    load1m: Number(loadavg()[0]!.toFixed(2)),
    pgbench: reference,
    ratio: 'tps' in reference ? Number((recorded / elapsed / reference.tps).toFixed(2)) : null,
    // pgbench's server CPU per transaction over the purchase's: what the ratio would be if CPU alone decided.
    cpuRatio: 'tps' in reference && reference.serverCpuMsPerTx && serverCpuUsed ? Number((reference.serverCpuMsPerTx / ((serverCpuUsed * 1000) / recorded)).toFixed(2)) : null,
  };
  console.log(JSON.stringify(result));
  if (violations.length || errors || recorded !== latencies.length) process.exitCode = 1;
} finally {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => undefined);
  await handle.close();
}
