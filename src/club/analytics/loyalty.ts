import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { ReportScope } from './sales.ts';

export interface LoyaltyReport {
  pointsIssued: number;
  pointsRedeemed: number;
  pointsExpired: number;
  creditEarned: number;
  creditUsed: number;
  /** Points members hold now and what they are worth in Rials (at the conversion rate), plus credit. */
  outstandingPoints: number;
  outstandingCredit: number;
  liabilityRials: number;
  revenue: number;
  /** What the club gave back per Rial sold: (points issued at the conversion rate + credit earned) / revenue. */
  cashbackRate: number;
  rewardsClaimed: number;
  rewardPoints: number;
  byDay: { day: string; issued: number; redeemed: number; expired: number }[];
}

// Points spent at the till or turned into credit count as redeemed; reversals of voided purchases
// and refunds are neither issued nor redeemed. report_ledger holds these sums per 15-minute slot and
// branch (migrations/20261129230000_report_summaries.ts keeps the definitions).
export async function loyaltyReport(db: Db, scope: ReportScope, rialsPerPoint: number): Promise<LoyaltyReport> {
  const { from, to, timeZone: tz } = scope.period;
  const branch = scope.branchId === null ? sql`` : sql`and branch_id = ${scope.branchId}`;
  const { rows } = await sql<{ day: string; issued: number; redeemed: number; expired: number; credit_in: number; credit_out: number }>`
    select (slot at time zone ${tz})::date::text as day, sum(issued)::int8 as issued, sum(redeemed)::int8 as redeemed,
      sum(expired)::int8 as expired, sum(credit_in)::int8 as credit_in, sum(credit_out)::int8 as credit_out
    from report_ledger
    where slot >= ${from} and slot < ${to} ${branch}
    group by 1 order by 1`.execute(db);
  const { rows: held } = await sql<{ points: number; credit: number }>`
    select coalesce(sum(points_balance), 0)::int8 as points, coalesce(sum(credit_balance), 0)::int8 as credit from members`.execute(db);
  const { rows: sold } = await sql<{ revenue: number }>`
    select coalesce(sum(revenue), 0)::int8 as revenue from report_sales
    where slot >= ${from} and slot < ${to} ${branch}`.execute(db);
  const { rows: claims } = await sql<{ n: number; points: number }>`
    select count(*)::int8 as n, coalesce(sum(points), 0)::int8 as points from reward_claims
    where status <> 'cancelled' and created_at >= ${from} and created_at < ${to} ${branch}`.execute(db);
  const sum = (k: 'issued' | 'redeemed' | 'expired' | 'credit_in' | 'credit_out') => rows.reduce((s, r) => s + r[k], 0);
  const revenue = sold[0]!.revenue;
  const pointsIssued = sum('issued');
  const creditEarned = sum('credit_in');
  return {
    pointsIssued,
    pointsRedeemed: sum('redeemed'),
    pointsExpired: sum('expired'),
    creditEarned,
    creditUsed: sum('credit_out'),
    outstandingPoints: held[0]!.points,
    outstandingCredit: held[0]!.credit,
    liabilityRials: held[0]!.points * rialsPerPoint + held[0]!.credit,
    revenue,
    cashbackRate: revenue ? (pointsIssued * rialsPerPoint + creditEarned) / revenue : 0,
    rewardsClaimed: claims[0]!.n,
    rewardPoints: claims[0]!.points,
    byDay: rows.map((r) => ({ day: r.day, issued: r.issued, redeemed: r.redeemed, expired: r.expired })),
  };
}
