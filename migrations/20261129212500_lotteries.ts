import { sql, type Kysely } from 'kysely';

// Lotteries (قرعه‌کشی) drawn by commit–reveal: the seed's SHA-256 is published at creation, the
// ticket list is frozen and its digest stored at the draw, and the seed is revealed with the
// winners. See src/club/lotteries.ts and README "Lotteries". Frozen once landed.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('lotteries')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    // [{ title, count, points?, voucher_pool_id? }] in the order they are drawn.
    .addColumn('prizes', 'jsonb', (c) => c.notNull())
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('min_tier_id', 'integer', (c) => c.references('tiers.id'))
    .addColumn('opted_in_only', 'boolean', (c) => c.notNull())
    .addColumn('segment_id', 'integer', (c) => c.references('segments.id'))
    .addColumn('ticket_mode', 'text', (c) => c.notNull().check(sql`ticket_mode in ('points', 'purchase', 'bought')`))
    // Points earned per ticket ('points'), or the price of a ticket in points ('bought').
    .addColumn('points_per_ticket', 'integer', (c) => c.notNull().check(sql`points_per_ticket > 0`))
    .addColumn('unique_winners', 'boolean', (c) => c.notNull())
    // Winners of the last K drawn lotteries take no part (0: nobody is excluded).
    .addColumn('exclude_last', 'integer', (c) => c.notNull().check(sql`exclude_last >= 0`))
    // The secret (hex, 32 bytes) and its SHA-256, published at creation; the seed is shown only once drawn.
    .addColumn('seed', 'text', (c) => c.notNull())
    .addColumn('commitment', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open', 'drawn', 'cancelled')`))
    // Set by the draw, in the same transaction as the winners: the published proof (ticket list,
    // digest, seed, winners), exactly what members download.
    .addColumn('list_digest', 'text')
    .addColumn('proof', 'jsonb')
    .addColumn('drawn_at', 'timestamptz')
    .addColumn('announcement_campaign_id', 'integer', (c) => c.references('campaigns.id'))
    .addColumn('result_campaign_id', 'integer', (c) => c.references('campaigns.id'))
    .addColumn('created_by', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('lotteries_period', sql`ends_at > starts_at`)
    .addCheckConstraint('lotteries_drawn', sql`(status = 'drawn') = (proof is not null and drawn_at is not null)`)
    .execute();
  await sql`create index lotteries_due_idx on lotteries (ends_at) where status = 'open'`.execute(db);

  // Tickets bought with points, each purchase keyed by the member's confirmation (one press, one debit).
  await db.schema
    .createTable('lottery_ticket_purchases')
    .addColumn('lottery_id', 'integer', (c) => c.notNull().references('lotteries.id'))
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('tickets', 'integer', (c) => c.notNull().check(sql`tickets > 0`))
    .addColumn('points', 'bigint', (c) => c.notNull().check(sql`points > 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('lottery_ticket_purchases_pk', ['lottery_id', 'member_id', 'key'])
    .execute();

  // One row per prize won; the primary key makes a second draw of the same lottery impossible.
  await db.schema
    .createTable('lottery_winners')
    .addColumn('lottery_id', 'integer', (c) => c.notNull().references('lotteries.id'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('prize_index', 'integer', (c) => c.notNull())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('ticket', 'bigint', (c) => c.notNull())
    .addColumn('voucher_code', 'text')
    // Set before the winner is told (at most once; a crash in between loses the message, never doubles it).
    .addColumn('notified_at', 'timestamptz')
    .addPrimaryKeyConstraint('lottery_winners_pk', ['lottery_id', 'position'])
    .execute();
  await sql`create index lottery_winners_member_idx on lottery_winners (member_id)`.execute(db);
  await sql`create index lottery_winners_unnotified_idx on lottery_winners (lottery_id) where notified_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('lottery_winners').ifExists().execute();
  await db.schema.dropTable('lottery_ticket_purchases').ifExists().execute();
  await db.schema.dropTable('lotteries').ifExists().execute();
}
