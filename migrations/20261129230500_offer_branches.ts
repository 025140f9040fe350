import type { Kysely } from 'kysely';

/** Rewards, voucher pools and lotteries may be limited to one branch (null: every branch). News has its branch already. */
export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ['rewards', 'voucher_pools', 'lotteries']) {
    await db.schema.alterTable(table).addColumn('branch_id', 'integer', (c) => c.references('branches.id')).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['rewards', 'voucher_pools', 'lotteries']) await db.schema.alterTable(table).dropColumn('branch_id').execute();
}
