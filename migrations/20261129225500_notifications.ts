import { sql, type Kysely } from 'kysely';

/**
 * What the club owes a member because something happened to their money or their case (a receipt,
 * an approval request, a void, a reward, a ticket reply): one row per messenger account, written
 * in the same transaction as the change, sent from here by the platform's dispatch lease holder.
 * The body is a template (i18n keys and typed values), rendered at send time in the member's
 * language. Frozen once landed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('notifications')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('chat_id', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('body', 'jsonb', (c) => c.notNull())
    // Why this notice exists ('receipt:<purchase>'): a retried change never queues it twice.
    .addColumn('idempotency_key', 'text')
    // 'sending' is claimed and not yet confirmed: after a crash such rows are sent again.
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'sending', 'sent', 'failed', 'blocked')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create unique index notifications_key_idx on notifications (idempotency_key, platform, chat_id)`.execute(db);
  await sql`create index notifications_due_idx on notifications (platform, id) where status in ('pending', 'sending')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('notifications').ifExists().execute();
}
