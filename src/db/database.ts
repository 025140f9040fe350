import type { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import v8 from 'node:v8';
import pg from 'pg';
import type { Database } from './schema.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { PREPARED } from './prepared.ts';

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
  /** Shown in pg_stat_activity (tests name their own connections to terminate them). */
  applicationName?: string | undefined;
}

export interface DatabaseHandle {
  db: Db;
  driver: 'pg' | 'pglite';
  schema: string | undefined;
  close(): Promise<void>;
  /**
   * Called once for each connection the server closes (restart, failover, a proxy's idle timeout,
   * pg_terminate_backend). The pool drops that connection and opens a new one when needed.
   */
  onConnectionLost(listener: (error: Error) => void): () => void;
  /** Connections of the pool (pg only; the embedded database has none), for /metrics. */
  poolStats?: () => { total: number; idle: number; waiting: number };
  /**
   * A connection of its own, outside the pool (pg only): for a session held as long as the process
   * runs (long polling's journal lock, see updateJournal), which would otherwise take one of the
   * pool's connections for good and keep `close` waiting for it. `onLost` hears when the server
   * closes it (so do the onConnectionLost listeners). Destroy it when done.
   */
  session?: (onLost?: (error: Error) => void) => Db;
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

/** Statements marked PREPARED (see prepared.ts), by text: their name on every connection. */
const preparedNames = new Map<string, string>();

class PreparingClient extends pg.Client {
  // pg's query() has many overloads; Kysely calls query(text, values).
  override query(...args: unknown[]): any {
    const [text, values] = args;
    if (typeof text === 'string' && text.startsWith(PREPARED)) {
      let name = preparedNames.get(text);
      if (name === undefined) preparedNames.set(text, (name = `club_${preparedNames.size + 1}`));
      return super.query({ name, text, values: values as unknown[] });
    }
    return (super.query as (...a: unknown[]) => unknown)(...args);
  }
}

export const pgliteParsers = {
  [OID.int8]: parseInt8,
  [OID.numeric]: identity,
  [OID.date]: identity,
};

/**
 * The embedded database's shared buffers. PGlite's default, 128 MB, is resident in the club's
 * process from the moment it opens (its memory is set up at start): 325 MB of RSS at open against
 * 183 MB with 16 MB, on the same data dir. A club's data is small and the operating system caches
 * its files anyway (issue 14: RSS with 10,000 open conversations).
 */
const PGLITE_SHARED_BUFFERS = '16MB';

/**
 * The embedded database's WebAssembly runs on V8's baseline compiler (Liftoff) only, without
 * tiering up to TurboFan, which kept a second, optimised copy of PGlite's code in memory. Measured
 * on the club with 10,000 open conversations (issue 14): RSS 267–299 -> 213 MB, start-up 700–760 ->
 * 550–620 ms, updates/s unchanged (1,437 against 1,418, two runs each). Set before the module is
 * compiled; it only concerns WebAssembly, and the club has no other.
 */
const WASM_FLAGS = '--liftoff-only';

/** The embedded database's module (WASM, ~40 MB of RSS) is loaded only by a club that uses it. */
export async function openPGlite(dataDir: string): Promise<PGlite> {
  v8.setFlagsFromString(WASM_FLAGS);
  const { PGlite } = await import('@electric-sql/pglite');
  return PGlite.create(dataDir, { parsers: pgliteParsers, startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`] });
}

export function assertSchemaName(schema: string) {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
}

export async function createDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const { schema } = options;
  if (schema) assertSchemaName(schema);

  if (options.databaseUrl) {
    const settings = {
      connectionString: options.databaseUrl,
      types: pgTypes,
      Client: PreparingClient as unknown as new () => pg.ClientBase,
      application_name: options.applicationName ?? 'bashgah',
      // While the server is down or unreachable an update fails within seconds (and its sender is
      // asked to try again) instead of waiting for the operating system's connect timeout.
      connectionTimeoutMillis: 5_000,
      // A proxy or firewall that silently drops idle connections is noticed.
      keepAlive: true,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    };
    const pool = new pg.Pool({ ...settings, max: options.poolSize ?? 10 });
    const lost = watchConnections(pool);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    return {
      db,
      driver: 'pg',
      schema,
      close: () => db.destroy(),
      onConnectionLost: (l) => (lost.add(l), () => lost.delete(l)),
      poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      session: (onLost) => {
        const own = new pg.Pool({ ...settings, max: 1 });
        watchConnections(own, lost);
        if (onLost) own.on('connect', (client) => client.on('error', onLost));
        return new Kysely<Database>({ dialect: new PostgresDialect({ pool: own }) });
      },
    };
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
    // The embedded database lives in this process: there is no connection to lose.
    onConnectionLost: () => () => undefined,
  };
}

/**
 * A connection the server closes emits 'error' on its client (and on the pool when it was idle);
 * an EventEmitter without a listener throws that error and ends the process. Every client gets a
 * listener for its whole life, checked out or idle: a broken client is not returned to the pool
 * (pg drops clients that are no longer queryable) and the query that was running on it fails like
 * any other database error, which the bot answers with "try again in a minute".
 */
function watchConnections(pool: pg.Pool, listeners = new Set<(error: Error) => void>()): Set<(error: Error) => void> {
  const reported = new WeakSet<pg.PoolClient>();
  pool.on('error', () => undefined); // idle clients: reported through their own listener below
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      // A terminated connection reports twice (the server's message, then the closed socket).
      if (reported.has(client)) return;
      reported.add(client);
      for (const listener of listeners) listener(error);
    });
  });
  return listeners;
}

/**
 * SQLSTATEs that mean the server went away, not that the statement was wrong: connection
 * exceptions (08...), shutting down or starting up (57P01-57P03), too many connections (53300), and
 * a write reaching a standby during a failover (25006).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300|25006)$/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * True for errors that say the database cannot be reached right now (down, restarting, failing
 * over, connections terminated): worth "try again in a minute", not a bug report.
 */
/** A short account of a database error for the log (an outage logs one per update: no stacks). */
export function describeDatabaseError(error: unknown): { code?: string; message: string } {
  const e = error as { code?: unknown; message?: unknown } | null;
  return { ...(typeof e?.code === 'string' ? { code: e.code } : {}), message: String(e?.message ?? error) };
}

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown } | null | undefined;
  if (!e || typeof e !== 'object' || depth > 4) return false;
  if (typeof e.code === 'string' && (UNAVAILABLE_SQLSTATE.test(e.code) || UNAVAILABLE_ERRNO.has(e.code))) return true;
  // pg's own words for a connection that closed or could not be made in time.
  if (typeof e.message === 'string' && /^Connection terminated|not queryable|timeout exceeded when trying to connect/.test(e.message)) return true;
  // Connecting to a name with several addresses fails with one error per address.
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
