/**
 * DATABASE_URL=... npx tsx scripts/bench/till-node-cpu.ts [-- --purchases 3000 --cashiers 16 --rounds 3]
 *
 * This process's CPU per purchase through the real recordPurchase (issue 14: the club's Node
 * process shares the server's cores). A scratch schema (dropped at the end) seeded like
 * bench:ledger; each round records --purchases purchases with --cashiers concurrent callers over a
 * pool of 16 and prints process.cpuUsage() per purchase. Run it under `node --cpu-prof --import tsx`
 * to see where that CPU goes.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { recordPurchase } from '../../src/club/purchases.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { randomPurchase, seedTillClub } from './till-club.ts';

const { values } = parseArgs({ options: { purchases: { type: 'string', default: '3000' }, cashiers: { type: 'string', default: '16' }, rounds: { type: 'string', default: '3' } } });
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must point at PostgreSQL');
const schema = `till_node_${randomBytes(3).toString('hex')}`;
const handle = await createDatabase({ databaseUrl: url, schema, poolSize: 16, applicationName: schema });
const { db } = handle;
try {
  await migrateToLatest(handle);
  const club = await seedTillClub(db, 2000, new Date());
  const perRound = Number(values.purchases);
  for (let round = 1; round <= Number(values.rounds); round++) {
    // The purchases' inputs are made before the clock starts: only the till's own work is counted.
    const inputs = Array.from({ length: perRound }, () => randomPurchase(club));
    const env = { now: new Date(), timeZone: 'Asia/Tehran' };
    let next = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Number(values.cashiers) }, async () => {
        while (next < inputs.length) await recordPurchase(db, inputs[next++]!, env);
      }),
    );
    const used = process.cpuUsage(cpu);
    const ms = (performance.now() - started) / perRound;
    console.log(JSON.stringify({ round, purchases: perRound, nodeCpuMsPerPurchase: Number(((used.user + used.system) / 1000 / perRound).toFixed(3)), userMs: Number((used.user / 1000 / perRound).toFixed(3)), sysMs: Number((used.system / 1000 / perRound).toFixed(3)), wallMsPerPurchase: Number(ms.toFixed(3)), load1m: Number(loadavg()[0]!.toFixed(2)) }));
  }
} finally {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => undefined);
  await handle.close();
}
