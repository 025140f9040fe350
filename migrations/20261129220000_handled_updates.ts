import { sql, type Kysely } from 'kysely';

/**
 * Updates the bots have taken on, so one delivered twice (same update_id: Telegram redelivers what
 * a bot did not confirm, e.g. after a crash) is handled once. Keyed by the bot too: a new token is a
 * new bot with its own numbering. Rows older than two days are pruned nightly (Telegram keeps an
 * unconfirmed update for 24 hours). Frozen once landed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('handled_updates')
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('bot_id', 'bigint', (c) => c.notNull())
    .addColumn('update_id', 'bigint', (c) => c.notNull())
    .addColumn('handled_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('handled_updates_pk', ['platform', 'bot_id', 'update_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('handled_updates').ifExists().execute();
}
