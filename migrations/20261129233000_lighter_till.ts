import { sql, type Kysely } from 'kysely';

/**
 * The till's purchase made lighter (issue 14; figures in docs/benchmarks.md, "Purchase recording:
 * where the time went"). Nothing it writes changes; fewer statements and index entries do it:
 *
 * - club_record_purchase keeps the report summaries (report_sales, report_ledger) and the member's
 *   cached purchase figures (purchase_count, spend_rials, last_purchase_at) itself, with the same
 *   definitions as the triggers of 20261129230000_report_summaries.ts and
 *   20261122235000_member_stats.ts: the member figures go into the one update of the member row it
 *   makes anyway (it was updated twice, and the second update re-checked the row's foreign keys).
 *   Those insert triggers stay for every other writer (imports, scripts, tests: bulk statements
 *   stay one aggregate per statement), and are skipped only while the till's own insert runs:
 *   the function sets `club.till_writes` for the duration of its inserts (transaction-local, and
 *   undone with the (sub)transaction if anything fails in between).
 * - It queues the receipt in the notification outbox itself, so the till's statement is a plain
 *   function call whose statements have cached plans (the receipt was a CTE planned on every call).
 * - It locks the member FOR NO KEY UPDATE: concurrent changes of the member still queue behind it
 *   (as behind FOR UPDATE), but foreign-key checks of rows that merely point at the member do not.
 * - Summary shards: a connection takes the next shard of 16 in turn (a sequence) instead of
 *   pg_backend_pid() % 16, which put two of a pool's 16 connections on one shard about a third of
 *   the time, so one waited for the other's commit.
 * - members_points_idx is dropped: segment counts on points read every member row anyway (see
 *   docs/benchmarks.md, segments) and nothing else searches by balance, while the index made every
 *   balance change a non-HOT update writing a new entry into all eight of members' indexes.
 */
const SLOT = 'date_bin(\'15 minutes\', p_now, timestamptz \'2000-01-01 00:00:00+00\')';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create sequence club_shard_seq`.execute(db);
  // The connection's shard, taken once per session from the sequence (session-level setting).
  await sql`
    create function club_shard() returns int2 language plpgsql as $$
    declare
      s text := current_setting('club.shard', true);
    begin
      if s is null or s = '' then
        s := (nextval('club_shard_seq') % 16)::text;
        perform set_config('club.shard', s, false);
      end if;
      return s::int2;
    end $$`.execute(db);
  for (const table of ['report_sales', 'report_ledger', 'report_member_counts']) {
    await sql`alter table ${sql.id(table)} alter column shard set default club_shard()`.execute(db);
  }

  await sql`drop index if exists members_points_idx`.execute(db);

  // The insert triggers leave the till's own rows to it (see above).
  const SKIP = sql.raw(`(current_setting('club.till_writes', true) is distinct from 'on')`);
  await sql`drop trigger purchases_report_insert on purchases`.execute(db);
  await sql`
    create trigger purchases_report_insert after insert on purchases
    referencing new table as new_purchases
    for each statement when ${SKIP} execute function club_report_sales_inserted()`.execute(db);
  await sql`drop trigger purchases_member_stats_insert on purchases`.execute(db);
  await sql`
    create trigger purchases_member_stats_insert after insert on purchases
    referencing new table as new_purchases
    for each statement when ${SKIP} execute function club_member_stats_inserted()`.execute(db);
  await sql`drop trigger ledger_entries_report_insert on ledger_entries`.execute(db);
  await sql`
    create trigger ledger_entries_report_insert after insert on ledger_entries
    referencing new table as new_entries
    for each statement when ${SKIP} execute function club_report_ledger_inserted()`.execute(db);

  await sql`
    create or replace function club_record_purchase(
      p_member bigint, p_branch integer, p_cashier bigint, p_amount bigint, p_credit bigint,
      p_receipt text, p_key text, p_now timestamptz, p_day_start timestamptz,
      p_month_end timestamptz, p_year_end timestamptz, p_defaults jsonb,
      p_welcome boolean, p_code bigint
    ) returns jsonb language plpgsql as $$
    declare
      m record;
      existing purchases;
      p purchases;
      r earning_rules;
      settings jsonb;
      multiplier numeric;
      tier_percent numeric;
      current_rank integer;
      visits bigint;
      earned bigint;
      base bigint := 0;
      from_spend bigint := 0;
      visit bigint := 0;
      total bigint := 0;
      tier_off bigint;
      voucher_off bigint := 0;
      welcome_id bigint;
      welcome_percent integer;
      vc record;
      code_id bigint;
      code_text text;
      used bigint;
      net bigint;
      paid bigint;
      expires timestamptz;
      entry bigint;
      target integer;
      new_points bigint;
      new_credit bigint;
      purchase_slot timestamptz := ${sql.raw(SLOT)};
    begin
      if p_cashier = p_member then
        return jsonb_build_object('error', 'own_purchase');
      end if;
      select id, points_balance, credit_balance, tier_id into m from members where id = p_member for no key update;
      if not found then
        return jsonb_build_object('error', 'member_not_found');
      end if;
      select * into existing from purchases where idempotency_key = p_key;
      if found then
        if existing.member_id <> p_member then
          return jsonb_build_object('error', 'receipt_used');
        end if;
        return jsonb_build_object('duplicate', true, 'purchase', to_jsonb(existing),
          'points_balance', m.points_balance, 'credit_balance', m.credit_balance);
      end if;

      -- Discounts, in the order the TypeScript purchaseTotals applies them: tier, then voucher.
      select earn_multiplier, rank, discount_percent into multiplier, current_rank, tier_percent from tiers where id = m.tier_id;
      tier_off := (p_amount * round(tier_percent * 100)::bigint) / 10000;
      net := p_amount - tier_off;
      if p_welcome then
        select id, percent into welcome_id, welcome_percent from member_vouchers
          where member_id = p_member and kind = 'welcome' and used_purchase_id is null and expires_at > p_now
          for update;
        if not found then
          return jsonb_build_object('error', 'voucher_gone');
        end if;
        voucher_off := (net * welcome_percent) / 100;
      elsif p_code is not null then
        select c.id, c.code, c.member_id, c.redeemed_at, c.pool_id, pl.discount_kind, pl.discount_value, pl.valid_from, pl.valid_to, pl.per_member_limit
          into vc from voucher_codes c join voucher_pools pl on pl.id = c.pool_id where c.id = p_code for update of c;
        if not found or vc.redeemed_at is not null then
          return jsonb_build_object('error', 'voucher_used');
        elsif p_now < vc.valid_from then
          return jsonb_build_object('error', 'voucher_not_yet');
        elsif p_now >= vc.valid_to then
          return jsonb_build_object('error', 'voucher_expired');
        elsif vc.member_id is not null and vc.member_id <> p_member then
          return jsonb_build_object('error', 'voucher_foreign');
        end if;
        select count(*) into used from voucher_codes where pool_id = vc.pool_id and redeemed_member_id = p_member and redeemed_at is not null;
        if used >= vc.per_member_limit then
          return jsonb_build_object('error', 'voucher_limit_reached', 'limit', vc.per_member_limit);
        end if;
        code_id := vc.id;
        code_text := vc.code;
        voucher_off := case when vc.discount_kind = 'percent' then (net * vc.discount_value) / 100 else least(vc.discount_value, net) end;
      end if;
      net := net - voucher_off;
      if p_credit > net then
        return jsonb_build_object('error', 'credit_over_amount');
      end if;
      if p_credit > m.credit_balance then
        return jsonb_build_object('error', 'insufficient_credit', 'balance', m.credit_balance);
      end if;
      -- Points are earned on what is paid in money: after discounts and credit.
      paid := net - p_credit;

      settings := p_defaults || coalesce((select value from club_settings where key = 'loyalty'), '{}'::jsonb);
      select * into r from earning_rules
        where (branch_id is null or branch_id = p_branch)
          and (active_from is null or active_from <= p_now)
          and (active_to is null or active_to > p_now)
        order by branch_id is null limit 1;
      select count(*) into visits from purchases
        where member_id = p_member and status = 'recorded' and created_at >= p_day_start;
      if paid >= r.min_purchase then
        base := paid / r.rials_per_point;
        from_spend := (base * round(multiplier * 100)::bigint) / 100;
        visit := case when visits < r.visit_daily_cap then r.visit_points else 0 end;
        total := from_spend + visit;
      end if;
      expires := case settings->'validity'->>'mode'
        when 'jalali_month_end' then p_month_end
        when 'jalali_year_end' then p_year_end
        else p_now + make_interval(days => (settings->'validity'->>'days')::int)
      end;

      -- The purchase and its ledger entries: the summaries and member figures are kept below, so
      -- the insert triggers skip these statements.
      perform set_config('club.till_writes', 'on', true);
      insert into purchases (member_id, branch_id, cashier_member_id, amount_rials, credit_used, receipt_no, idempotency_key, points_earned,
          tier_discount_rials, voucher_discount_rials, voucher_code_id, created_at)
        values (p_member, p_branch, p_cashier, p_amount, p_credit, p_receipt, p_key, total, tier_off, voucher_off, code_id, p_now)
        returning * into p;
      if total > 0 then
        insert into ledger_entries (member_id, currency, amount, kind, reason, idempotency_key, expires_at, branch_id, actor_member_id, meta, created_at)
          values (p_member, 'points', total, 'earn', 'purchase', 'purchase:' || p.id, expires, p_branch, p_cashier, jsonb_build_object('purchase_id', p.id), p_now)
          returning id into entry;
        insert into ledger_lots (entry_id, member_id, currency, remaining, expires_at) values (entry, p_member, 'points', total, expires);
      end if;
      if p_credit > 0 then
        insert into ledger_entries (member_id, currency, amount, kind, reason, idempotency_key, expires_at, branch_id, actor_member_id, meta, created_at)
          values (p_member, 'credit', -p_credit, 'spend', 'purchase_credit', 'purchase-credit:' || p.id, null, p_branch, p_cashier, null, p_now)
          returning id into entry;
        perform club_consume_lots(p_member, 'credit', p_credit, entry);
      end if;
      perform set_config('club.till_writes', '', true);

      -- What the skipped triggers would have added: a recorded purchase in its slot and branch; an
      -- earning (issued) and a credit spend (credit out) in the ledger's.
      perform club_report_sales_add(purchase_slot, p_branch, 1, p_amount);
      if total > 0 or p_credit > 0 then
        insert into report_ledger (slot, branch_id, entries, issued, redeemed, expired, credit_in, credit_out)
          values (purchase_slot, p_branch, (total > 0)::int + (p_credit > 0)::int, total, 0, 0, 0, p_credit)
          on conflict (slot, branch_id, shard) do update set entries = report_ledger.entries + excluded.entries,
            issued = report_ledger.issued + excluded.issued, credit_out = report_ledger.credit_out + excluded.credit_out;
      end if;

      if welcome_id is not null then
        update member_vouchers set used_purchase_id = p.id where id = welcome_id;
      end if;
      if code_id is not null then
        update voucher_codes set redeemed_at = p_now, redeemed_member_id = p_member, redeemed_by = p_cashier, redeemed_branch_id = p_branch
          where id = code_id;
      end if;

      -- Promotion is immediate, on points earned in the rolling window (never the balance).
      select coalesce(sum(amount), 0) into earned from ledger_entries
        where member_id = p_member and currency = 'points' and kind in ('earn', 'earn_reversal')
          and created_at > p_now - make_interval(days => (settings->>'tierWindowDays')::int);
      select id into target from tiers where threshold <= earned and rank > current_rank order by rank desc limit 1;

      update members set points_balance = points_balance + total, credit_balance = credit_balance - p_credit,
          tier_id = coalesce(target, tier_id),
          purchase_count = purchase_count + 1, spend_rials = spend_rials + p_amount, last_purchase_at = greatest(last_purchase_at, p_now)
        where id = p_member returning points_balance, credit_balance into new_points, new_credit;
      insert into audit_log (actor_member_id, action, payload, created_at)
        values (p_cashier, 'purchase.record', jsonb_build_object('purchase_id', p.id, 'member_id', p_member,
          'amount', p_amount, 'tier_discount', tier_off, 'voucher_discount', voucher_off, 'welcome', welcome_id is not null,
          'voucher_code_id', code_id, 'credit', p_credit, 'points', total), p_now);
      -- The member's receipt (src/club/notifications.ts, ReceiptFacts), to every chat that has not blocked the bot.
      insert into notifications (member_id, platform, chat_id, kind, body, idempotency_key, status, created_at)
        select a.member_id, a.platform, a.chat_id, 'receipt',
          jsonb_build_object('purchase', p.id, 'points', total, 'balance', new_points, 'amount', p_amount,
            'tier_discount', tier_off, 'voucher_discount', voucher_off, 'voucher_code', code_text,
            'credit_used', p_credit, 'credit_left', new_credit,
            'branch', (select b.name from branches b where b.id = p_branch),
            'promoted', (select jsonb_build_object('fa', t.name_fa, 'en', t.name_en) from tiers t where t.id = target)),
          'receipt:' || p.id, 'pending', p_now
        from member_accounts a where a.member_id = p_member and not a.blocked
        on conflict do nothing;
      return jsonb_build_object('duplicate', false, 'purchase', to_jsonb(p), 'points', total, 'base', base,
        'from_spend', from_spend, 'visit', visit, 'multiplier', multiplier, 'below_minimum', paid < r.min_purchase,
        'points_balance', new_points, 'credit_balance', new_credit, 'promoted_to', target);
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // The function as 20261129211000 left it is not restored here: roll back to before that migration.
  for (const [trigger, table, fn, transition] of [
    ['purchases_report_insert', 'purchases', 'club_report_sales_inserted', 'new_purchases'],
    ['purchases_member_stats_insert', 'purchases', 'club_member_stats_inserted', 'new_purchases'],
    ['ledger_entries_report_insert', 'ledger_entries', 'club_report_ledger_inserted', 'new_entries'],
  ] as const) {
    await sql`drop trigger ${sql.id(trigger)} on ${sql.id(table)}`.execute(db);
    await sql`
      create trigger ${sql.id(trigger)} after insert on ${sql.id(table)} referencing new table as ${sql.id(transition)}
      for each statement execute function ${sql.id(fn)}()`.execute(db);
  }
  await sql`create index members_points_idx on members (points_balance)`.execute(db);
  for (const table of ['report_sales', 'report_ledger', 'report_member_counts']) {
    await sql`alter table ${sql.id(table)} alter column shard set default (pg_backend_pid() % 16)::int2`.execute(db);
  }
  await sql`drop function club_shard()`.execute(db);
  await sql`drop sequence club_shard_seq`.execute(db);
}
