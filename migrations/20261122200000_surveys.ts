import { sql, type Kysely } from 'kysely';

// Surveys built in the bot, sent through an outbox, answered with buttons. Frozen once landed.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('surveys')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('title_fa', 'text', (c) => c.notNull())
    .addColumn('title_en', 'text')
    .addColumn('reward_points', 'integer', (c) => c.notNull().defaultTo(0).check(sql`reward_points >= 0`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft').check(sql`status in ('draft', 'published', 'closed')`))
    .addColumn('audience', 'jsonb', (c) => c.notNull().defaultTo(sql`'{"kind":"all"}'::jsonb`))
    .addColumn('closes_at', 'timestamptz')
    .addColumn('created_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('published_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('survey_questions')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('survey_id', 'integer', (c) => c.notNull().references('surveys.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('rating', 'nps', 'single', 'multi', 'text')`))
    .addColumn('text_fa', 'text', (c) => c.notNull())
    .addColumn('text_en', 'text')
    .addColumn('options', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('optional', 'boolean', (c) => c.notNull().defaultTo(false))
    .addUniqueConstraint('survey_questions_position_key', ['survey_id', 'position'])
    .execute();

  // The outbox: one row per invited member, claimed in batches and sent at a steady rate.
  await db.schema
    .createTable('survey_invitations')
    .addColumn('survey_id', 'integer', (c) => c.notNull().references('surveys.id').onDelete('cascade'))
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'sent', 'failed')`))
    .addColumn('sent_at', 'timestamptz')
    .addPrimaryKeyConstraint('survey_invitations_pk', ['survey_id', 'member_id'])
    .execute();
  await sql`create index survey_invitations_pending_idx on survey_invitations (survey_id) where status = 'pending'`.execute(db);

  await db.schema
    .createTable('survey_responses')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('survey_id', 'integer', (c) => c.notNull().references('surveys.id').onDelete('cascade'))
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('answers', 'jsonb', (c) => c.notNull())
    .addColumn('completed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('survey_responses_member_key', ['survey_id', 'member_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['survey_responses', 'survey_invitations', 'survey_questions', 'surveys']) await db.schema.dropTable(table).ifExists().execute();
}
