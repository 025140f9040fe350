import { sql, type Kysely } from 'kysely';

// Voucher pools and their codes, campaign vouchers, and automations (birthday, win-back,
// occasions) with a once-per-member-per-occasion record. Frozen once landed.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('voucher_pools')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('discount_kind', 'text', (c) => c.notNull().check(sql`discount_kind in ('percent', 'rials')`))
    .addColumn('discount_value', 'bigint', (c) => c.notNull().check(sql`discount_value > 0`))
    // 'generated' pools make more codes when a campaign needs them; 'uploaded' ones have what was sent.
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('generated', 'uploaded')`))
    .addColumn('valid_from', 'timestamptz', (c) => c.notNull())
    .addColumn('valid_to', 'timestamptz', (c) => c.notNull())
    .addColumn('per_member_limit', 'integer', (c) => c.notNull().defaultTo(1).check(sql`per_member_limit > 0`))
    .addColumn('segment_id', 'integer', (c) => c.references('segments.id'))
    .addColumn('created_by', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('voucher_pools_window', sql`valid_to > valid_from`)
    .execute();

  await db.schema
    .createTable('voucher_codes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('pool_id', 'integer', (c) => c.notNull().references('voucher_pools.id').onDelete('cascade'))
    // Stored upper-case without separators: what the cashier types is normalised the same way.
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('member_id', 'bigint', (c) => c.references('members.id'))
    .addColumn('assigned_at', 'timestamptz')
    .addColumn('redeemed_at', 'timestamptz')
    .addColumn('redeemed_member_id', 'bigint', (c) => c.references('members.id'))
    .addColumn('redeemed_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('redeemed_branch_id', 'integer', (c) => c.references('branches.id'))
    .execute();
  await sql`create index voucher_codes_free_idx on voucher_codes (pool_id, id) where member_id is null and redeemed_at is null`.execute(db);
  await sql`create index voucher_codes_redeemer_idx on voucher_codes (pool_id, redeemed_member_id) where redeemed_at is not null`.execute(db);

  await db.schema.alterTable('campaigns').addColumn('voucher_pool_id', 'integer', (c) => c.references('voucher_pools.id')).execute();
  // Set by automations: the campaign that delivers one automation's messages for one day.
  await db.schema.alterTable('campaigns').addColumn('automation_id', 'integer').execute();
  await db.schema.alterTable('campaign_outbox').addColumn('voucher_code', 'text').execute();
  // Claims take pending rows in member order: with member_id in the index they come off it in
  // order instead of sorting every pending row of a big campaign for each batch.
  await sql`drop index campaign_outbox_pending_idx`.execute(db);
  await sql`create index campaign_outbox_pending_idx on campaign_outbox (campaign_id, platform, member_id) where status = 'pending'`.execute(db);

  // One process at a time sends each platform's campaigns: the configured rate, the 429 pause and
  // one message a second per chat then hold across processes. The holder renews its lease while
  // it sends; a process that dies lets it expire, and the next holder declares the rows the dead
  // one had in flight lost (never sent twice).
  await db.schema
    .createTable('dispatch_leases')
    .addColumn('platform', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('until', 'timestamptz', (c) => c.notNull())
    .addColumn('paused_until', 'timestamptz')
    .execute();

  await db.schema
    .createTable('automations')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('birthday', 'winback', 'occasion')`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(false))
    // Null: the built-in greeting in the member's language.
    .addColumn('message', 'text')
    .addColumn('segment_id', 'integer', (c) => c.references('segments.id'))
    .addColumn('gift_points', 'integer', (c) => c.notNull().defaultTo(0).check(sql`gift_points >= 0`))
    .addColumn('voucher_pool_id', 'integer', (c) => c.references('voucher_pools.id'))
    // Birthday: days before the birthday to send. Win-back: days without a purchase.
    .addColumn('days', 'integer', (c) => c.notNull().defaultTo(0).check(sql`days >= 0`))
    // Occasions: the Jalali month and day.
    .addColumn('jalali_month', 'integer', (c) => c.check(sql`jalali_month between 1 and 12`))
    .addColumn('jalali_day', 'integer', (c) => c.check(sql`jalali_day between 1 and 31`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // The record that makes every automation idempotent: one row per member per occasion
  // ('1405' for a birthday year, the quiet period's start for a win-back, '1405-01-01' for Nowruz).
  await db.schema
    .createTable('automation_deliveries')
    .addColumn('automation_id', 'integer', (c) => c.notNull().references('automations.id').onDelete('cascade'))
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('occasion', 'text', (c) => c.notNull())
    .addColumn('campaign_id', 'integer', (c) => c.references('campaigns.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('automation_deliveries_pk', ['automation_id', 'member_id', 'occasion'])
    .execute();

  await db
    .insertInto('automations')
    .values([
      { kind: 'birthday', name: 'birthday', days: 0 },
      { kind: 'winback', name: 'winback', days: 60 },
      { kind: 'occasion', name: 'nowruz', jalali_month: 1, jalali_day: 1 },
      { kind: 'occasion', name: 'yalda', jalali_month: 9, jalali_day: 30 },
    ])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('automation_deliveries').ifExists().execute();
  await db.schema.dropTable('automations').ifExists().execute();
  await db.schema.dropTable('dispatch_leases').ifExists().execute();
  await sql`drop index campaign_outbox_pending_idx`.execute(db);
  await sql`create index campaign_outbox_pending_idx on campaign_outbox (campaign_id, platform) where status = 'pending'`.execute(db);
  await db.schema.alterTable('campaign_outbox').dropColumn('voucher_code').execute();
  await db.schema.alterTable('campaigns').dropColumn('automation_id').execute();
  await db.schema.alterTable('campaigns').dropColumn('voucher_pool_id').execute();
  await db.schema.dropTable('voucher_codes').ifExists().execute();
  await db.schema.dropTable('voucher_pools').ifExists().execute();
}
