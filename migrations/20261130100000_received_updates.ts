import { sql, type Kysely } from 'kysely';

/**
 * Long polling's journal (issue 14): each update fetched with getUpdates is written here before the
 * platform is told it was received (the next getUpdates' offset), and deleted once it was handled.
 * A process killed mid-way leaves its unfinished updates here; the next one handles them first.
 * So a poll need not fetch again every update still in flight. Frozen once landed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('received_updates')
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('bot_id', 'bigint', (c) => c.notNull())
    .addColumn('update_id', 'bigint', (c) => c.notNull())
    .addColumn('payload', 'json', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('received_updates_pk', ['platform', 'bot_id', 'update_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('received_updates').ifExists().execute();
}
