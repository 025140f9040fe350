import { sql, type Kysely } from 'kysely';

// Frozen once landed: later changes go into new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('club_settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('branches')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('address', 'text')
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('tiers')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('rank', 'integer', (c) => c.notNull().unique())
    .addColumn('name_fa', 'text', (c) => c.notNull())
    .addColumn('name_en', 'text', (c) => c.notNull())
    // Points earned within the qualifying window needed to hold this tier.
    .addColumn('threshold', 'bigint', (c) => c.notNull().check(sql`threshold >= 0`))
    .addColumn('discount_percent', 'numeric(5, 2)', (c) => c.notNull().defaultTo(0))
    .addColumn('earn_multiplier', 'numeric(5, 2)', (c) => c.notNull().defaultTo(1))
    .addColumn('perks_fa', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('perks_en', 'text', (c) => c.notNull().defaultTo(''))
    .execute();

  await db
    .insertInto('tiers')
    .values([
      { code: 'bronze', rank: 1, name_fa: 'برنزی', name_en: 'Bronze', threshold: 0, discount_percent: '0', earn_multiplier: '1', perks_fa: 'امتیاز از هر خرید', perks_en: 'Points on every purchase' },
      { code: 'silver', rank: 2, name_fa: 'نقره‌ای', name_en: 'Silver', threshold: 1000, discount_percent: '3', earn_multiplier: '1.25', perks_fa: '۳٪ تخفیف و ۱٫۲۵ برابر امتیاز', perks_en: '3% off and 1.25x points' },
      { code: 'gold', rank: 3, name_fa: 'طلایی', name_en: 'Gold', threshold: 5000, discount_percent: '5', earn_multiplier: '1.5', perks_fa: '۵٪ تخفیف و ۱٫۵ برابر امتیاز', perks_en: '5% off and 1.5x points' },
      { code: 'platinum', rank: 4, name_fa: 'پلاتینیوم', name_en: 'Platinum', threshold: 15000, discount_percent: '10', earn_multiplier: '2', perks_fa: '۱۰٪ تخفیف و دو برابر امتیاز', perks_en: '10% off and double points' },
    ])
    .execute();

  await db.schema
    .createTable('members')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('phone', 'text', (c) => c.notNull().unique())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text')
    .addColumn('birth_date', 'date')
    .addColumn('gender', 'text', (c) => c.check(sql`gender in ('female', 'male')`))
    .addColumn('locale', 'text', (c) => c.check(sql`locale in ('fa', 'en')`))
    .addColumn('referral_code', 'text', (c) => c.notNull().unique())
    .addColumn('tier_id', 'integer', (c) => c.notNull().references('tiers.id'))
    .addColumn('points_balance', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('credit_balance', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('marketing_opt_in', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_active_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('members_joined_at_idx').on('members').column('joined_at').execute();

  await db.schema
    .createTable('member_accounts')
    .addColumn('platform', 'text', (c) => c.notNull().check(sql`platform in ('telegram', 'bale')`))
    .addColumn('user_id', 'bigint', (c) => c.notNull())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id').onDelete('cascade'))
    .addColumn('chat_id', 'bigint', (c) => c.notNull())
    .addColumn('username', 'text')
    .addColumn('blocked', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('blocked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('member_accounts_pk', ['platform', 'user_id'])
    .execute();
  await db.schema.createIndex('member_accounts_member_idx').on('member_accounts').column('member_id').execute();

  await db.schema
    .createTable('staff')
    .addColumn('member_id', 'bigint', (c) => c.primaryKey().references('members.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'manager', 'cashier')`))
    .addColumn('branch_id', 'integer', (c) => c.references('branches.id'))
    .addColumn('added_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // The ledger is a journal: rows are only ever inserted (a trigger below refuses the rest).
  // amount > 0 credits the member, amount < 0 debits; the member's balance columns cache the sum.
  await db.schema
    .createTable('ledger_entries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency in ('points', 'credit')`))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount <> 0`))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    // One credit per real-world event: 'signup:<member>', 'purchase:<branch>:<receipt>', ...
    .addColumn('idempotency_key', 'text', (c) => c.unique())
    // Set on positive points entries: each is a lot that expires on its own.
    .addColumn('expires_at', 'timestamptz')
    .addColumn('branch_id', 'integer', (c) => c.references('branches.id'))
    .addColumn('actor_member_id', 'bigint', (c) => c.references('members.id'))
    .addColumn('meta', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('ledger_entries_member_idx').on('ledger_entries').columns(['member_id', 'created_at']).execute();

  await sql`
    create function ledger_entries_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'ledger_entries is append-only (% refused)', tg_op;
    end $$`.execute(db);
  await sql`
    create trigger ledger_entries_append_only before update or delete on ledger_entries
    for each row execute function ledger_entries_append_only()`.execute(db);

  // What is left of each credit lot; debits consume lots first-to-expire-first.
  await db.schema
    .createTable('ledger_lots')
    .addColumn('entry_id', 'bigint', (c) => c.primaryKey().references('ledger_entries.id'))
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('remaining', 'bigint', (c) => c.notNull().check(sql`remaining >= 0`))
    .addColumn('expires_at', 'timestamptz')
    .execute();
  await sql`create index ledger_lots_open_idx on ledger_lots (member_id, currency, expires_at) where remaining > 0`.execute(db);

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('actor_member_id', 'bigint', (c) => c.references('members.id'))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // @grammyjs/conversations state, keyed by platform and chat.
  await db.schema
    .createTable('conversation_state')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['conversation_state', 'audit_log', 'ledger_lots', 'ledger_entries', 'staff', 'member_accounts', 'members', 'tiers', 'branches', 'club_settings']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`drop function if exists ledger_entries_append_only()`.execute(db);
}
