import { sql, type Kysely } from 'kysely';

/**
 * The till asks before it spends and applies what it shows:
 * - credit_requests: a purchase paid partly from the member's Rial credit waits for the member's
 *   approval in their own chat (like points redemptions); approving records the purchase.
 * - purchases remember the tier discount, the voucher discount and the pool code used.
 * - club_record_purchase applies the tier discount and a welcome or pool voucher, uses the voucher
 *   up in the same call, refuses a cashier's own membership, and earns points on what is paid in
 *   money: amount less discounts less credit.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('credit_requests')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('branch_id', 'integer', (c) => c.notNull().references('branches.id'))
    .addColumn('cashier_member_id', 'bigint', (c) => c.notNull().references('members.id'))
    .addColumn('amount_rials', 'bigint', (c) => c.notNull().check(sql`amount_rials > 0`))
    .addColumn('credit_rials', 'bigint', (c) => c.notNull().check(sql`credit_rials > 0`))
    .addColumn('receipt_no', 'text')
    .addColumn('operation_id', 'text', (c) => c.notNull().unique())
    .addColumn('apply_welcome', 'boolean', (c) => c.notNull())
    .addColumn('voucher_code_id', 'bigint', (c) => c.references('voucher_codes.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'approved', 'declined', 'expired', 'failed')`))
    .addColumn('error', 'text')
    .addColumn('purchase_id', 'bigint', (c) => c.references('purchases.id'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('decided_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index credit_requests_pending_idx on credit_requests (expires_at) where status = 'pending'`.execute(db);

  await db.schema
    .alterTable('purchases')
    .addColumn('tier_discount_rials', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('voucher_discount_rials', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('voucher_code_id', 'bigint', (c) => c.references('voucher_codes.id'))
    .execute();

  await sql`drop function if exists club_record_purchase(bigint, integer, bigint, bigint, bigint, text, text, timestamptz, timestamptz, timestamptz, timestamptz, jsonb)`.execute(db);
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
      used bigint;
      net bigint;
      paid bigint;
      expires timestamptz;
      entry bigint;
      target integer;
      new_points bigint;
      new_credit bigint;
    begin
      if p_cashier = p_member then
        return jsonb_build_object('error', 'own_purchase');
      end if;
      select id, points_balance, credit_balance, tier_id into m from members where id = p_member for update;
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
        select c.id, c.member_id, c.redeemed_at, c.pool_id, pl.discount_kind, pl.discount_value, pl.valid_from, pl.valid_to, pl.per_member_limit
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

      insert into purchases (member_id, branch_id, cashier_member_id, amount_rials, credit_used, receipt_no, idempotency_key, points_earned,
          tier_discount_rials, voucher_discount_rials, voucher_code_id, created_at)
        values (p_member, p_branch, p_cashier, p_amount, p_credit, p_receipt, p_key, total, tier_off, voucher_off, code_id, p_now)
        returning * into p;
      if welcome_id is not null then
        update member_vouchers set used_purchase_id = p.id where id = welcome_id;
      end if;
      if code_id is not null then
        update voucher_codes set redeemed_at = p_now, redeemed_member_id = p_member, redeemed_by = p_cashier, redeemed_branch_id = p_branch
          where id = code_id;
      end if;
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

      -- Promotion is immediate, on points earned in the rolling window (never the balance).
      select coalesce(sum(amount), 0) into earned from ledger_entries
        where member_id = p_member and currency = 'points' and kind in ('earn', 'earn_reversal')
          and created_at > p_now - make_interval(days => (settings->>'tierWindowDays')::int);
      select id into target from tiers where threshold <= earned and rank > current_rank order by rank desc limit 1;

      update members set points_balance = points_balance + total, credit_balance = credit_balance - p_credit,
          tier_id = coalesce(target, tier_id)
        where id = p_member returning points_balance, credit_balance into new_points, new_credit;
      insert into audit_log (actor_member_id, action, payload, created_at)
        values (p_cashier, 'purchase.record', jsonb_build_object('purchase_id', p.id, 'member_id', p_member,
          'amount', p_amount, 'tier_discount', tier_off, 'voucher_discount', voucher_off, 'welcome', welcome_id is not null,
          'voucher_code_id', code_id, 'credit', p_credit, 'points', total), p_now);
      return jsonb_build_object('duplicate', false, 'purchase', to_jsonb(p), 'points', total, 'base', base,
        'from_spend', from_spend, 'visit', visit, 'multiplier', multiplier, 'below_minimum', paid < r.min_purchase,
        'points_balance', new_points, 'credit_balance', new_credit, 'promoted_to', target);
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists club_record_purchase(bigint, integer, bigint, bigint, bigint, text, text, timestamptz, timestamptz, timestamptz, timestamptz, jsonb, boolean, bigint)`.execute(db);
  await db.schema.alterTable('purchases').dropColumn('tier_discount_rials').dropColumn('voucher_discount_rials').dropColumn('voucher_code_id').execute();
  await db.schema.dropTable('credit_requests').execute();
}
