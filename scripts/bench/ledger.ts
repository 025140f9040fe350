/**
 * npm run bench:ledger [-- --cashiers 64 --seconds 10 --members 2000 --pool 16]
 *
 * Purchases per second recorded by concurrent cashiers through the real recordPurchase (row lock,
 * rule lookup, purchase row, points lot, tier check, audit), on PostgreSQL when DATABASE_URL is
 * set and on embedded PGlite otherwise. The ledger invariant is checked over every member at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

const { values } = parseArgs({
  options: {
    cashiers: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    members: { type: 'string', default: '2000' },
    // Database connections shared by the cashiers (a club process's pool), not one per cashier.
    pool: { type: 'string', default: '16' },
  },
});
const cashiers = Number(values.cashiers);
const seconds = Number(values.seconds);
const memberCount = Number(values.members);
const url = process.env.DATABASE_URL || undefined;
const schema = `bench_${randomBytes(4).toString('hex')}`;

const poolSize = Number(values.pool);
const handle = await createDatabase({ databaseUrl: url, dataDir: 'memory://', schema, poolSize });
const { db } = handle;
try {
  await migrateToLatest(handle);
  const branch = await db.selectFrom('branches').select('id').executeTakeFirstOrThrow();
  await sql`
    insert into members (phone, first_name, referral_code, tier_id, joined_at, last_active_at)
    select '+98915' || lpad(g::text, 7, '0'), 'Bench', 'B' || g, (select id from tiers order by rank limit 1), ${new Date()}, ${new Date()}
    from generate_series(1, ${memberCount}) g`.execute(db);
  const ids = (await db.selectFrom('members').select('id').orderBy('id').execute()).map((r) => r.id);
  const cashierId = ids[0]!;

  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: cashiers }, async () => {
      while (Date.now() < deadline) {
        // Never the cashier's own membership (the till refuses it).
        const memberId = ids[1 + Math.floor(Math.random() * (ids.length - 1))]!;
        const t = performance.now();
        try {
          await recordPurchase(
            db,
            { memberId, branchId: branch.id, cashierMemberId: cashierId, amountRials: 100_000 + Math.floor(Math.random() * 5_000_000), operationId: randomUUID() },
            { now: new Date(), timeZone: 'Asia/Tehran' },
          );
          latencies.push(performance.now() - t);
        } catch (error) {
          errors++;
          if (errors < 5) console.error(error);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
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
  };
  console.log(JSON.stringify(result));
  if (violations.length || errors || recorded !== latencies.length) process.exitCode = 1;
} finally {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => undefined);
  await handle.close();
}
