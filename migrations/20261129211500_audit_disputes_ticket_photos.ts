import { sql, type Kysely } from 'kysely';

/**
 * Trust: the audit log becomes append-only; disputes get decisions; ticket photos remember their platform.
 *
 * The audit log is a journal like the ledger: rows are only ever inserted. A trigger refuses
 * UPDATE and DELETE row by row, and TRUNCATE as a statement, so not even a bug or a hand-typed
 * query in the bot's own connection rewrites who did what. Indexes serve the owners' /audit view:
 * newest first, filtered by staff member or by action.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only (% refused)', tg_op;
    end $$`.execute(db);
  await sql`
    create trigger audit_log_append_only before update or delete on audit_log
    for each row execute function audit_log_append_only()`.execute(db);
  await sql`
    create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only()`.execute(db);
  await sql`create index audit_log_actor_idx on audit_log (actor_member_id, id)`.execute(db);
  await sql`create index audit_log_action_idx on audit_log (action, id)`.execute(db);

  // A dispute is decided by a manager: the purchase voided, or the dispute dismissed with a reason
  // the member is told.
  await db.schema
    .alterTable('disputes')
    .addColumn('outcome', 'text', (c) => c.check(sql`outcome in ('voided', 'dismissed')`))
    .addColumn('reason', 'text')
    .addColumn('decided_by', 'bigint', (c) => c.references('members.id'))
    .addColumn('decided_at', 'timestamptz')
    .execute();
  await sql`alter table disputes add constraint disputes_decided check ((status = 'open') = (outcome is null))`.execute(db);

  // A file id works only with the bot that received it: the platform says which bot can show it.
  await db.schema.alterTable('ticket_messages').addColumn('photo_platform', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('ticket_messages').dropColumn('photo_platform').execute();
  await sql`alter table disputes drop constraint if exists disputes_decided`.execute(db);
  await db.schema.alterTable('disputes').dropColumn('outcome').dropColumn('reason').dropColumn('decided_by').dropColumn('decided_at').execute();
  await sql`drop index if exists audit_log_action_idx`.execute(db);
  await sql`drop index if exists audit_log_actor_idx`.execute(db);
  await sql`drop trigger if exists audit_log_no_truncate on audit_log`.execute(db);
  await sql`drop trigger if exists audit_log_append_only on audit_log`.execute(db);
  await sql`drop function if exists audit_log_append_only()`.execute(db);
}
