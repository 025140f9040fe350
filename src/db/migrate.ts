import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator, sql, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { DatabaseHandle } from './database.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

const MIGRATION_FILE = /^(\d{14}_[\w-]+)\.ts$/;

/** Loads `migrations/*.ts` (timestamp-prefixed, so the name order is the run order). */
class FolderMigrationProvider implements MigrationProvider {
  constructor(private readonly folder: string) {}
  /** The migrations' names, from the folder alone: a start with nothing to do imports none of them. */
  async names(): Promise<string[]> {
    return (await readdir(this.folder)).flatMap((f) => MIGRATION_FILE.exec(f)?.[1] ?? []).sort();
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const name of await this.names()) {
      // A relative path the bundler can see (scripts/build.mjs): each migration becomes a chunk of
      // dist/, loaded only here. tsx and vitest resolve it from this file as any import.
      migrations[name] = (await import(`../../migrations/${name}.ts`)) as Migration;
    }
    return migrations;
  }
}

export class MigrationFailed extends Error {}

/**
 * Brings the schema up to date. Kysely takes a PostgreSQL advisory lock for the whole run, so two
 * processes starting at once migrate one after the other and the second finds nothing to do.
 */
export async function migrateToLatest(handle: DatabaseHandle): Promise<MigrationResultSet> {
  const provider = new FolderMigrationProvider(MIGRATIONS_DIR);
  // Most starts find nothing to do. Kysely's migrator would still scan the catalog of every schema
  // on the server (its table check), which races with DDL other clubs or test schemas run at the
  // same moment; one read of our own migration table answers the common case without it.
  if (await allApplied(handle, await provider.names())) return { results: [] };
  const migrator = new Migrator({
    db: handle.db,
    provider,
    ...(handle.schema ? { migrationTableSchema: handle.schema } : {}),
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationFailed(`migration ${failed} failed: ${String((result.error as Error).message ?? result.error)}`, {
      cause: result.error,
    });
  }
  return result;
}

async function allApplied(handle: DatabaseHandle, names: string[]): Promise<boolean> {
  const table = handle.schema ? sql`${sql.id(handle.schema)}.kysely_migration` : sql`kysely_migration`;
  try {
    const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(handle.db);
    const applied = new Set(rows.map((r) => r.name));
    return names.every((n) => applied.has(n));
  } catch {
    return false; // no migration table yet: a new database
  }
}
