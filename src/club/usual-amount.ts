import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** How many of a branch's recent purchases make its "usual" amount, and how few are too few to judge. */
const RECENT = 50;
const ENOUGH = 5;
/** An amount this many times above or below the usual one looks like a slipped zero. */
const FACTOR = 7;

/** The median amount (Rials) of this branch's recent recorded purchases, or null with too few of them. */
export async function usualAmount(db: Db, branchId: number): Promise<number | null> {
  const recent = db
    .selectFrom('purchases')
    .select('amount_rials')
    .where('branch_id', '=', branchId)
    .where('status', '=', 'recorded')
    .orderBy('id', 'desc')
    .limit(RECENT)
    .as('recent');
  const row = await db
    .selectFrom(recent)
    .select([sql<number>`count(*)::int`.as('n'), sql<string | null>`percentile_cont(0.5) within group (order by amount_rials)`.as('median')])
    .executeTakeFirstOrThrow();
  return row.n >= ENOUGH && row.median !== null ? Math.round(Number(row.median)) : null;
}

/**
 * When an amount is about 10× off the usual one, the amount the cashier probably meant (a zero
 * added or dropped); null when it looks ordinary.
 */
export function probablyMeant(amount: number, usual: number | null): number | null {
  if (usual === null || usual <= 0) return null;
  if (amount >= usual * FACTOR && amount % 10 === 0) return amount / 10;
  if (amount * FACTOR <= usual) return amount * 10;
  return null;
}
