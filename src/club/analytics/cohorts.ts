import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { zonedMidnight } from '../../lib/zoned.ts';
import { activitySplit, dateArray, inSnapshot, livePurchases } from './activity.ts';
import { jalaliMonthStarts, nextJalaliMonth } from './period.ts';
import type { ReportScope } from './sales.ts';

export interface CohortReport {
  /** First days of the Jalali months, oldest first. */
  months: string[];
  /** Members who joined in each month. */
  sizes: number[];
  /** retained[c][k]: members of cohort c who bought in month c + k (k = 0 is the joining month), or null for months still ahead. */
  retained: (number | null)[][];
}

/**
 * Cohort retention over the 12 Jalali months up to the end of the period: members by the month they
 * joined, and how many of them bought in each later month. Months are found with width_bucket over
 * the months' first instants, so the database does the Jalali calendar with one array; months over
 * come from the per-member monthly activity rollup (activity.ts) where it holds them.
 */
export async function cohortReport(db: Db, scope: ReportScope, months = 12): Promise<CohortReport> {
  return inSnapshot(db, (db) => readCohorts(db, scope, months));
}

async function readCohorts(db: Db, scope: ReportScope, months: number): Promise<CohortReport> {
  const tz = scope.period.timeZone;
  const starts = jalaliMonthStarts(shiftBack(scope.period.endIso), months);
  const end = nextJalaliMonth(starts.at(-1)!);
  const bounds = [...starts, end].map((iso) => zonedMidnight(iso, tz));
  const edges = sql`array[${sql.join(bounds.map((b) => sql`${b}::timestamptz`))}]`;
  const { rows: sizes } = await sql<{ c: number; n: number }>`
    select width_bucket(joined_at, ${edges}) as c, count(*)::int8 as n from members
    where joined_at >= ${bounds[0]} and joined_at < ${bounds.at(-1)} group by 1`.execute(db);
  // Months the activity rollup holds come as cells (who bought in the month, by join month) kept
  // by its job; the rest (the open month, a month changed since) from purchases and members.
  const split = await activitySplit(db, bounds[0]!, bounds.at(-1)!, tz);
  const bought: { c: number; k: number; n: number }[] = [];
  if (split.months.length) {
    const { rows } = await sql<{ c: number; k: number; n: number }>`
      select array_position(${dateArray(starts)}, joined_month) as c, array_position(${dateArray(starts)}, month) as k, members as n
      from member_activity_cohorts
      where month = any(${dateArray(split.months)}) and joined_month = any(${dateArray(starts)}) and branch_id = ${scope.branchId ?? 0}`.execute(db);
    bought.push(...rows);
  }
  if (split.live.length) {
    const { rows } = await sql<{ c: number; k: number; n: number }>`
      select m.c, p.k, count(*)::int8 as n
      from (select distinct member_id, width_bucket(created_at, ${edges}) as k from (${livePurchases(split.live, sql`member_id, created_at`, scope.branchId)}) l) p
      join (select id, width_bucket(joined_at, ${edges}) as c from members where joined_at >= ${bounds[0]} and joined_at < ${bounds.at(-1)}) m
        on m.id = p.member_id and p.k >= m.c
      group by 1, 2`.execute(db);
    bought.push(...rows);
  }
  const size = starts.map((_, i) => sizes.find((s) => s.c === i + 1)?.n ?? 0);
  const retained = starts.map((_, c) => starts.map((__, k) => (c + k < starts.length ? 0 : null)) as (number | null)[]);
  for (const r of bought) if (r.k >= r.c) retained[r.c - 1]![r.k - r.c] = r.n;
  return { months: starts, sizes: size, retained };
}

/** The last day inside the period (its end is exclusive). */
function shiftBack(endIso: string): string {
  const d = new Date(`${endIso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}
