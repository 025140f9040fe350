import { randomBytes } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import { createDatabase, openPGlite, type DatabaseHandle } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

/**
 * A migrated database of its own for each test file (or test), in a fresh schema.
 * With DATABASE_URL set it is real PostgreSQL; otherwise one in-memory PGlite per worker process,
 * opened once (it takes seconds) and shared by every schema the worker makes.
 */
const shared = globalThis as { __bashgahPGlite?: Promise<PGlite> };

export function usingPostgres() {
  return Boolean(process.env.DATABASE_URL);
}

export async function testDatabase(): Promise<DatabaseHandle> {
  // Named after the run (test/support/global-setup.ts drops the run's schemas at the end).
  const schema = `t_${process.env.BASHGAH_TEST_RUN ?? 'x'}_${randomBytes(6).toString('hex')}`;
  const handle = process.env.DATABASE_URL
    ? await createDatabase({ databaseUrl: process.env.DATABASE_URL, schema, poolSize: 20 })
    : await createDatabase({ pglite: await (shared.__bashgahPGlite ??= openPGlite('memory://')), schema });
  await migrateToLatest(handle);
  // On PostgreSQL the schema stays until the run ends (global-setup.ts drops it then): dropping it
  // while other workers migrate races with their catalog scans. A worker's PGlite is its own, so
  // there the schema is dropped at once, to keep the worker's memory down.
  if (process.env.DATABASE_URL) return handle;
  const close = handle.close;
  return {
    ...handle,
    async close() {
      await handle.db.schema.dropSchema(schema).ifExists().cascade().execute().catch(() => undefined);
      await close();
    },
  };
}
