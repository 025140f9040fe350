/**
 * A statement whose text starts with this comment is sent to PostgreSQL as a named prepared
 * statement: each connection parses, analyses and plans it once, then only binds and executes it
 * (the till's `select club_record_purchase(...)`: its parse and plan were ~7 % of the server's CPU
 * per purchase in a perf profile). Only for texts that are constants, the values all parameters:
 * every distinct text is one statement kept by every connection for its life. On the embedded
 * database it is prepared once per PGlite instance and run with EXECUTE (see pglite-dialect.ts).
 */
export const PREPARED = '/* prepared */ ';
