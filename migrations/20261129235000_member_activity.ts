import { sql, type Kysely } from 'kysely';

/**
 * Per-member monthly activity for the reports that ask "who bought, and how often" (the members
 * report's frequency bands, the cohort grid): recorded purchases per member, Jalali month of the
 * club's zone and branch, for the months that are over. See src/club/analytics/activity.ts.
 * - member_activity: purchases, amount and last purchase per (month, member, branch); the month is
 *   the Gregorian date of its first day, `year` its Jalali year. Keyed month first (the job
 *   replaces a month by its key); a second index by (year, member) carries the month, branch and
 *   purchases, so a period within a Jalali year reads that year's rows member by member from the
 *   index alone and sums each member's as it goes (hashing half a million buyers took 4-6 s on the
 *   loaded machine, the ordered read 1.2 s).
 * - member_activity_cohorts: per month held, the members who bought in it by the month they joined
 *   (at a branch, or at any: branch 0), so the cohort grid reads a few hundred cells per month.
 *   Members' join times are only ever set when a member is created; should one change, every month
 *   is marked dirty.
 * - member_activity_months: the months the rollup holds, as instants [from_at, to_at) in the zone
 *   it was built in, and whether a change since makes the month unusable (dirty) until rebuilt.
 * - member_activity_state: that zone (one row). Another zone means no month is usable.
 * Filled by a job, not by the purchase insert path (the till's hottest write gains nothing): the
 * month still open is always read from purchases. A purchase changed or deleted in a held month
 * (a void, a corrected amount...) marks the month dirty here; the job takes the state row FOR
 * UPDATE while it rebuilds a month and this trigger takes it FOR SHARE, so a change either waits
 * for the rebuild and marks the month afterwards, or is seen by it. Frozen once landed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table member_activity_state (id boolean primary key default true check (id), time_zone text)`.execute(db);
  await sql`insert into member_activity_state (id, time_zone) values (true, null)`.execute(db);
  await sql`
    create table member_activity_months (
      month date primary key, from_at timestamptz not null, to_at timestamptz not null,
      dirty boolean not null default false, built_at timestamptz not null)`.execute(db);
  await sql`
    create table member_activity (
      member_id int8 not null, month date not null, year int2 not null, branch_id int8 not null,
      purchases int4 not null, amount_rials int8 not null, last_at timestamptz not null,
      primary key (month, member_id, branch_id))`.execute(db);
  await sql`create index member_activity_by_member on member_activity (year, member_id) include (month, branch_id, purchases)`.execute(db);
  await sql`
    create table member_activity_cohorts (
      month date not null, joined_month date not null, branch_id int8 not null, members int4 not null,
      primary key (month, joined_month, branch_id))`.execute(db);

  await sql`
    create function club_member_activity_changed() returns trigger language plpgsql as $$
    begin
      perform 1 from member_activity_state for share;
      update member_activity_months set dirty = true
        where (old.created_at >= from_at and old.created_at < to_at)
          or (tg_op = 'UPDATE' and new.created_at >= from_at and new.created_at < to_at);
      return null;
    end $$`.execute(db);
  await sql`
    create trigger purchases_member_activity_update after update of status, amount_rials, branch_id, created_at, member_id on purchases
    for each row
    when (old.status is distinct from new.status or old.amount_rials is distinct from new.amount_rials
      or old.branch_id is distinct from new.branch_id or old.created_at is distinct from new.created_at
      or old.member_id is distinct from new.member_id)
    execute function club_member_activity_changed()`.execute(db);
  await sql`
    create trigger purchases_member_activity_delete after delete on purchases
    for each row execute function club_member_activity_changed()`.execute(db);
  await sql`
    create function club_member_activity_rejoined() returns trigger language plpgsql as $$
    begin
      perform 1 from member_activity_state for share;
      update member_activity_months set dirty = true;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger members_member_activity_joined after update of joined_at on members
    for each row when (old.joined_at is distinct from new.joined_at)
    execute function club_member_activity_rejoined()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists members_member_activity_joined on members`.execute(db);
  await sql`drop function if exists club_member_activity_rejoined()`.execute(db);
  await sql`drop trigger if exists purchases_member_activity_delete on purchases`.execute(db);
  await sql`drop trigger if exists purchases_member_activity_update on purchases`.execute(db);
  await sql`drop function if exists club_member_activity_changed()`.execute(db);
  await sql`drop table if exists member_activity_cohorts, member_activity, member_activity_months, member_activity_state`.execute(db);
}
