import type { Kysely } from 'kysely';

/**
 * A deleted segment is archived, not removed: campaigns, lotteries and pools already sent or run
 * keep pointing at the audience they had.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('segments').addColumn('archived_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('segments').dropColumn('archived_at').execute();
}
