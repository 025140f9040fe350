import { sql, type Kysely } from 'kysely';

/**
 * Summaries the reports read instead of scanning purchases, the ledger and every member (see
 * src/club/analytics/ and docs/benchmarks.md), kept exact by triggers and backfilled here:
 * - report_sales: recorded purchases per 15-minute slot (UTC) and branch: count and revenue. The
 *   club's zone is configuration, not data, so the slot is zone-free: every zone in use is offset
 *   by whole quarter hours, so a slot falls in one local hour and day of any zone, and a period's
 *   bounds (local midnights) are slot edges.
 * - report_ledger: ledger entries per slot and branch (0 for none): entries, points issued,
 *   redeemed, expired, credit in and out, with the definitions of src/club/analytics/loyalty.ts.
 *   The ledger is append-only, so inserts are the only event.
 * - report_member_counts: members per birth date, gender, city and tier ('' for unknown birth date
 *   or city), for the members report's "today" figures.
 * - purchases_recorded_idx: recorded purchases by time with their member and branch, so the reports
 *   that need buyers (how often each bought, cohorts) read the index alone instead of visiting
 *   every heap page (purchases lie in the order they were recorded per member, not by time).
 * Purchases' inserts add per statement; a status, amount, branch or time change moves the purchase
 * out of its old cell and into its new one. Frozen once landed.
 */
const SLOT = (column: string) => sql.raw(`date_bin('15 minutes', ${column}, timestamptz '2000-01-01 00:00:00+00')`);

const LEDGER_SUMS = sql.raw(`count(*)::int8,
  coalesce(sum(amount) filter (where currency = 'points' and amount > 0 and kind not in ('refund')), 0)::int8,
  coalesce(-sum(amount) filter (where currency = 'points' and kind in ('spend', 'convert')), 0)::int8,
  coalesce(-sum(amount) filter (where currency = 'points' and kind = 'expire'), 0)::int8,
  coalesce(sum(amount) filter (where currency = 'credit' and amount > 0), 0)::int8,
  coalesce(-sum(amount) filter (where currency = 'credit' and amount < 0), 0)::int8`);

// Members per dimension value, from a set of member rows; the value the members report groups by.
const valuesOf = (m: string) => `(values ('birth', coalesce(${m}.birth_date::text, '')), ('gender', coalesce(${m}.gender, 'unknown')),
    ('city', coalesce(nullif(trim(${m}.city), ''), '')), ('tier', coalesce(${m}.tier_id::text, ''))) d(dimension, value)`;
const dimensionsOf = (table: string) =>
  `select d.dimension, d.value, count(*)::int8 as n from ${table} m cross join lateral ${valuesOf('m')} group by 1, 2`;

/**
 * Each summary cell is split over 16 rows (the shard: the writing connection's backend pid mod 16),
 * and reports sum them. Without it every purchase of a branch in the same quarter hour updated one
 * row and held its lock until commit, so concurrent tills queued behind each other: 64 cashiers
 * recorded 282 purchases/s instead of 768. A connection always writes the same shard.
 */
const SHARD = sql.raw('(pg_backend_pid() % 16)::int2');

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table report_sales (
      slot timestamptz not null, branch_id bigint not null, purchases int8 not null, revenue int8 not null,
      shard int2 not null default ${SHARD}, primary key (slot, branch_id, shard))`.execute(db);
  await sql`
    create table report_ledger (
      slot timestamptz not null, branch_id bigint not null, entries int8 not null, issued int8 not null,
      redeemed int8 not null, expired int8 not null, credit_in int8 not null, credit_out int8 not null,
      shard int2 not null default ${SHARD}, primary key (slot, branch_id, shard))`.execute(db);
  await sql`
    create table report_member_counts (dimension text not null, value text not null, members int8 not null,
      shard int2 not null default ${SHARD}, primary key (dimension, value, shard))`.execute(db);

  await sql`
    insert into report_sales select ${SLOT('created_at')}, branch_id, count(*), sum(amount_rials)
    from purchases where status = 'recorded' group by 1, 2`.execute(db);
  await sql`
    insert into report_ledger select ${SLOT('created_at')}, coalesce(branch_id, 0), ${LEDGER_SUMS}
    from ledger_entries group by 1, 2`.execute(db);
  await sql`insert into report_member_counts ${sql.raw(dimensionsOf('members'))}`.execute(db);

  await sql`create index purchases_recorded_idx on purchases (created_at) include (member_id, branch_id) where status = 'recorded'`.execute(db);

  // Purchases ---------------------------------------------------------------------------------
  await sql`
    create function club_report_sales_add(p_slot timestamptz, p_branch bigint, p_n int8, p_revenue int8) returns void language sql as $$
      insert into report_sales values (p_slot, p_branch, p_n, p_revenue)
      on conflict (slot, branch_id, shard) do update set purchases = report_sales.purchases + excluded.purchases,
        revenue = report_sales.revenue + excluded.revenue
    $$`.execute(db);
  await sql`
    create function club_report_sales_inserted() returns trigger language plpgsql as $$
    begin
      insert into report_sales
        select ${SLOT('created_at')}, branch_id, count(*), sum(amount_rials) from new_purchases
        where status = 'recorded' group by 1, 2 order by 1, 2
      on conflict (slot, branch_id, shard) do update set purchases = report_sales.purchases + excluded.purchases,
        revenue = report_sales.revenue + excluded.revenue;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger purchases_report_insert after insert on purchases
    referencing new table as new_purchases
    for each statement execute function club_report_sales_inserted()`.execute(db);
  await sql`
    create function club_report_sales_changed() returns trigger language plpgsql as $$
    begin
      if tg_op in ('UPDATE', 'DELETE') and old.status = 'recorded' then
        perform club_report_sales_add(${SLOT('old.created_at')}, old.branch_id, -1, -old.amount_rials);
      end if;
      if tg_op = 'UPDATE' and new.status = 'recorded' then
        perform club_report_sales_add(${SLOT('new.created_at')}, new.branch_id, 1, new.amount_rials);
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger purchases_report_update after update of status, amount_rials, branch_id, created_at on purchases
    for each row
    when (old.status is distinct from new.status or old.amount_rials is distinct from new.amount_rials
      or old.branch_id is distinct from new.branch_id or old.created_at is distinct from new.created_at)
    execute function club_report_sales_changed()`.execute(db);
  await sql`
    create trigger purchases_report_delete after delete on purchases
    for each row execute function club_report_sales_changed()`.execute(db);

  // Ledger (append-only) ----------------------------------------------------------------------
  await sql`
    create function club_report_ledger_inserted() returns trigger language plpgsql as $$
    begin
      insert into report_ledger
        select ${SLOT('created_at')}, coalesce(branch_id, 0), ${LEDGER_SUMS} from new_entries group by 1, 2 order by 1, 2
      on conflict (slot, branch_id, shard) do update set entries = report_ledger.entries + excluded.entries,
        issued = report_ledger.issued + excluded.issued, redeemed = report_ledger.redeemed + excluded.redeemed,
        expired = report_ledger.expired + excluded.expired, credit_in = report_ledger.credit_in + excluded.credit_in,
        credit_out = report_ledger.credit_out + excluded.credit_out;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger ledger_entries_report_insert after insert on ledger_entries
    referencing new table as new_entries
    for each statement execute function club_report_ledger_inserted()`.execute(db);

  // Members -----------------------------------------------------------------------------------
  for (const [event, transition, count] of [
    ['insert', 'new table as new_members', 'select dimension, value, n from (%s) s'],
    ['delete', 'old table as old_members', 'select dimension, value, -n from (%s) s'],
  ] as const) {
    const table = event === 'insert' ? 'new_members' : 'old_members';
    await sql`
      create function ${sql.raw(`club_report_members_${event}`)}() returns trigger language plpgsql as $$
      begin
        insert into report_member_counts select * from (${sql.raw(count.replace('%s', dimensionsOf(table)))}) c order by 1, 2
        on conflict (dimension, value, shard) do update set members = report_member_counts.members + excluded.members;
        return null;
      end $$`.execute(db);
    await sql`
      create trigger ${sql.raw(`members_report_${event}`)} after ${sql.raw(event)} on members
      referencing ${sql.raw(transition)}
      for each statement execute function ${sql.raw(`club_report_members_${event}`)}()`.execute(db);
  }
  // Row by row, and only when a counted column changed (points and activity change all the time).
  await sql`
    create function club_report_members_changed() returns trigger language plpgsql as $$
    begin
      insert into report_member_counts
        select dimension, value, sum(n)::int8 from (
          select d.dimension, d.value, 1 as n from ${sql.raw(valuesOf('new'))}
          union all
          select d.dimension, d.value, -1 from ${sql.raw(valuesOf('old'))}
        ) s group by 1, 2 having sum(n) <> 0 order by 1, 2
      on conflict (dimension, value, shard) do update set members = report_member_counts.members + excluded.members;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger members_report_update after update of birth_date, gender, city, tier_id on members
    for each row
    when (old.birth_date is distinct from new.birth_date or old.gender is distinct from new.gender
      or old.city is distinct from new.city or old.tier_id is distinct from new.tier_id)
    execute function club_report_members_changed()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['members_report_insert', 'members_report_delete', 'members_report_update']) await sql`drop trigger if exists ${sql.raw(t)} on members`.execute(db);
  await sql`drop trigger if exists ledger_entries_report_insert on ledger_entries`.execute(db);
  for (const t of ['purchases_report_insert', 'purchases_report_update', 'purchases_report_delete']) await sql`drop trigger if exists ${sql.raw(t)} on purchases`.execute(db);
  for (const f of ['club_report_members_insert', 'club_report_members_delete', 'club_report_members_changed', 'club_report_ledger_inserted', 'club_report_sales_changed', 'club_report_sales_inserted']) {
    await sql`drop function if exists ${sql.raw(f)}()`.execute(db);
  }
  await sql`drop function if exists club_report_sales_add(timestamptz, bigint, int8, int8)`.execute(db);
  await sql`drop index if exists purchases_recorded_idx`.execute(db);
  await sql`drop table if exists report_member_counts, report_ledger, report_sales`.execute(db);
}
