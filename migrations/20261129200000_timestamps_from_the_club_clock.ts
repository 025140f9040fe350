import { sql, type Kysely } from 'kysely';

/**
 * Every timestamp the club writes comes from its one clock (`deps.now()`), passed as a parameter:
 * the database's own `now()` disagreed with the injected clock (tests, and the playground's
 * fast-forward), so rows were stamped on a different day than the domain thought. The defaults go,
 * so an insert that forgets its timestamp fails loudly instead of taking the server's time.
 * `conversation_state.updated_at` stays: it is bookkeeping of the bot, not of the club.
 */
const stamped: [table: string, column: string][] = [
  ['club_settings', 'updated_at'],
  ['branches', 'created_at'],
  ['members', 'joined_at'],
  ['members', 'last_active_at'],
  ['member_accounts', 'created_at'],
  ['staff', 'created_at'],
  ['ledger_entries', 'created_at'],
  ['audit_log', 'created_at'],
  ['earning_rules', 'updated_at'],
  ['purchases', 'created_at'],
  ['rewards', 'created_at'],
  ['reward_claims', 'created_at'],
  ['redemptions', 'created_at'],
  ['disputes', 'created_at'],
  ['member_notices', 'created_at'],
  ['join_links', 'created_at'],
  ['referrals', 'created_at'],
  ['member_vouchers', 'created_at'],
  ['tickets', 'created_at'],
  ['ticket_messages', 'created_at'],
  ['surveys', 'created_at'],
  ['survey_responses', 'completed_at'],
  ['segments', 'created_at'],
  ['campaigns', 'created_at'],
  ['voucher_pools', 'created_at'],
  ['automations', 'created_at'],
  ['automation_deliveries', 'created_at'],
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, column] of stamped) {
    await db.schema.alterTable(table).alterColumn(column, (c) => c.dropDefault()).execute();
  }
  await sql`
    create or replace function club_record_purchase(
      p_member bigint, p_branch integer, p_cashier bigint, p_amount bigint, p_credit bigint,
      p_receipt text, p_key text, p_now timestamptz, p_day_start timestamptz,
      p_month_end timestamptz, p_year_end timestamptz, p_defaults jsonb
    ) returns jsonb language plpgsql as $$
    declare
      m record;
      existing purchases;
      p purchases;
      r earning_rules;
      settings jsonb;
      multiplier numeric;
      current_rank integer;
      visits bigint;
      earned bigint;
      base bigint := 0;
      from_spend bigint := 0;
      visit bigint := 0;
      total bigint := 0;
      expires timestamptz;
      entry bigint;
      target integer;
      new_points bigint;
      new_credit bigint;
    begin
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
      if p_credit > m.credit_balance then
        return jsonb_build_object('error', 'insufficient_credit', 'balance', m.credit_balance);
      end if;

      settings := p_defaults || coalesce((select value from club_settings where key = 'loyalty'), '{}'::jsonb);
      select * into r from earning_rules
        where (branch_id is null or branch_id = p_branch)
          and (active_from is null or active_from <= p_now)
          and (active_to is null or active_to > p_now)
        order by branch_id is null limit 1;
      select earn_multiplier, rank into multiplier, current_rank from tiers where id = m.tier_id;
      select count(*) into visits from purchases
        where member_id = p_member and status = 'recorded' and created_at >= p_day_start;
      if p_amount - p_credit >= r.min_purchase then
        base := (p_amount - p_credit) / r.rials_per_point;
        from_spend := (base * round(multiplier * 100)::bigint) / 100;
        visit := case when visits < r.visit_daily_cap then r.visit_points else 0 end;
        total := from_spend + visit;
      end if;
      expires := case settings->'validity'->>'mode'
        when 'jalali_month_end' then p_month_end
        when 'jalali_year_end' then p_year_end
        else p_now + make_interval(days => (settings->'validity'->>'days')::int)
      end;

      insert into purchases (member_id, branch_id, cashier_member_id, amount_rials, credit_used, receipt_no, idempotency_key, points_earned, created_at)
        values (p_member, p_branch, p_cashier, p_amount, p_credit, p_receipt, p_key, total, p_now)
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
          'amount', p_amount, 'credit', p_credit, 'points', total), p_now);
      return jsonb_build_object('duplicate', false, 'purchase', to_jsonb(p), 'points', total, 'base', base,
        'from_spend', from_spend, 'visit', visit, 'multiplier', multiplier, 'below_minimum', p_amount - p_credit < r.min_purchase,
        'points_balance', new_points, 'credit_balance', new_credit, 'promoted_to', target);
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [table, column] of stamped) {
    await db.schema.alterTable(table).alterColumn(column, (c) => c.setDefault(sql`now()`)).execute();
  }
}
