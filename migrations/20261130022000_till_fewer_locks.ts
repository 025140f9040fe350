import { sql, type Kysely } from 'kysely';

/**
 * The till's purchase, round three (issue 14; figures in docs/benchmarks.md, "2026-11-30: fewer
 * locks and index entries per purchase"). What a purchase writes does not change.
 *
 * - The member's visits of the day are counted over purchases_member_idx. With `status =
 *   'recorded'` in the WHERE clause the partial purchases_recorded_idx (created_at, for the
 *   reports) also fits the query, and on a table not analysed yet (a new club, the bench) the
 *   cached plan took it: every purchase read every recorded purchase of the day (600 index
 *   entries and heap fetches per purchase after 1,100 purchases, growing all day). The status is
 *   now a filter of the count, so only the member's own index fits.
 * - The foreign keys that made every purchase lock a row shared by all purchases are dropped:
 *   purchases.branch_id and ledger_entries.branch_id (the branch row: every till of the branch),
 *   purchases.cashier_member_id, ledger_entries.actor_member_id and audit_log.actor_member_id (the
 *   cashier's member row: every purchase the cashier records). Each check is a
 *   `SELECT ... FOR KEY SHARE` of that row; with several purchases in flight the row's lockers
 *   become a MultiXact, created anew for every purchase. Why that is safe: branches and members are
 *   never deleted (no code path deletes either; branches are deactivated, members keep their
 *   history), so the keys only guarded inserts of ids that do not exist, and club_record_purchase
 *   now checks the branch and the cashier itself (failing with the same SQLSTATE 23503 as the
 *   key did). The other writers of ledger_entries.actor_member_id and audit_log.actor_member_id
 *   write the signed-in staff member's id, a member by construction. The keys that hold the money
 *   to its owner stay: purchases.member_id, ledger_entries.member_id (the member's row is locked by
 *   the purchase itself, so their check takes no new lock), ledger_lots.entry_id.
 * - ledger_lots.member_id's key is dropped: every writer of a lot writes its entry's member
 *   (ledger.ts credit and bulk credit, the import, club_record_purchase), and the entry's own
 *   member key already says that member exists.
 * - The sales summary's upsert is written into the function instead of calling the SQL function
 *   club_report_sales_add (an SQL function's body is parsed and planned on every call: 6 % of the
 *   backends' CPU in a perf profile of the bench), and the connection's shard is read once for
 *   both summary upserts instead of by each row's column default.
 * - The member row's update names tier_id only on a promotion, so the member's row trigger on
 *   tier_id (report_member_counts) is not considered, nor its WHEN evaluated, on every purchase.
 * - The receipt's insert names its conflict target (notifications_key_idx): a bare ON CONFLICT
 *   probes every unique index, the primary key too; the promoted tier's name is read only on a
 *   promotion.
 * - audit_log_action_idx (action, id) is dropped: its one reader, the owner's log filtered by
 *   group (src/club/audit.ts, listAudit), matches actions with LIKE 'prefix%', which a btree on
 *   text can serve only under the C collation; under the server's C.UTF-8 (as under any
 *   language collation) the plan is the primary key read backwards with the LIKE as a filter,
 *   index or not (EXPLAIN in docs/benchmarks.md). It cost an entry for every audit row, so one
 *   per purchase.
 * - members gets fillfactor 90: the purchase updates the member row (balances, figures) and no
 *   indexed column, so with room on the page the update is HOT (no new entry in members' 7
 *   indexes). Only pages written from now on keep the room (an existing club's table fills it
 *   as rows move; VACUUM FULL would rewrite it, not done in a migration).
 */
const SLOT = 'date_bin(\'15 minutes\', p_now, timestamptz \'2000-01-01 00:00:00+00\')';

const DROPPED_KEYS = [
  ['purchases', 'purchases_branch_id_fkey', 'branch_id', 'branches'],
  ['ledger_entries', 'ledger_entries_branch_id_fkey', 'branch_id', 'branches'],
  ['purchases', 'purchases_cashier_member_id_fkey', 'cashier_member_id', 'members'],
  ['ledger_entries', 'ledger_entries_actor_member_id_fkey', 'actor_member_id', 'members'],
  ['audit_log', 'audit_log_actor_member_id_fkey', 'actor_member_id', 'members'],
  ['ledger_lots', 'ledger_lots_member_id_fkey', 'member_id', 'members'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, name] of DROPPED_KEYS) {
    await sql`alter table ${sql.id(table)} drop constraint if exists ${sql.id(name)}`.execute(db);
  }
  await sql`alter table members set (fillfactor = 90)`.execute(db);
  await sql`drop index if exists audit_log_action_idx`.execute(db);

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
      branch_name text;
      cashier_found boolean;
      till_shard int2;
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
      -- Counted over the member's purchases of the day (purchases_member_idx) with the status as a
      -- filter of the count: with status in the WHERE clause the planner may pick the partial
      -- purchases_recorded_idx and read every recorded purchase of the day (an unanalysed table).
      select count(*) filter (where status = 'recorded') into visits from purchases
        where member_id = p_member and created_at >= p_day_start;
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
      -- The branch and the cashier must exist (their foreign keys are gone, see the header); a
      -- missing one fails as the foreign key did. Plain reads: neither row is ever deleted.
      select b.name, exists (select from members c where c.id = p_cashier) into branch_name, cashier_found
        from branches b where b.id = p_branch;
      if not found then
        raise foreign_key_violation using message = format('branch %s does not exist', p_branch);
      elsif not cashier_found then
        raise foreign_key_violation using message = format('cashier %s is not a member', p_cashier);
      end if;
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
      -- (The upsert of club_report_sales_add written out: an SQL function is parsed and planned
      -- again on every call, a statement of this function once per connection.)
      till_shard := club_shard();
      insert into report_sales (slot, branch_id, purchases, revenue, shard) values (purchase_slot, p_branch, 1, p_amount, till_shard)
        on conflict (slot, branch_id, shard) do update set purchases = report_sales.purchases + excluded.purchases,
          revenue = report_sales.revenue + excluded.revenue;
      if total > 0 or p_credit > 0 then
        insert into report_ledger (slot, branch_id, entries, issued, redeemed, expired, credit_in, credit_out, shard)
          values (purchase_slot, p_branch, (total > 0)::int + (p_credit > 0)::int, total, 0, 0, 0, p_credit, till_shard)
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

      -- tier_id is set only on a promotion: a column in the SET list makes PostgreSQL consider
      -- the member's AFTER UPDATE OF tier_id trigger (and evaluate its WHEN) on every purchase.
      if target is null then
        update members set points_balance = points_balance + total, credit_balance = credit_balance - p_credit,
            purchase_count = purchase_count + 1, spend_rials = spend_rials + p_amount, last_purchase_at = greatest(last_purchase_at, p_now)
          where id = p_member returning points_balance, credit_balance into new_points, new_credit;
      else
        update members set points_balance = points_balance + total, credit_balance = credit_balance - p_credit, tier_id = target,
            purchase_count = purchase_count + 1, spend_rials = spend_rials + p_amount, last_purchase_at = greatest(last_purchase_at, p_now)
          where id = p_member returning points_balance, credit_balance into new_points, new_credit;
      end if;
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
            'branch', branch_name,
            'promoted', case when target is not null then (select jsonb_build_object('fa', t.name_fa, 'en', t.name_en) from tiers t where t.id = target) end),
          'receipt:' || p.id, 'pending', p_now
        from member_accounts a where a.member_id = p_member and not a.blocked
        on conflict (idempotency_key, platform, chat_id) do nothing;
      return jsonb_build_object('duplicate', false, 'purchase', to_jsonb(p), 'points', total, 'base', base,
        'from_spend', from_spend, 'visit', visit, 'multiplier', multiplier, 'below_minimum', paid < r.min_purchase,
        'points_balance', new_points, 'credit_balance', new_credit, 'promoted_to', target);
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // The function keeps its own checks (harmless with the keys back); roll back to before
  // 20261129233000 for the older function.
  await sql`alter table members reset (fillfactor)`.execute(db);
  await sql`create index audit_log_action_idx on audit_log (action, id)`.execute(db);
  for (const [table, name, column, target] of DROPPED_KEYS) {
    await sql`alter table ${sql.id(table)} add constraint ${sql.id(name)} foreign key (${sql.id(column)}) references ${sql.id(target)} (id)`.execute(db);
  }
}
