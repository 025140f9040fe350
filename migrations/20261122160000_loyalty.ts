import { sql, type Kysely } from 'kysely';

// The loyalty engine: earning rules, purchases, lot allocations, redemptions, rewards, disputes,
// member notices and nightly job runs. Frozen once landed.

export async function up(db: Kysely<any>): Promise<void> {
  // A rule with branch_id null is the club's; a branch's own rule overrides it while active.
  await db.schema
    .createTable('earning_rules')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('branch_id', 'integer', (c) => c.references('branches.id'))
    .addColumn('rials_per_point', 'bigint', (c) => c.notNull().defaultTo(10_000).check(sql`rials_per_point > 0`))
    .addColumn('min_purchase', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`min_purchase >= 0`))
    .addColumn('visit_points', 'integer', (c) => c.notNull().defaultTo(0).check(sql`visit_points >= 0`))
    .addColumn('visit_daily_cap', 'integer', (c) => c.notNull().defaultTo(1).check(sql`visit_daily_cap >= 0`))
    .addColumn('active_from', 'timestamptz')
    .addColumn('active_to', 'timestamptz')
    .addColumn('updated_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index earning_rules_branch_key on earning_rules (coalesce(branch_id, 0))`.execute(db);
  await db.insertInto('earning_rules').values({ branch_id: null }).execute();

  await db.schema
    .createTable('purchases')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('branch_id', 'integer', (c) => c.notNull().references('branches.id'))
    .addColumn('cashier_member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('amount_rials', 'bigint', (c) => c.notNull().check(sql`amount_rials > 0`))
    .addColumn('credit_used', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`credit_used >= 0`))
    .addColumn('receipt_no', 'text')
    // 'purchase:<branch>:<receipt>' or 'purchase-op:<operation id>': one purchase per real sale.
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('points_earned', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('recorded').check(sql`status in ('recorded', 'voided')`))
    .addColumn('voided_at', 'timestamptz')
    .addColumn('voided_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('void_reason', 'text')
    // Points the member had already spent when the purchase was voided and could not be taken back.
    .addColumn('unrecovered_points', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('purchases_member_idx').on('purchases').columns(['member_id', 'created_at']).execute();
  await db.schema.createIndex('purchases_created_idx').on('purchases').column('created_at').execute();

  // Which lots each debit consumed (FIFO by expiry): the trail that makes voids and audits exact.
  await db.schema
    .createTable('ledger_allocations')
    .addColumn('debit_entry_id', 'bigint', (c) => c.notNull().references('ledger_entries.id'))
    .addColumn('lot_entry_id', 'bigint', (c) => c.notNull().references('ledger_entries.id'))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addPrimaryKeyConstraint('ledger_allocations_pk', ['debit_entry_id', 'lot_entry_id'])
    .execute();
  await db.schema.createIndex('ledger_allocations_lot_idx').on('ledger_allocations').column('lot_entry_id').execute();
  await sql`create index ledger_lots_expiry_idx on ledger_lots (expires_at) where remaining > 0`.execute(db);
  await db.schema.createIndex('ledger_entries_kind_idx').on('ledger_entries').columns(['kind', 'created_at']).execute();

  await db.schema
    .createTable('rewards')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('title_fa', 'text', (c) => c.notNull())
    .addColumn('title_en', 'text', (c) => c.notNull())
    .addColumn('points_cost', 'bigint', (c) => c.notNull().check(sql`points_cost > 0`))
    .addColumn('stock', 'integer', (c) => c.check(sql`stock is null or stock >= 0`))
    .addColumn('active_from', 'timestamptz')
    .addColumn('active_to', 'timestamptz')
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('reward_claims')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('reward_id', 'integer', (c) => c.notNull().references('rewards.id'))
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('operation_id', 'text', (c) => c.notNull().unique())
    .addColumn('points', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('issued').check(sql`status in ('issued', 'confirmed', 'cancelled')`))
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('confirmed_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('branch_id', 'integer', (c) => c.references('branches.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Points spent at the till: the member approves in their own chat before anything moves.
  await db.schema
    .createTable('redemptions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('branch_id', 'integer', (c) => c.notNull().references('branches.id'))
    .addColumn('cashier_member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('points', 'bigint', (c) => c.notNull().check(sql`points > 0`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'approved', 'declined', 'expired')`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('decided_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('disputes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('purchase_id', 'bigint', (c) => c.notNull().unique().references('purchases.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open', 'resolved')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Messages a job sends at most once: ('expiry', '<lot id>'), ('tier_warning', '<tier>:<date>').
  await db.schema
    .createTable('member_notices')
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('member_notices_pk', ['member_id', 'kind', 'key'])
    .execute();

  await db.schema
    .createTable('job_runs')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('run_key', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'done')`))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addPrimaryKeyConstraint('job_runs_pk', ['name', 'run_key'])
    .execute();

  await db.insertInto('branches').values({ name: 'شعبهٔ مرکزی' }).onConflict((oc) => oc.column('name').doNothing()).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['job_runs', 'member_notices', 'disputes', 'redemptions', 'reward_claims', 'rewards', 'ledger_allocations', 'purchases', 'earning_rules']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`drop index if exists ledger_lots_expiry_idx`.execute(db);
  await sql`drop index if exists ledger_entries_kind_idx`.execute(db);
}
