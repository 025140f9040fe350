import { sql, type Kysely } from 'kysely';
import { up as fewerLocks } from './20261130022000_till_fewer_locks.ts';

/**
 * The till's purchase, round four (issue 14; figures in docs/benchmarks.md, "2026-11-30 (session
 * 3): fewer statements per purchase"). What a purchase writes does not change: the same purchase,
 * ledger entry, lot, audit row, receipt, member update and summary upserts, in one transaction.
 *
 * A perf profile of the backends put most of a purchase's server CPU in running its ~20
 * statements one by one (each: plan-cache check, snapshot, relation locks, executor start-up and
 * shutdown, its result relation's indexes opened and constraints parsed), not in the rows. So the
 * function now runs 6 on a purchase that earns no promotion:
 * - the tier, the loyalty settings, the earning rule, today's visits, the branch, the cashier and
 *   the next tier's threshold are read in one statement (the checks on them stay where they were,
 *   so the errors and their order do not change);
 * - the purchase, its points entry and the entry's lot are inserted by one statement (data-modifying
 *   CTEs; the foreign key from the lot to its entry is checked at the statement's end, as before);
 * - the promotion's sum of points earned in the window is read only when a promotion is within
 *   reach: members.earned_points (new) holds every positive points earning the member ever had, a
 *   bound the window's sum never exceeds, so a member whose figure is below the next tier's
 *   threshold is not promoted, exactly as the sum would have said. A statement trigger on
 *   ledger_entries keeps it for every other writer; the till adds its own in the member update;
 * - the audit row, the receipt and the two report summaries are written by one statement, after
 *   the member's update (the summaries' rows are shared by the connection's purchases: their locks
 *   are now taken last);
 * - `club.till_writes` is set by an assignment (PL/pgSQL's simple-expression path) instead of a
 *   PERFORM, which is a full query.
 * The credit-spend path (its entry and club_consume_lots) and the voucher paths are unchanged.
 */
const SLOT = 'date_bin(\'15 minutes\', p_now, timestamptz \'2000-01-01 00:00:00+00\')';

// Which of a member's ledger entries count towards members.earned_points: every positive amount
// of the kinds the tier window sums (so the figure is never below that sum, whatever the window).
const EARNED = sql.raw(`currency = 'points' and kind in ('earn', 'earn_reversal') and amount > 0`);

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table members add column if not exists earned_points bigint not null default 0`.execute(db);
  await sql`
    update members m set earned_points = e.points
    from (select member_id, sum(amount) as points from ledger_entries where ${EARNED} group by member_id) e
    where m.id = e.member_id`.execute(db);
  // Every other writer of the ledger (credit, bulk credit, imports, reversals) is counted by this
  // statement trigger; the till keeps the figure itself in its member update and skips it, like
  // the summaries' triggers.
  await sql`
    create or replace function club_member_earned_inserted() returns trigger language plpgsql as $$
    begin
      update members m set earned_points = m.earned_points + e.points
        from (select member_id, sum(amount) as points from new_entries where ${EARNED} group by member_id) e
        where m.id = e.member_id;
      return null;
    end $$`.execute(db);
  await sql`drop trigger if exists ledger_entries_earned_insert on ledger_entries`.execute(db);
  await sql`
    create trigger ledger_entries_earned_insert after insert on ledger_entries
      referencing new table as new_entries for each statement
      when (current_setting('club.till_writes', true) is distinct from 'on')
      execute function club_member_earned_inserted()`.execute(db);

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
      settings jsonb;
      multiplier numeric;
      tier_percent numeric;
      current_rank integer;
      rule_min bigint;
      rule_rials_per_point bigint;
      rule_visit_points integer;
      rule_visit_cap integer;
      visits bigint;
      earned bigint;
      next_threshold bigint;
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
      branch_found boolean;
      cashier_found boolean;
      till_writes text;
      till_shard int2;
      purchase_slot timestamptz := ${sql.raw(SLOT)};
    begin
      if p_cashier = p_member then
        return jsonb_build_object('error', 'own_purchase');
      end if;
      select id, points_balance, credit_balance, tier_id, earned_points into m from members where id = p_member for no key update;
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

      -- Everything the purchase reads but does not lock, in one statement. Visits are counted over
      -- the member's purchases of the day (purchases_member_idx) with the status as a filter of
      -- the count (see 20261130022000). The rule: the branch's own before the club-wide one.
      select t.earn_multiplier, t.rank, t.discount_percent,
          p_defaults || coalesce((select s.value from club_settings s where s.key = 'loyalty'), '{}'::jsonb),
          r.min_purchase, r.rials_per_point, r.visit_points, r.visit_daily_cap,
          (select count(*) filter (where v.status = 'recorded') from purchases v where v.member_id = p_member and v.created_at >= p_day_start),
          b.name, b.id is not null, exists (select from members c where c.id = p_cashier),
          (select min(h.threshold) from tiers h where h.rank > t.rank)
        into multiplier, current_rank, tier_percent, settings, rule_min, rule_rials_per_point, rule_visit_points, rule_visit_cap,
          visits, branch_name, branch_found, cashier_found, next_threshold
        from tiers t
        left join lateral (select e.min_purchase, e.rials_per_point, e.visit_points, e.visit_daily_cap from earning_rules e
            where (e.branch_id is null or e.branch_id = p_branch)
              and (e.active_from is null or e.active_from <= p_now)
              and (e.active_to is null or e.active_to > p_now)
            order by e.branch_id is null limit 1) r on true
        left join branches b on b.id = p_branch
        where t.id = m.tier_id;

      -- Discounts, in the order the TypeScript purchaseTotals applies them: tier, then voucher.
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
      if paid >= rule_min then
        base := paid / rule_rials_per_point;
        from_spend := (base * round(multiplier * 100)::bigint) / 100;
        visit := case when visits < rule_visit_cap then rule_visit_points else 0 end;
        total := from_spend + visit;
      end if;
      expires := case settings->'validity'->>'mode'
        when 'jalali_month_end' then p_month_end
        when 'jalali_year_end' then p_year_end
        else p_now + make_interval(days => (settings->'validity'->>'days')::int)
      end;

      -- The branch and the cashier must exist (their foreign keys are gone, see 20261130022000);
      -- a missing one fails as the foreign key did.
      if branch_found is not true then
        raise foreign_key_violation using message = format('branch %s does not exist', p_branch);
      elsif cashier_found is not true then
        raise foreign_key_violation using message = format('cashier %s is not a member', p_cashier);
      end if;
      -- The purchase and its points (entry and lot) in one statement: the summaries and member
      -- figures are kept below, so the insert triggers skip these statements.
      till_writes := set_config('club.till_writes', 'on', true);
      with new_purchase as (
        insert into purchases (member_id, branch_id, cashier_member_id, amount_rials, credit_used, receipt_no, idempotency_key, points_earned,
            tier_discount_rials, voucher_discount_rials, voucher_code_id, created_at)
          values (p_member, p_branch, p_cashier, p_amount, p_credit, p_receipt, p_key, total, tier_off, voucher_off, code_id, p_now)
          returning *
      ), earning as (
        insert into ledger_entries (member_id, currency, amount, kind, reason, idempotency_key, expires_at, branch_id, actor_member_id, meta, created_at)
          select p_member, 'points', total, 'earn', 'purchase', 'purchase:' || np.id, expires, p_branch, p_cashier, jsonb_build_object('purchase_id', np.id), p_now
          from new_purchase np where total > 0
          returning id
      ), lot as (
        insert into ledger_lots (entry_id, member_id, currency, remaining, expires_at) select earning.id, p_member, 'points', total, expires from earning
      )
      select * into p from new_purchase;
      if p_credit > 0 then
        insert into ledger_entries (member_id, currency, amount, kind, reason, idempotency_key, expires_at, branch_id, actor_member_id, meta, created_at)
          values (p_member, 'credit', -p_credit, 'spend', 'purchase_credit', 'purchase-credit:' || p.id, null, p_branch, p_cashier, null, p_now)
          returning id into entry;
        perform club_consume_lots(p_member, 'credit', p_credit, entry);
      end if;
      till_writes := set_config('club.till_writes', '', true);

      if welcome_id is not null then
        update member_vouchers set used_purchase_id = p.id where id = welcome_id;
      end if;
      if code_id is not null then
        update voucher_codes set redeemed_at = p_now, redeemed_member_id = p_member, redeemed_by = p_cashier, redeemed_branch_id = p_branch
          where id = code_id;
      end if;

      -- Promotion is immediate, on points earned in the rolling window (never the balance). The
      -- window's sum is read only when it could reach a higher tier: it is at most every positive
      -- earning the member ever had (members.earned_points, this purchase's included), so below the
      -- next tier's threshold that figure says no promotion without reading the member's ledger.
      if m.earned_points + greatest(total, 0) >= next_threshold then
        select coalesce(sum(amount), 0) into earned from ledger_entries
          where member_id = p_member and currency = 'points' and kind in ('earn', 'earn_reversal')
            and created_at > p_now - make_interval(days => (settings->>'tierWindowDays')::int);
        select id into target from tiers where threshold <= earned and rank > current_rank order by rank desc limit 1;
      end if;

      -- tier_id is set only on a promotion: a column in the SET list makes PostgreSQL consider
      -- the member's AFTER UPDATE OF tier_id trigger (and evaluate its WHEN) on every purchase.
      if target is null then
        update members set points_balance = points_balance + total, credit_balance = credit_balance - p_credit,
            purchase_count = purchase_count + 1, spend_rials = spend_rials + p_amount, last_purchase_at = greatest(last_purchase_at, p_now),
            earned_points = earned_points + greatest(total, 0)
          where id = p_member returning points_balance, credit_balance into new_points, new_credit;
      else
        update members set points_balance = points_balance + total, credit_balance = credit_balance - p_credit, tier_id = target,
            purchase_count = purchase_count + 1, spend_rials = spend_rials + p_amount, last_purchase_at = greatest(last_purchase_at, p_now),
            earned_points = earned_points + greatest(total, 0)
          where id = p_member returning points_balance, credit_balance into new_points, new_credit;
      end if;

      -- The audit row, the member's receipt (src/club/notifications.ts, ReceiptFacts; to every chat
      -- that has not blocked the bot) and what the skipped insert triggers would have added to the
      -- summaries (a recorded purchase in its slot and branch; an earning (issued) and a credit
      -- spend (credit out) in the ledger's), in one statement.
      till_shard := club_shard();
      with audited as (
        insert into audit_log (actor_member_id, action, payload, created_at)
          values (p_cashier, 'purchase.record', jsonb_build_object('purchase_id', p.id, 'member_id', p_member,
            'amount', p_amount, 'tier_discount', tier_off, 'voucher_discount', voucher_off, 'welcome', welcome_id is not null,
            'voucher_code_id', code_id, 'credit', p_credit, 'points', total), p_now)
      ), sales as (
        insert into report_sales (slot, branch_id, purchases, revenue, shard) values (purchase_slot, p_branch, 1, p_amount, till_shard)
          on conflict (slot, branch_id, shard) do update set purchases = report_sales.purchases + excluded.purchases,
            revenue = report_sales.revenue + excluded.revenue
      ), ledger_summary as (
        insert into report_ledger (slot, branch_id, entries, issued, redeemed, expired, credit_in, credit_out, shard)
          select purchase_slot, p_branch, (total > 0)::int + (p_credit > 0)::int, total, 0, 0, 0, p_credit, till_shard
          where total > 0 or p_credit > 0
          on conflict (slot, branch_id, shard) do update set entries = report_ledger.entries + excluded.entries,
            issued = report_ledger.issued + excluded.issued, credit_out = report_ledger.credit_out + excluded.credit_out
      )
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
        'from_spend', from_spend, 'visit', visit, 'multiplier', multiplier, 'below_minimum', paid < rule_min,
        'points_balance', new_points, 'credit_balance', new_credit, 'promoted_to', target);
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // The previous round's function (its other changes are idempotent and stay), then the figure.
  await fewerLocks(db);
  await sql`drop trigger if exists ledger_entries_earned_insert on ledger_entries`.execute(db);
  await sql`drop function if exists club_member_earned_inserted()`.execute(db);
  await sql`alter table members drop column if exists earned_points`.execute(db);
}
