import { sql, type Kysely } from 'kysely';

// Segments, campaigns and their delivery outbox. Frozen once landed.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('segments')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    // { groups: [[condition, ...], ...] }: conditions in a group are ANDed, groups are ORed.
    .addColumn('filter', 'jsonb', (c) => c.notNull())
    .addColumn('created_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('segment_id', 'integer', (c) => c.references('segments.id'))
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('photo_file_id', 'text')
    .addColumn('button', 'jsonb')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft').check(sql`status in ('draft', 'scheduled', 'sending', 'paused', 'done', 'cancelled')`))
    .addColumn('scheduled_at', 'timestamptz')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('created_by', 'bigint', (c) => c.notNull().references('members.id'))
    // Where the sender follows progress (an edited status message).
    .addColumn('status_platform', 'text')
    .addColumn('status_chat_id', 'bigint')
    .addColumn('status_message_id', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // One row per recipient account. 'sending' is claimed and not yet confirmed: after a crash such
  // rows are not sent again (at most one batch per dispatcher can be lost, none doubled).
  await db.schema
    .createTable('campaign_outbox')
    .addColumn('campaign_id', 'integer', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('chat_id', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'sending', 'sent', 'failed', 'blocked', 'lost')`))
    .addColumn('error', 'text')
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addPrimaryKeyConstraint('campaign_outbox_pk', ['campaign_id', 'platform', 'chat_id'])
    .execute();
  await sql`create index campaign_outbox_pending_idx on campaign_outbox (campaign_id, platform) where status = 'pending'`.execute(db);

  // Segment counts over many members: the columns filters use most.
  await db.schema.createIndex('members_tier_idx').on('members').column('tier_id').execute();
  await db.schema.createIndex('members_points_idx').on('members').column('points_balance').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('campaign_outbox').ifExists().execute();
  await db.schema.dropTable('campaigns').ifExists().execute();
  await db.schema.dropTable('segments').ifExists().execute();
  await db.schema.dropIndex('members_tier_idx').ifExists().execute();
  await db.schema.dropIndex('members_points_idx').ifExists().execute();
}
