import { sql, type Kysely } from 'kysely';

/**
 * One-time staff invitations: an owner or manager makes a link, the person who opens it becomes
 * staff of the chosen branch. A token is used once (used_by) and only before expires_at. Frozen once landed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('staff_invites')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('token', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('manager', 'cashier')`))
    .addColumn('branch_id', 'integer', (c) => c.references('branches.id'))
    .addColumn('created_by', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('used_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('staff_invites').ifExists().execute();
}
