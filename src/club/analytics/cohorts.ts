import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { zonedMidnight } from '../../lib/zoned.ts';
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
 * the months' first instants, so the database does the Jalali calendar with one array.
 */
export async function cohortReport(db: Db, scope: ReportScope, months = 12): Promise<CohortReport> {
  const tz = scope.period.timeZone;
  const starts = jalaliMonthStarts(shiftBack(scope.period.endIso), months);
  const end = nextJalaliMonth(starts.at(-1)!);
  const bounds = [...starts, end].map((iso) => zonedMidnight(iso, tz));
  const edges = sql`array[${sql.join(bounds.map((b) => sql`${b}::timestamptz`))}]`;
  const { rows: sizes } = await sql<{ c: number; n: number }>`
    select width_bucket(joined_at, ${edges}) as c, count(*)::int8 as n from members
    where joined_at >= ${bounds[0]} and joined_at < ${bounds.at(-1)} group by 1`.execute(db);
  const { rows: bought } = await sql<{ c: number; k: number; n: number }>`
    select m.c, p.k, count(*)::int8 as n
    from (
      select distinct member_id, width_bucket(created_at, ${edges}) as k from purchases
      where status = 'recorded' and created_at >= ${bounds[0]} and created_at < ${bounds.at(-1)}
        ${scope.branchId === null ? sql`` : sql`and branch_id = ${scope.branchId}`}
    ) p
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
