import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildIfStale } from '../../scripts/build.mjs';

/**
 * One id per `npm test` run: every test schema is named after it, and the schemas are dropped here
 * once all workers are done. Dropping them while other workers run made PostgreSQL's catalog scans
 * (Kysely's migrator introspects every table) fail now and then with "schema … does not exist".
 */
export async function setup() {
  process.env.BASHGAH_TEST_RUN ??= randomBytes(3).toString('hex');
  // The tests that run the club as a process run what `npm start` runs: the compiled club. Built
  // here, once, so that those processes never build it themselves, several at once.
  await buildIfStale();
}

export async function teardown() {
  const run = process.env.BASHGAH_TEST_RUN;
  if (!process.env.DATABASE_URL || !run) return;
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(`select nspname from pg_namespace where nspname like $1`, [`t\\_${run}\\_%`]);
    for (const { nspname } of rows) await client.query(`drop schema if exists "${nspname}" cascade`);
  } finally {
    await client.end();
  }
}
