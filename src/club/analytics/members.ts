import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { isoToJalali } from '../../lib/jalali.ts';
import { activitySplit, dateArray, inSnapshot, livePurchases, type ActivitySplit } from './activity.ts';
import type { ReportScope } from './sales.ts';

export const FREQUENCY_BANDS = ['1', '2', '3-4', '5-9', '10+'] as const;
export const AGE_BANDS = ['<18', '18-24', '25-34', '35-44', '45-54', '55+', 'unknown'] as const;

export interface MembersReport {
  /** Members who had joined by the end of the period. */
  members: number;
  joined: number;
  joinedByDay: { day: string; members: number }[];
  /** Members who bought in the period (at the branch, when one is chosen), and their share. */
  active: number;
  activeRate: number;
  /** Buyers of the period by how many purchases they made in it. */
  frequency: { band: (typeof FREQUENCY_BANDS)[number]; members: number }[];
  /** Today's tiers, ages, genders and cities of the whole club (where members told us). */
  tiers: { code: string; name_fa: string; name_en: string; members: number }[];
  ages: { band: (typeof AGE_BANDS)[number]; members: number }[];
  genders: { gender: 'female' | 'male' | 'unknown'; members: number }[];
  cities: { city: string; members: number }[];
}

export async function membersReport(db: Db, scope: ReportScope, now: Date): Promise<MembersReport> {
  return inSnapshot(db, (db) => readMembersReport(db, scope, now));
}

async function readMembersReport(db: Db, scope: ReportScope, now: Date): Promise<MembersReport> {
  const { from, to, timeZone: tz } = scope.period;
  const { rows: joins } = await sql<{ day: string | null; n: number }>`
    select (joined_at at time zone ${tz})::date::text as day, count(*)::int8 as n
    from members where joined_at >= ${from} and joined_at < ${to}
    group by 1 order by 1`.execute(db);
  const { rows: totals } = await sql<{ n: number }>`select count(*)::int8 as n from members where joined_at < ${to}`.execute(db);
  const { rows: freq } = await sql<{ band: number; n: number }>`
    select width_bucket(n::int, array[2, 3, 5, 10]::int[]) as band, count(*)::int8 as n
    from (${purchasesPerBuyer(await activitySplit(db, from, to, tz), scope.branchId)}) b group by 1`.execute(db);
  // Today's figures from report_member_counts (members per tier, birth date, gender and city, kept
  // by triggers: migrations/20261129230000_report_summaries.ts) rather than a pass over every member.
  const tiers = await db
    .selectFrom('tiers')
    .select(['tiers.code', 'tiers.name_fa', 'tiers.name_en', sql<number>`coalesce((
      select sum(members) from report_member_counts c where c.dimension = 'tier' and c.value = tiers.id::text), 0)::int8`.as('members')])
    .orderBy('tiers.rank')
    .execute();
  // Whole years on the club's today, as age() counts them.
  const today = sql`(${now}::timestamptz at time zone ${tz})::date`;
  const { rows: demo } = await sql<{ dimension: string; value: string; n: number }>`
    select dimension, value, sum(members)::int8 as n from (
      select dimension, case when dimension <> 'birth' then value when value = '' or value::date > ${today} then '6'
          else width_bucket(extract(year from age(${today}, value::date))::int, array[18, 25, 35, 45, 55]::int[])::text end as value,
        members
      from report_member_counts where dimension in ('birth', 'gender', 'city') and members <> 0
    ) c group by 1, 2`.execute(db);
  const frequency = FREQUENCY_BANDS.map((band) => ({ band, members: 0 }));
  for (const r of freq) frequency[r.band]!.members = r.n;
  const active = frequency.reduce((s, f) => s + f.members, 0);
  const members = totals[0]!.n;
  const ages = AGE_BANDS.map((band) => ({ band, members: 0 }));
  const genders: MembersReport['genders'] = [
    { gender: 'female', members: 0 },
    { gender: 'male', members: 0 },
    { gender: 'unknown', members: 0 },
  ];
  const cities: MembersReport['cities'] = [];
  for (const r of demo) {
    if (r.dimension === 'birth') ages[Number(r.value)]!.members = r.n;
    else if (r.dimension === 'gender') genders.find((x) => x.gender === r.value)!.members = r.n;
    else if (r.dimension === 'city' && r.value !== '') cities.push({ city: r.value, members: r.n });
  }
  cities.sort((a, b) => b.members - a.members || a.city.localeCompare(b.city));
  return {
    members,
    joined: joins.reduce((s, r) => s + r.n, 0),
    joinedByDay: joins.map((r) => ({ day: r.day!, members: r.n })),
    active,
    activeRate: members ? active / members : 0,
    frequency,
    tiers,
    ages,
    genders,
    cities: cities.slice(0, 10),
  };
}

/**
 * (member_id, n): how many recorded purchases each buyer made in the span. Whole months the
 * activity rollup holds are summed per member from its rows (one per member, month and branch, read
 * from the key's index alone); the rest (the open month, changed months, partial months) is counted
 * from purchases and added.
 */
function purchasesPerBuyer(split: ActivitySplit, branchId: number | null) {
  const branch = branchId === null ? sql`` : sql`and branch_id = ${branchId}`;
  const years = [...new Set(split.months.map((m) => isoToJalali(m).jy))];
  const held = sql`select member_id, sum(purchases)::int8 as n from member_activity
    where ${years.length === 1 ? sql`year = ${years[0]}` : sql`year = any(${`{${years.join(',')}}`}::int2[])`} and month = any(${dateArray(split.months)}) ${branch}
    group by member_id`;
  const live = sql`select member_id, count(*)::int8 as n from (${livePurchases(split.live, sql`member_id`, branchId)}) p group by member_id`;
  if (!split.live.length) return held;
  if (!split.months.length) return live;
  return sql`select coalesce(h.n, 0) + coalesce(l.n, 0) as n from (${held}) h full join (${live}) l on l.member_id = h.member_id`;
}
