import { sql, type Kysely } from 'kysely';

/**
 * What the campaign conversions report reads instead of scanning the outbox and probing each
 * purchase's deliveries (see src/club/analytics/campaign-attribution.ts and docs/benchmarks.md).
 * Frozen once landed.
 * - campaign_message_counts: messages per campaign and status, and codes handed out, kept exact by
 *   statement triggers on campaign_outbox (a status changes in the claim, the send, a lost lease,
 *   a requeue; a code is set when codes are handed out), split over 16 shards as the report
 *   summaries (20261129230000, 20261129233000) so two senders do not queue on one row.
 * - campaign_attributions: for each purchase made before campaign_attribution_state.covered_until
 *   that a campaign message can claim, the campaign (the latest delivered to the buyer in the 7
 *   days before) and a copy of what the report reads of the purchase, kept by a trigger on update
 *   (a void). Filled by a job with that watermark; the report computes the rest directly.
 * - campaign_outbox_codes_idx: the messages that carry a code, for the codes used.
 */
// The connection's shard, as the report summaries' since 20261129233000_lighter_till.
const SHARD = sql.raw('club_shard()');

// Per campaign, the change of each count from a set of rows removed (-1) and added (+1).
const DELTAS = sql.raw(`campaign_id,
  coalesce(sum(n) filter (where status = 'pending'), 0), coalesce(sum(n) filter (where status = 'sending'), 0),
  coalesce(sum(n) filter (where status = 'sent'), 0), coalesce(sum(n) filter (where status = 'blocked'), 0),
  coalesce(sum(n) filter (where status = 'failed'), 0), coalesce(sum(n) filter (where status = 'lost'), 0),
  coalesce(sum(n) filter (where voucher_code is not null), 0)`);
const ADD = sql.raw(`on conflict (campaign_id, shard) do update set
  pending = campaign_message_counts.pending + excluded.pending, sending = campaign_message_counts.sending + excluded.sending,
  sent = campaign_message_counts.sent + excluded.sent, blocked = campaign_message_counts.blocked + excluded.blocked,
  failed = campaign_message_counts.failed + excluded.failed, lost = campaign_message_counts.lost + excluded.lost,
  given = campaign_message_counts.given + excluded.given`);

export async function up(db: Kysely<any>): Promise<void> {
  // No foreign key: a campaign's deletion removes its messages first (cascade), and the trigger
  // then counts them down to zero in rows that must still be insertable.
  await sql`
    create table campaign_message_counts (
      campaign_id bigint not null,
      pending int8 not null default 0, sending int8 not null default 0, sent int8 not null default 0,
      blocked int8 not null default 0, failed int8 not null default 0, lost int8 not null default 0,
      given int8 not null default 0,
      shard int2 not null default ${SHARD}, primary key (campaign_id, shard))`.execute(db);
  await sql`
    insert into campaign_message_counts (campaign_id, pending, sending, sent, blocked, failed, lost, given)
    select ${DELTAS} from (select *, 1 as n from campaign_outbox) o group by campaign_id`.execute(db);
  for (const [event, rows] of [
    ['insert', 'select *, 1 as n from new_rows'],
    ['update', 'select *, 1 as n from new_rows union all select *, -1 from old_rows'],
    ['delete', 'select *, -1 as n from old_rows'],
  ] as const) {
    const fn = sql.raw(`club_campaign_counts_${event}`);
    await sql`
      create function ${fn}() returns trigger language plpgsql as $$
      begin
        insert into campaign_message_counts (campaign_id, pending, sending, sent, blocked, failed, lost, given)
          select ${DELTAS} from (${sql.raw(rows)}) o group by campaign_id order by campaign_id
        ${ADD};
        return null;
      end $$`.execute(db);
    const referencing = sql.raw(event === 'insert' ? 'new table as new_rows' : event === 'delete' ? 'old table as old_rows' : 'old table as old_rows new table as new_rows');
    await sql`
      create trigger ${sql.raw(`campaign_outbox_counts_${event}`)} after ${sql.raw(event)} on campaign_outbox
      referencing ${referencing} for each statement execute function ${fn}()`.execute(db);
  }

  await sql`
    create table campaign_attributions (
      purchase_id bigint primary key references purchases (id) on delete cascade,
      campaign_id bigint not null,
      member_id bigint not null, branch_id bigint not null, amount_rials int8 not null,
      created_at timestamptz not null, status text not null)`.execute(db);
  await sql`
    create index campaign_attributions_campaign_idx on campaign_attributions (campaign_id, created_at)
    include (member_id, branch_id, amount_rials) where status = 'recorded'`.execute(db);
  // One row; covered_until null: nothing attributed yet.
  await sql`create table campaign_attribution_state (id int primary key default 1 check (id = 1), covered_until timestamptz)`.execute(db);
  await sql`insert into campaign_attribution_state (id, covered_until) values (1, null)`.execute(db);
  // A purchase's copy follows its void (or any change of amount or branch). A change of buyer or
  // time (none in the code today) changes its campaign: the job attributes it again from there.
  await sql`
    create function club_campaign_attribution_changed() returns trigger language plpgsql as $$
    begin
      if new.member_id is distinct from old.member_id or new.created_at is distinct from old.created_at then
        delete from campaign_attributions where purchase_id = new.id;
        update campaign_attribution_state set covered_until = least(old.created_at, new.created_at)
        where covered_until > least(old.created_at, new.created_at);
      else
        update campaign_attributions set status = new.status, amount_rials = new.amount_rials, branch_id = new.branch_id
        where purchase_id = new.id;
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger purchases_campaign_attribution after update of status, amount_rials, branch_id, member_id, created_at on purchases
    for each row
    when (old.status is distinct from new.status or old.amount_rials is distinct from new.amount_rials
      or old.branch_id is distinct from new.branch_id or old.member_id is distinct from new.member_id
      or old.created_at is distinct from new.created_at)
    execute function club_campaign_attribution_changed()`.execute(db);
  await sql`create index campaign_outbox_codes_idx on campaign_outbox (campaign_id) include (voucher_code) where voucher_code is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists campaign_outbox_codes_idx`.execute(db);
  await sql`drop trigger if exists purchases_campaign_attribution on purchases`.execute(db);
  await sql`drop function if exists club_campaign_attribution_changed()`.execute(db);
  for (const event of ['insert', 'update', 'delete']) {
    await sql`drop trigger if exists ${sql.raw(`campaign_outbox_counts_${event}`)} on campaign_outbox`.execute(db);
    await sql`drop function if exists ${sql.raw(`club_campaign_counts_${event}`)}()`.execute(db);
  }
  await db.schema.dropTable('campaign_attribution_state').ifExists().execute();
  await db.schema.dropTable('campaign_attributions').ifExists().execute();
  await db.schema.dropTable('campaign_message_counts').ifExists().execute();
}
