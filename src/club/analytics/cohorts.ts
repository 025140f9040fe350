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
  // Which months each member bought in: the months the activity rollup holds (one row per member,
  // month and branch, read in key order) and the rest from purchases. The two cover different
  // months, so their pairs never repeat each other.
  const split = await activitySplit(db, bounds[0]!, bounds.at(-1)!, tz);
  const branch = scope.branchId === null ? sql`` : sql`and branch_id = ${scope.branchId}`;
  const parts = [];
  if (split.months.length) {
    parts.push(sql`select member_id, array_position(${dateArray(starts)}, month) as k from member_activity
      where month = any(${dateArray(split.months)}) ${branch} group by member_id, month`);
  }
  if (split.live.length) {
    parts.push(sql`select distinct member_id, width_bucket(created_at, ${edges}) as k from (${livePurchases(split.live, sql`member_id, created_at`, scope.branchId)}) l`);
  }
  const { rows: bought } = await sql<{ c: number; k: number; n: number }>`
    select m.c, p.k, count(*)::int8 as n
    from (${sql.join(parts, sql` union all `)}) p
    join (select id, width_bucket(joined_at, ${edges}) as c from members where joined_at >= ${bounds[0]} and joined_at < ${bounds.at(-1)}) m
      on m.id = p.member_id and p.k >= m.c
    group by 1, 2`.execute(db);
  const size = starts.map((_, i) => sizes.find((s) => s.c === i + 1)?.n ?? 0);
  const retained = starts.map((_, c) => starts.map((__, k) => (c + k < starts.length ? 0 : null)) as (number | null)[]);
  for (const r of bought) retained[r.c - 1]![r.k - r.c] = r.n;
  return { months: starts, sizes: size, retained };
}

/** The last day inside the period (its end is exclusive). */
function shiftBack(endIso: string): string {
  const d = new Date(`${endIso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}
