import { sql, type Kysely } from 'kysely';

// Referrals and growth links. Frozen once landed.

export async function up(db: Kysely<any>): Promise<void> {
  // Named join links for posters, bios, SMS and branches: start=j_<slug>.
  await db.schema
    .createTable('join_links')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('branch_id', 'integer', (c) => c.references('branches.id'))
    .addColumn('created_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema.alterTable('members').addColumn('join_link_id', 'integer', (c) => c.references('join_links.id')).execute();
  await db.schema.alterTable('members').addColumn('referred_by', 'bigint', (c) => c.references('members.id')).execute();
  await db.schema.createIndex('members_referred_by_idx').on('members').column('referred_by').execute();
  await db.schema.createIndex('members_join_link_idx').on('members').column('join_link_id').execute();

  // Every use of an invitation link, accepted or refused, with the reason managers see.
  await db.schema
    .createTable('referrals')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('inviter_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('referee_id', 'bigint', (c) => c.references('members.id'))
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull())
    .addColumn(
      'status',
      'text',
      (c) => c.notNull().check(sql`status in ('pending', 'pending_review', 'rewarded', 'refused', 'rejected', 'reversed')`),
    )
    .addColumn('reason', 'text')
    .addColumn('qualifying_purchase_id', 'bigint', (c) => c.references('purchases.id'))
    .addColumn('inviter_points', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('decided_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // One accepted referral per person: the reward can never be paid twice for one friend.
  await sql`create unique index referrals_referee_key on referrals (referee_id) where status <> 'refused'`.execute(db);
  await db.schema.createIndex('referrals_inviter_idx').on('referrals').columns(['inviter_id', 'created_at']).execute();

  // The friend's welcome voucher, shown to the cashier until the first purchase uses it.
  await db.schema
    .createTable('member_vouchers')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('percent', 'integer', (c) => c.notNull().check(sql`percent between 1 and 100`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_purchase_id', 'bigint', (c) => c.references('purchases.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('member_vouchers_member_kind_key', ['member_id', 'kind'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('member_vouchers').ifExists().execute();
  await db.schema.dropTable('referrals').ifExists().execute();
  await db.schema.alterTable('members').dropColumn('referred_by').execute();
  await db.schema.alterTable('members').dropColumn('join_link_id').execute();
  await db.schema.dropTable('join_links').ifExists().execute();
}
