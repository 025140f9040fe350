import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { todayIso } from '../lib/jalali.ts';
import { zonedMidnight } from '../lib/zoned.ts';

export interface TillSummary {
  purchases: number;
  revenueRials: number;
  creditUsedRials: number;
  pointsIssued: number;
  voided: number;
  rewardsHanded: number;
}

/**
 * Today's till at one branch (club time), for the cashier closing up: purchases recorded and their
 * money, points given, voids, and rewards handed over. `cashierId` narrows it to one person's till.
 */
export async function tillSummary(db: Db, branchId: number, cashierId: number | null, now: Date, timeZone: string): Promise<TillSummary> {
  const today = todayIso(now, timeZone);
  const from = zonedMidnight(today, timeZone);
  const to = zonedMidnight(new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10), timeZone);
  const byCashier = cashierId === null ? sql<boolean>`true` : sql<boolean>`cashier_member_id = ${cashierId}`;
  const p = await db
    .selectFrom('purchases')
    .select([
      sql<number>`count(*) filter (where status = 'recorded')`.as('purchases'),
      sql<number>`coalesce(sum(amount_rials) filter (where status = 'recorded'), 0)`.as('revenue'),
      sql<number>`coalesce(sum(credit_used) filter (where status = 'recorded'), 0)`.as('credit'),
      sql<number>`coalesce(sum(points_earned) filter (where status = 'recorded'), 0)`.as('points'),
      sql<number>`count(*) filter (where status = 'voided')`.as('voided'),
    ])
    .where('branch_id', '=', branchId)
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .where(byCashier)
    .executeTakeFirstOrThrow();
  const r = await db
    .selectFrom('reward_claims')
    .select(sql<number>`count(*)`.as('n'))
    .where('status', '=', 'confirmed')
    .where('branch_id', '=', branchId)
    .where('confirmed_at', '>=', from)
    .where('confirmed_at', '<', to)
    .where(cashierId === null ? sql<boolean>`true` : sql<boolean>`confirmed_by = ${cashierId}`)
    .executeTakeFirstOrThrow();
  return {
    purchases: Number(p.purchases),
    revenueRials: Number(p.revenue),
    creditUsedRials: Number(p.credit),
    pointsIssued: Number(p.points),
    voided: Number(p.voided),
    rewardsHanded: Number(r.n),
  };
}
