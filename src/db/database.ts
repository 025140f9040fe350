import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { PGliteDialect } from './pglite-dialect.ts';

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  /** PostgreSQL connection string; when absent the embedded PGlite is used. */
  databaseUrl?: string | undefined;
  /** Where PGlite keeps its files; `memory://` for a throwaway database. */
  dataDir?: string | undefined;
  /** Put every table in this schema (tests use one schema per test file). */
  schema?: string | undefined;
  /** Reuse an already open PGlite instead of opening `dataDir` (tests share one per worker). */
  pglite?: PGlite | undefined;
  poolSize?: number | undefined;
}

export interface DatabaseHandle {
  db: Db;
  driver: 'pg' | 'pglite';
  schema: string | undefined;
  close(): Promise<void>;
}

const OID = { int8: 20, numeric: 1700, date: 1082 } as const;

/**
 * Both drivers return the same JavaScript types:
 * - int8 (ids, Telegram user ids, Rials, points, counts) -> number. Every such value in the club
 *   stays far below 2^53 (Telegram ids fit in 52 bits; 2^53 Rials is ~9 quadrillion), and a value
 *   that does not fit throws instead of silently losing precision.
 * - numeric -> string (exact; multipliers and percentages are parsed where used).
 * - date -> 'YYYY-MM-DD' string (a calendar date has no time zone; pg would make a local Date).
 */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} is outside the safe integer range`);
  return n;
}
const identity = (text: string) => text;

const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === OID.int8) return parseInt8;
    if (oid === OID.numeric || oid === OID.date) return identity;
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
} as pg.CustomTypesConfig;

export const pgliteParsers = {
  [OID.int8]: parseInt8,
  [OID.numeric]: identity,
  [OID.date]: identity,
};

export function openPGlite(dataDir: string): Promise<PGlite> {
  return PGlite.create(dataDir, { parsers: pgliteParsers });
}

export function assertSchemaName(schema: string) {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
}

export async function createDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const { schema } = options;
  if (schema) assertSchemaName(schema);

  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      types: pgTypes,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    return { db, driver: 'pg', schema, close: () => db.destroy() };
  }

  const owned = !options.pglite;
  const pglite = options.pglite ?? (await openPGlite(options.dataDir ?? './data'));
  if (schema) {
    await pglite.exec(`create schema if not exists ${schema}; set search_path to ${schema}`);
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    driver: 'pglite',
    schema,
    async close() {
      await db.destroy();
      if (owned) await pglite.close();
    },
  };
}
