import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Currency } from '../db/schema.ts';

/**
 * One line of a member's history: a purchase (with the points it earned and the credit it used), or
 * a movement of points or credit that is not part of a purchase (a bonus, a reward, an expiry, a
 * conversion, a void...). The purchase's own ledger entries are folded into the purchase line.
 */
export type HistoryItem =
  | {
      type: 'purchase';
      at: Date;
      id: number;
      amountRials: number;
      points: number;
      creditUsed: number;
      branch: string;
      voided: boolean;
    }
  | {
      type: 'ledger';
      at: Date;
      id: number;
      currency: Currency;
      amount: number;
      kind: string;
      reason: string | null;
      rewardFa: string | null;
      rewardEn: string | null;
    };

export interface HistoryPage {
  items: HistoryItem[];
  page: number;
  pages: number;
}

// Ledger entries written by club_record_purchase: shown on the purchase's own line.
const PURCHASE_REASONS = ['purchase', 'purchase_credit'];

/** The member's history, newest first, `size` lines a page (page 0 is the newest). */
export async function memberHistory(db: Db, memberId: number, page: number, size = 5): Promise<HistoryPage> {
  const { rows: counted } = await sql<{ n: number }>`
    select (select count(*) from purchases where member_id = ${memberId})
         + (select count(*) from ledger_entries where member_id = ${memberId} and coalesce(reason, '') not in (${sql.join(PURCHASE_REASONS)})) as n`.execute(db);
  const total = counted[0]!.n;
  const pages = Math.max(1, Math.ceil(total / size));
  const current = Math.max(0, Math.min(page, pages - 1));
  const { rows } = await sql<{
    type: 'purchase' | 'ledger';
    at: Date;
    id: number;
    amount: number;
    points: number;
    credit_used: number;
    branch: string | null;
    voided: boolean;
    currency: Currency | null;
    kind: string | null;
    reason: string | null;
    reward_fa: string | null;
    reward_en: string | null;
  }>`
    select * from (
      select 'purchase' as type, p.created_at as at, p.id, p.amount_rials as amount, p.points_earned as points,
             p.credit_used, b.name as branch, p.status = 'voided' as voided,
             null::text as currency, null::text as kind, null::text as reason, null::text as reward_fa, null::text as reward_en
      from purchases p join branches b on b.id = p.branch_id
      where p.member_id = ${memberId}
      union all
      select 'ledger', l.created_at, l.id, l.amount, 0, 0, null, false, l.currency, l.kind, l.reason, r.title_fa, r.title_en
      from ledger_entries l
      left join rewards r on l.reason = 'reward' and r.id = (l.meta ->> 'reward_id')::int8
      where l.member_id = ${memberId} and coalesce(l.reason, '') not in (${sql.join(PURCHASE_REASONS)})
    ) h
    order by at desc, type desc, id desc
    limit ${size} offset ${current * size}`.execute(db);
  const items = rows.map((r): HistoryItem =>
    r.type === 'purchase'
      ? { type: 'purchase', at: new Date(r.at), id: r.id, amountRials: r.amount, points: r.points, creditUsed: r.credit_used, branch: r.branch ?? '', voided: r.voided }
      : { type: 'ledger', at: new Date(r.at), id: r.id, currency: r.currency!, amount: r.amount, kind: r.kind!, reason: r.reason, rewardFa: r.reward_fa, rewardEn: r.reward_en },
  );
  return { items, page: current, pages };
}

/** The member's last purchases, for the staff view at the till. */
export async function lastPurchases(db: Db, memberId: number, limit = 5) {
  return db
    .selectFrom('purchases as p')
    .innerJoin('branches as b', 'b.id', 'p.branch_id')
    .select(['p.id', 'p.created_at', 'p.amount_rials', 'p.points_earned', 'p.status', 'b.name as branch'])
    .where('p.member_id', '=', memberId)
    .orderBy('p.created_at', 'desc')
    .orderBy('p.id', 'desc')
    .limit(limit)
    .execute();
}
