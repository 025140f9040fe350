import { sql, type Kysely } from 'kysely';

/**
 * Per-member figures cached on `members` so that segment counts over a million members read one
 * row per member instead of aggregating purchases and accounts for each (see src/club/segments.ts
 * and docs/benchmarks.md):
 * - purchase_count, spend_rials, last_purchase_at: over purchases with status 'recorded' (a void
 *   takes its purchase back out);
 * - reachable: the member has an account that has not blocked the bot;
 * - platforms: the platforms the member has an account on, blocked or not (sorted);
 * - referral_count: members whose referred_by is this member.
 * Triggers keep them exact. Inserts of purchases and members add to the figures (one update per
 * statement, so a bulk insert is one update); a changed or deleted purchase or account recomputes
 * the member's row after locking it, so two transactions changing one member's rows cannot leave a
 * stale figure behind. The till's path gains one update of the member row it has already locked.
 * Frozen once landed.
 */
// Each account statement recounts the members whose rows it touched (from its transition tables).
const ACCOUNT_EVENTS = [
  ['insert', 'select member_id from new_accounts'],
  ['update', 'select member_id from new_accounts union select member_id from old_accounts'],
  ['delete', 'select member_id from old_accounts'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('members')
    .addColumn('purchase_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('spend_rials', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_purchase_at', 'timestamptz')
    .addColumn('reachable', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('platforms', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('referral_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await sql`
    update members m set purchase_count = s.n, spend_rials = s.spend, last_purchase_at = s.last
    from (
      select member_id, count(*)::integer as n, sum(amount_rials)::bigint as spend, max(created_at) as last
      from purchases where status = 'recorded' group by member_id
    ) s
    where s.member_id = m.id`.execute(db);
  await sql`
    update members m set reachable = s.reachable, platforms = s.platforms
    from (
      select member_id, bool_or(not blocked) as reachable, array_agg(distinct platform order by platform) as platforms
      from member_accounts group by member_id
    ) s
    where s.member_id = m.id`.execute(db);
  await sql`
    update members m set referral_count = s.n
    from (select referred_by, count(*)::integer as n from members where referred_by is not null group by referred_by) s
    where s.referred_by = m.id`.execute(db);

  // Purchases ---------------------------------------------------------------------------------
  await sql`
    create function club_member_stats_recount(p_member bigint) returns void language plpgsql as $$
    begin
      perform 1 from members where id = p_member for update;
      update members m set purchase_count = s.n, spend_rials = s.spend, last_purchase_at = s.last
        from (
          select count(*)::integer as n, coalesce(sum(amount_rials), 0)::bigint as spend, max(created_at) as last
          from purchases where member_id = p_member and status = 'recorded'
        ) s
        where m.id = p_member;
    end $$`.execute(db);

  await sql`
    create function club_member_stats_inserted() returns trigger language plpgsql as $$
    begin
      update members m set purchase_count = m.purchase_count + s.n, spend_rials = m.spend_rials + s.spend,
          last_purchase_at = greatest(m.last_purchase_at, s.last)
        from (
          select member_id, count(*)::integer as n, sum(amount_rials)::bigint as spend, max(created_at) as last
          from new_purchases where status = 'recorded' group by member_id
        ) s
        where m.id = s.member_id;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger purchases_member_stats_insert after insert on purchases
    referencing new table as new_purchases
    for each statement execute function club_member_stats_inserted()`.execute(db);

  await sql`
    create function club_member_stats_changed() returns trigger language plpgsql as $$
    begin
      perform club_member_stats_recount(old.member_id);
      if tg_op = 'UPDATE' and new.member_id <> old.member_id then
        perform club_member_stats_recount(new.member_id);
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger purchases_member_stats_update after update of status, member_id, amount_rials, created_at on purchases
    for each row
    when (old.status is distinct from new.status or old.member_id is distinct from new.member_id
      or old.amount_rials is distinct from new.amount_rials or old.created_at is distinct from new.created_at)
    execute function club_member_stats_changed()`.execute(db);
  await sql`
    create trigger purchases_member_stats_delete after delete on purchases
    for each row execute function club_member_stats_changed()`.execute(db);

  // Accounts ----------------------------------------------------------------------------------
  await sql`
    create function club_member_reach_recount(p_members bigint[]) returns void language plpgsql as $$
    begin
      perform 1 from members where id = any(p_members) order by id for update;
      update members m set reachable = s.reachable, platforms = s.platforms
        from (
          select x.id, coalesce(bool_or(not a.blocked), false) as reachable,
            coalesce(array_agg(distinct a.platform order by a.platform) filter (where a.platform is not null), '{}') as platforms
          from unnest(p_members) x(id) left join member_accounts a on a.member_id = x.id
          group by x.id
        ) s
        where m.id = s.id and (m.reachable, m.platforms) is distinct from (s.reachable, s.platforms);
    end $$`.execute(db);
  for (const [event, body] of ACCOUNT_EVENTS) {
    await sql`
      create function ${sql.raw(`club_member_accounts_${event}_done`)}() returns trigger language plpgsql as $$
      begin
        perform club_member_reach_recount(array(select distinct member_id from (${sql.raw(body)}) changed));
        return null;
      end $$`.execute(db);
    const transition = event === 'insert' ? 'new table as new_accounts' : event === 'delete' ? 'old table as old_accounts' : 'old table as old_accounts new table as new_accounts';
    await sql`
      create trigger ${sql.raw(`member_accounts_reach_${event}`)} after ${sql.raw(event)} on member_accounts
      referencing ${sql.raw(transition)}
      for each statement execute function ${sql.raw(`club_member_accounts_${event}_done`)}()`.execute(db);
  }

  // Referrals --------------------------------------------------------------------------------
  await sql`
    create function club_member_referrals_inserted() returns trigger language plpgsql as $$
    begin
      update members m set referral_count = m.referral_count + s.n
        from (select referred_by, count(*)::integer as n from new_members where referred_by is not null group by referred_by) s
        where m.id = s.referred_by;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger members_referral_count_insert after insert on members
    referencing new table as new_members
    for each statement execute function club_member_referrals_inserted()`.execute(db);
  // Row by row: members are updated all the time (points, activity), referred_by almost never.
  await sql`
    create function club_member_referrals_changed() returns trigger language plpgsql as $$
    begin
      if tg_op in ('UPDATE', 'DELETE') and old.referred_by is not null then
        update members set referral_count = referral_count - 1 where id = old.referred_by;
      end if;
      if tg_op = 'UPDATE' and new.referred_by is not null then
        update members set referral_count = referral_count + 1 where id = new.referred_by;
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger members_referral_count_update after update of referred_by on members
    for each row when (old.referred_by is distinct from new.referred_by)
    execute function club_member_referrals_changed()`.execute(db);
  await sql`
    create trigger members_referral_count_delete after delete on members
    for each row when (old.referred_by is not null)
    execute function club_member_referrals_changed()`.execute(db);

  // No index on the new columns: segment counts read most of the table whichever way (an index on
  // last_purchase_at saved ~5 % on "bought<30" at a million members), and leaving them unindexed
  // lets the till's extra update of the member row be a HOT update.
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const event of ['insert', 'update', 'delete']) {
    await sql`drop trigger if exists ${sql.raw(`members_referral_count_${event}`)} on members`.execute(db);
  }
  await sql`drop function if exists club_member_referrals_changed()`.execute(db);
  await sql`drop function if exists club_member_referrals_inserted()`.execute(db);
  for (const [event] of ACCOUNT_EVENTS) {
    await sql`drop trigger if exists ${sql.raw(`member_accounts_reach_${event}`)} on member_accounts`.execute(db);
    await sql`drop function if exists ${sql.raw(`club_member_accounts_${event}_done`)}()`.execute(db);
  }
  await sql`drop function if exists club_member_reach_recount(bigint[])`.execute(db);
  await sql`drop trigger if exists purchases_member_stats_delete on purchases`.execute(db);
  await sql`drop trigger if exists purchases_member_stats_update on purchases`.execute(db);
  await sql`drop trigger if exists purchases_member_stats_insert on purchases`.execute(db);
  await sql`drop function if exists club_member_stats_changed()`.execute(db);
  await sql`drop function if exists club_member_stats_inserted()`.execute(db);
  await sql`drop function if exists club_member_stats_recount(bigint)`.execute(db);
  await db.schema
    .alterTable('members')
    .dropColumn('referral_count')
    .dropColumn('platforms')
    .dropColumn('reachable')
    .dropColumn('last_purchase_at')
    .dropColumn('spend_rials')
    .dropColumn('purchase_count')
    .execute();
}
