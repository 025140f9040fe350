import { sql, type Kysely } from 'kysely';

/**
 * Customers in: imports of members and of POS purchases, and pre-registered members.
 * - members.join_bonus_due: a pre-registered member (imported, or registered at the till) gets the
 *   signup bonus when they first join the bot only if this is set (the owner's choice at import).
 * - members.note: the merchant's note from their old system.
 * - imports: each uploaded file (kept, so the Confirm button works in any process and after a
 *   restart), its options and what applying it did. Frozen once landed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('members')
    .addColumn('join_bonus_due', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('note', 'text')
    .execute();
  await db.schema
    .createTable('imports')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('members', 'purchases')`))
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('file_sha256', 'text', (c) => c.notNull())
    .addColumn('content', 'bytea', (c) => c.notNull())
    .addColumn('actor_member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('signup_bonus', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('valid', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('previewed', 'applying', 'applied')`))
    .addColumn('result', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('applied_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('imports').ifExists().execute();
  await db.schema.alterTable('members').dropColumn('join_bonus_due').dropColumn('note').execute();
}
