import { sql, type Kysely } from 'kysely';

// Profiles, tickets (complaints, suggestions, questions) and surveys. Frozen once landed.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('members')
    .addColumn('city', 'text')
    .addColumn('email', 'text')
    .addColumn('interests', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('heard_from', 'text')
    .addColumn('profile_completed_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('tickets')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('complaint', 'suggestion', 'question', 'low_score')`))
    .addColumn('category', 'text', (c) => c.notNull().check(sql`category in ('product', 'service', 'staff', 'price', 'other')`))
    .addColumn('branch_id', 'integer', (c) => c.references('branches.id'))
    .addColumn('purchase_id', 'bigint', (c) => c.references('purchases.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open', 'closed')`))
    .addColumn('rating', 'integer', (c) => c.check(sql`rating between 1 and 5`))
    .addColumn('first_response_at', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('closed_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index tickets_open_idx on tickets (created_at) where status = 'open'`.execute(db);

  await db.schema
    .createTable('ticket_messages')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('ticket_id', 'bigint', (c) => c.notNull().references('tickets.id'))
    .addColumn('from_staff', 'boolean', (c) => c.notNull())
    .addColumn('author_member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('photo_file_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('ticket_messages_ticket_idx').on('ticket_messages').columns(['ticket_id', 'id']).execute();

  // Purchases waiting for their "how was your visit?" question.
  await db.schema
    .createTable('satisfaction_checks')
    .addColumn('purchase_id', 'bigint', (c) => c.primaryKey().references('purchases.id'))
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('branch_id', 'integer', (c) => c.notNull().references('branches.id'))
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz')
    .addColumn('score', 'integer', (c) => c.check(sql`score between 1 and 5`))
    .addColumn('comment', 'text')
    .addColumn('ticket_id', 'bigint', (c) => c.references('tickets.id'))
    .execute();
  await sql`create index satisfaction_checks_due_idx on satisfaction_checks (due_at) where sent_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('satisfaction_checks').ifExists().execute();
  await db.schema.dropTable('ticket_messages').ifExists().execute();
  await db.schema.dropTable('tickets').ifExists().execute();
  for (const column of ['profile_completed_at', 'heard_from', 'interests', 'email', 'city']) {
    await db.schema.alterTable('members').dropColumn(column).execute();
  }
}
