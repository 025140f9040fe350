import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Period } from './period.ts';

export interface ReportScope {
  period: Period;
  /** One branch, or null for the whole club. */
  branchId: number | null;
}

export interface SalesReport {
  purchases: number;
  revenue: number;
  /** Rials per purchase, rounded down; 0 without purchases. */
  averageBasket: number;
  /** Calendar days (club zone) with purchases: the chart fills the empty ones. */
  byDay: { day: string; purchases: number; revenue: number }[];
  byBranch: { branchId: number; name: string; purchases: number; revenue: number }[];
  /** 24 hours of the club's clock, and 7 weekdays from Saturday (0) to Friday (6). */
  byHour: { purchases: number; revenue: number }[];
  byWeekday: { purchases: number; revenue: number }[];
}

/**
 * Recorded purchases of the period from report_sales (per 15-minute slot and branch, kept by
 * triggers: migrations/20261129230000_report_summaries.ts): a year is ~35,000 slots per branch
 * instead of every purchase. Grouping sets give the days, branches, hours and weekdays (and the
 * totals) from the same rows; a slot lies in one hour of the club's zone.
 */
export async function salesReport(db: Db, scope: ReportScope): Promise<SalesReport> {
  const tz = scope.period.timeZone;
  const { rows } = await sql<{ day: string | null; branch_id: number | null; hour: number | null; dow: number | null; n: number; revenue: number; g: number }>`
    select day, branch_id, hour, dow, coalesce(sum(n), 0)::int8 as n, coalesce(sum(revenue), 0)::int8 as revenue,
      grouping(day, branch_id, hour, dow) as g
    from (
      select (slot at time zone ${tz})::date::text as day, branch_id,
        extract(hour from slot at time zone ${tz})::int as hour,
        -- Saturday first: Postgres counts Sunday as 0.
        ((extract(dow from slot at time zone ${tz})::int + 1) % 7) as dow, purchases as n, revenue
      from report_sales
      where purchases <> 0 and slot >= ${scope.period.from} and slot < ${scope.period.to}
        ${scope.branchId === null ? sql`` : sql`and branch_id = ${scope.branchId}`}
    ) p
    group by grouping sets ((day), (branch_id), (hour), (dow), ())`.execute(db);
  const branches = await db.selectFrom('branches').select(['id', 'name']).execute();
  const names = new Map(branches.map((b) => [b.id, b.name]));
  const report: SalesReport = {
    purchases: 0,
    revenue: 0,
    averageBasket: 0,
    byDay: [],
    byBranch: [],
    byHour: Array.from({ length: 24 }, () => ({ purchases: 0, revenue: 0 })),
    byWeekday: Array.from({ length: 7 }, () => ({ purchases: 0, revenue: 0 })),
  };
  for (const r of rows) {
    const cell = { purchases: r.n, revenue: r.revenue };
    // grouping() has a bit set for each column left out: 0b0111 = only day kept, and so on.
    if (r.g === 15) Object.assign(report, cell);
    else if (r.g === 7) report.byDay.push({ day: r.day!, ...cell });
    else if (r.g === 11) report.byBranch.push({ branchId: r.branch_id!, name: names.get(r.branch_id!) ?? String(r.branch_id), ...cell });
    else if (r.g === 13) report.byHour[r.hour!] = cell;
    else if (r.g === 14) report.byWeekday[r.dow!] = cell;
  }
  report.byDay.sort((a, b) => a.day.localeCompare(b.day));
  report.byBranch.sort((a, b) => b.revenue - a.revenue);
  report.averageBasket = report.purchases ? Math.floor(report.revenue / report.purchases) : 0;
  return report;
}
