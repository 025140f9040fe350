import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import pgUtils from 'pg/lib/utils.js';
import { PREPARED } from './prepared.ts';

/**
 * Kysely over embedded PGlite. PGlite is one backend with one session, so the driver hands out a
 * single connection at a time: a transaction holds it until commit or rollback and every other
 * query waits its turn. That gives the same isolation the pg pool gives, just serialised.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.pglite);
  }
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

class PGliteDriver implements Driver {
  private queue: Promise<void> = Promise.resolve();
  private readonly connection: PGliteConnection;

  constructor(pglite: PGlite) {
    this.connection = new PGliteConnection(pglite);
  }

  async init() {}

  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const previous = this.queue;
    this.queue = new Promise<void>((resolve) => (release = resolve));
    await previous;
    this.connection.release = release;
    return this.connection;
  }

  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings) {
    const level = settings.isolationLevel ? ` isolation level ${settings.isolationLevel}` : '';
    await conn.executeQuery(CompiledQuery.raw(`begin${level}`));
  }

  async commitTransaction(conn: DatabaseConnection) {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(conn: DatabaseConnection) {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(conn: DatabaseConnection) {
    (conn as PGliteConnection).release?.();
  }

  async destroy() {
    // The PGlite instance belongs to whoever created it (see createDatabase); closing it is theirs.
  }
}

/** Per PGlite instance (tests share one between handles), the statements it prepared: text -> name. */
const preparedBy = new WeakMap<PGlite, Map<string, string>>();

/**
 * A value as a SQL literal of unknown type, holding the text a bind parameter would carry (pg's own
 * text encoding: arrays, dates, JSON): PostgreSQL reads it with the parameter's input function, as
 * it reads a bound text value. standard_conforming_strings is on, so only quotes are doubled.
 */
function literal(value: unknown): string {
  const text = pgUtils.prepareValue(value) as string | null | Buffer;
  if (text === null) return 'null';
  if (typeof text !== 'string') throw new Error('a prepared statement on embedded PGlite takes no binary value');
  return `'${text.replaceAll("'", "''")}'`;
}

class PGliteConnection implements DatabaseConnection {
  release: (() => void) | undefined;
  constructor(private readonly pglite: PGlite) {}

  /**
   * A statement marked PREPARED (see prepared.ts) is prepared once per PGlite instance and then
   * run with EXECUTE: PGlite's query() parses and plans every text anew, and for the update intake
   * that planning was ~1.3 ms of the 1.4 ms a lone update's statement took (issue 14). EXECUTE
   * takes no bind parameters, so the values go in as literals of the text they would be bound as.
   */
  private async execute<R>(query: CompiledQuery) {
    let names = preparedBy.get(this.pglite);
    if (!names) {
      // The literals double quotes only: a backslash must mean itself (PostgreSQL's default).
      const { rows } = await this.pglite.query<{ standard_conforming_strings: string }>('show standard_conforming_strings');
      if (rows[0]?.standard_conforming_strings !== 'on') throw new Error('embedded PGlite must run with standard_conforming_strings on');
      preparedBy.set(this.pglite, (names = new Map()));
    }
    let name = names.get(query.sql);
    if (name === undefined) {
      name = `club_${names.size + 1}`;
      await this.pglite.query(`prepare ${name} as ${query.sql}`);
      names.set(query.sql, name);
    }
    const args = query.parameters.map(literal).join(', ');
    return this.pglite.query<R>(args ? `execute ${name}(${args})` : `execute ${name}`);
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = query.sql.startsWith(PREPARED) ? await this.execute<R>(query) : await this.pglite.query<R>(query.sql, [...query.parameters]);
    const affected = result.affectedRows;
    return {
      rows: result.rows,
      ...(affected !== undefined ? { numAffectedRows: BigInt(affected) } : {}),
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on embedded PGlite');
  }
}
