import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { todayIso } from '../lib/jalali.ts';
import { zonedMidnight } from '../lib/zoned.ts';

export interface ClubStats {
  members: number;
  newToday: number;
  new7d: number;
  new30d: number;
  /** Members who bought (a purchase not voided) in the last 30 days. */
  active30d: number;
  /** Points given in 30 days: purchases not voided, signup, referrals, surveys, automation gifts, adjustments. */
  pointsIssued30d: number;
  /** What the points issued in 30 days are worth, per Rial of revenue in 30 days (0.05 = 5%); null without revenue. */
  cashbackRate: number | null;
  pointsRedeemed30d: number;
  pointsExpired30d: number;
  outstandingPoints: number;
  liabilityRials: number;
  purchases: { today: number; d7: number; d30: number };
  revenue: { today: number; d7: number; d30: number };
  tiers: { code: string; name_fa: string; name_en: string; members: number }[];
}

/** The staff dashboard: one pass over members, ledger and purchases with windows in club time. */
export async function clubStats(db: Db, now: Date, timeZone: string, rialsPerPoint: number): Promise<ClubStats> {
  const today = zonedMidnight(todayIso(now, timeZone), timeZone);
  const d7 = new Date(now.getTime() - 7 * 86_400_000);
  const d30 = new Date(now.getTime() - 30 * 86_400_000);
  const members = await db
    .selectFrom('members')
    .select([
      sql<number>`count(*)`.as('total'),
      sql<number>`count(*) filter (where joined_at >= ${today})`.as('today'),
      sql<number>`count(*) filter (where joined_at >= ${d7})`.as('d7'),
      sql<number>`count(*) filter (where joined_at >= ${d30})`.as('d30'),
      sql<number>`coalesce(sum(points_balance), 0)::int8`.as('outstanding'),
    ])
    .executeTakeFirstOrThrow();
  const ledger = await db
    .selectFrom('ledger_entries')
    .select([
      // A voided purchase gave nothing: its points are left out here (its reversal is not a redemption).
      sql<number>`coalesce(sum(amount) filter (where amount > 0 and kind in ('earn', 'adjust', 'gift')
        and not (reason = 'purchase' and exists (select 1 from purchases p where p.id = (ledger_entries.meta->>'purchase_id')::int8 and p.status = 'voided'))), 0)::int8`.as('issued'),
      sql<number>`coalesce(-sum(amount) filter (where amount < 0 and kind in ('spend', 'convert')), 0)::int8`.as('redeemed'),
      sql<number>`coalesce(-sum(amount) filter (where kind = 'expire'), 0)::int8`.as('expired'),
    ])
    .where('currency', '=', 'points')
    .where('created_at', '>=', d30)
    .executeTakeFirstOrThrow();
  const sales = await db
    .selectFrom('purchases')
    .select([
      sql<number>`count(*) filter (where created_at >= ${today})`.as('n_today'),
      sql<number>`count(*) filter (where created_at >= ${d7})`.as('n_7'),
      sql<number>`count(*)`.as('n_30'),
      sql<number>`coalesce(sum(amount_rials) filter (where created_at >= ${today}), 0)::int8`.as('r_today'),
      sql<number>`coalesce(sum(amount_rials) filter (where created_at >= ${d7}), 0)::int8`.as('r_7'),
      sql<number>`coalesce(sum(amount_rials), 0)::int8`.as('r_30'),
      sql<number>`count(distinct member_id)`.as('buyers'),
    ])
    .where('status', '=', 'recorded')
    .where('created_at', '>=', d30)
    .executeTakeFirstOrThrow();
  const tiers = await db
    .selectFrom('tiers')
    .leftJoin('members', 'members.tier_id', 'tiers.id')
    .select(['tiers.code', 'tiers.name_fa', 'tiers.name_en', sql<number>`count(members.id)`.as('members')])
    .groupBy(['tiers.id', 'tiers.code', 'tiers.name_fa', 'tiers.name_en', 'tiers.rank'])
    .orderBy('tiers.rank')
    .execute();
  return {
    members: members.total,
    newToday: members.today,
    new7d: members.d7,
    new30d: members.d30,
    active30d: sales.buyers,
    pointsIssued30d: ledger.issued,
    pointsRedeemed30d: ledger.redeemed,
    pointsExpired30d: ledger.expired,
    cashbackRate: sales.r_30 > 0 ? (ledger.issued * rialsPerPoint) / sales.r_30 : null,
    outstandingPoints: members.outstanding,
    liabilityRials: members.outstanding * rialsPerPoint,
    purchases: { today: sales.n_today, d7: sales.n_7, d30: sales.n_30 },
    revenue: { today: sales.r_today, d7: sales.r_7, d30: sales.r_30 },
    tiers,
  };
}
