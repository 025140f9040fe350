import { sql, type Kysely } from 'kysely';

/**
 * What the referral funnel, campaign conversion and satisfaction reports read. Frozen once landed.
 * - invitation_opens: someone who was not a member opened an invitation link (first time per person
 *   and inviter). Before this, only joins and refusals were recorded, so the funnel had no "opened".
 * - Indexes so each report reads its period, not the whole table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('invitation_opens')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('inviter_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull())
    .addColumn('opened_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('invitation_opens_person_key', ['inviter_id', 'platform', 'user_id'])
    .execute();
  await sql`create index invitation_opens_opened_idx on invitation_opens (opened_at)`.execute(db);
  await sql`create index referrals_created_idx on referrals (created_at) include (status, referee_id)`.execute(db);
  // A buyer's latest campaign message before a purchase (last-touch attribution).
  await sql`create index campaign_outbox_delivered_idx on campaign_outbox (member_id, sent_at) include (campaign_id) where status = 'sent'`.execute(db);
  await sql`create index campaigns_started_idx on campaigns (started_at) where started_at is not null`.execute(db);
  await sql`create index satisfaction_checks_sent_idx on satisfaction_checks (sent_at) include (score, branch_id) where sent_at is not null`.execute(db);
  await sql`create index tickets_created_idx on tickets (created_at)`.execute(db);
  await sql`create index survey_responses_completed_idx on survey_responses (completed_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of ['survey_responses_completed_idx', 'tickets_created_idx', 'satisfaction_checks_sent_idx', 'campaigns_started_idx', 'campaign_outbox_delivered_idx', 'referrals_created_idx']) {
    await sql`drop index if exists ${sql.id(index)}`.execute(db);
  }
  await db.schema.dropTable('invitation_opens').ifExists().execute();
}
