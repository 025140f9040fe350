import { sql, type Kysely } from 'kysely';

// Lotteries (قرعه‌کشی) drawn by commit–reveal: the seed's SHA-256 is published at creation, the
// ticket list is frozen and its digest stored at the draw, and the seed is revealed with the
// winners. See src/club/lotteries.ts and README "Lotteries". Quizzes (مسابقه): questions with 2–4
// options, one attempt per member, one answer per question (keyed). News and events posted by
// managers. Badges for milestones, each earned once per member. Frozen once landed.

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
  await db.schema
    .createTable('quizzes')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('segment_id', 'integer', (c) => c.references('segments.id'))
    .addColumn('points_per_answer', 'integer', (c) => c.notNull().check(sql`points_per_answer >= 0`))
    // Null: no limit. Counted from when the question was first shown to the member.
    .addColumn('seconds_per_question', 'integer', (c) => c.check(sql`seconds_per_question > 0`))
    .addColumn('opens_at', 'timestamptz', (c) => c.notNull())
    .addColumn('closes_at', 'timestamptz', (c) => c.notNull())
    .addColumn('campaign_id', 'integer', (c) => c.references('campaigns.id'))
    .addColumn('created_by', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('quizzes_window', sql`closes_at > opens_at`)
    .execute();
  await db.schema
    .createTable('quiz_questions')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('quiz_id', 'integer', (c) => c.notNull().references('quizzes.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('options', 'jsonb', (c) => c.notNull())
    .addColumn('correct', 'integer', (c) => c.notNull().check(sql`correct between 0 and 3`))
    .addUniqueConstraint('quiz_questions_position_key', ['quiz_id', 'position'])
    .execute();
  // One attempt per member (the key), whatever device or messenger they answer from.
  await db.schema
    .createTable('quiz_attempts')
    .addColumn('quiz_id', 'integer', (c) => c.notNull().references('quizzes.id').onDelete('cascade'))
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addColumn('score', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('quiz_attempts_pk', ['quiz_id', 'member_id'])
    .execute();
  // One row per question shown; it is answered once (answered_at set by the first press only).
  await db.schema
    .createTable('quiz_answers')
    .addColumn('quiz_id', 'integer', (c) => c.notNull())
    .addColumn('member_id', 'bigint', (c) => c.notNull())
    .addColumn('question_id', 'integer', (c) => c.notNull().references('quiz_questions.id').onDelete('cascade'))
    .addColumn('asked_at', 'timestamptz', (c) => c.notNull())
    .addColumn('answered_at', 'timestamptz')
    .addColumn('choice', 'integer')
    .addColumn('correct', 'boolean')
    .addPrimaryKeyConstraint('quiz_answers_pk', ['quiz_id', 'member_id', 'question_id'])
    .addForeignKeyConstraint('quiz_answers_attempt_fk', ['quiz_id', 'member_id'], 'quiz_attempts', ['quiz_id', 'member_id'], (c) => c.onDelete('cascade'))
    .execute();

  await db.schema
    .createTable('news')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('photo_file_id', 'text')
    // An event's day (null: news); the branch it concerns (null: every branch).
    .addColumn('event_at', 'timestamptz')
    .addColumn('branch_id', 'integer', (c) => c.references('branches.id'))
    .addColumn('button', 'jsonb')
    .addColumn('campaign_id', 'integer', (c) => c.references('campaigns.id'))
    .addColumn('created_by', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();

  // The milestones a shop cares about; the owner switches them on and off and sets their points.
  await db.schema
    .createTable('badges')
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0).check(sql`points >= 0`))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .execute();
  await db
    .insertInto('badges')
    .values([
      { code: 'first_purchase', position: 1, points: 20 },
      { code: 'fifth_visit', position: 2, points: 50 },
      { code: 'three_visits_month', position: 3, points: 30 },
      { code: 'first_invite', position: 4, points: 30 },
      { code: 'profile_complete', position: 5, points: 0 },
      { code: 'survey_answered', position: 6, points: 0 },
    ])
    .execute();
  await db.schema
    .createTable('member_badges')
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('code', 'text', (c) => c.notNull().references('badges.code'))
    .addColumn('earned_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('member_badges_pk', ['member_id', 'code'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('member_badges').ifExists().execute();
  await db.schema.dropTable('badges').ifExists().execute();
  await db.schema.dropTable('news').ifExists().execute();
  await db.schema.dropTable('quiz_answers').ifExists().execute();
  await db.schema.dropTable('quiz_attempts').ifExists().execute();
  await db.schema.dropTable('quiz_questions').ifExists().execute();
  await db.schema.dropTable('quizzes').ifExists().execute();
  await db.schema.dropTable('lottery_winners').ifExists().execute();
  await db.schema.dropTable('lottery_ticket_purchases').ifExists().execute();
  await db.schema.dropTable('lotteries').ifExists().execute();
}
