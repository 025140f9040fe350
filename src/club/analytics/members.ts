import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
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
  const { from, to, timeZone: tz } = scope.period;
  const { rows: joins } = await sql<{ day: string | null; n: number }>`
    select (joined_at at time zone ${tz})::date::text as day, count(*)::int8 as n
    from members where joined_at >= ${from} and joined_at < ${to}
    group by 1 order by 1`.execute(db);
  const { rows: totals } = await sql<{ n: number }>`select count(*)::int8 as n from members where joined_at < ${to}`.execute(db);
  const { rows: freq } = await sql<{ band: number; n: number }>`
    select width_bucket(n::int, array[2, 3, 5, 10]::int[]) as band, count(*)::int8 as n
    from (
      select member_id, count(*) as n from purchases
      where status = 'recorded' and created_at >= ${from} and created_at < ${to}
        ${scope.branchId === null ? sql`` : sql`and branch_id = ${scope.branchId}`}
      group by member_id
    ) b group by 1`.execute(db);
  const tiers = await db
    .selectFrom('tiers')
    .leftJoin('members', 'members.tier_id', 'tiers.id')
    .select(['tiers.code', 'tiers.name_fa', 'tiers.name_en', sql<number>`count(members.id)::int8`.as('members')])
    .groupBy(['tiers.id', 'tiers.code', 'tiers.name_fa', 'tiers.name_en', 'tiers.rank'])
    .orderBy('tiers.rank')
    .execute();
  // Whole years on the club's today, as age() counts them; one pass with grouping sets.
  const today = sql`(${now}::timestamptz at time zone ${tz})::date`;
  const { rows: demo } = await sql<{ age: number | null; gender: string | null; city: string | null; n: number; g: number }>`
    select age, gender, city, count(*)::int8 as n, grouping(age, gender, city) as g
    from (
      select case when birth_date is null or birth_date > ${today} then 6
          else width_bucket(extract(year from age(${today}, birth_date))::int, array[18, 25, 35, 45, 55]::int[]) end as age,
        coalesce(gender, 'unknown') as gender, nullif(trim(city), '') as city
      from members
    ) m
    group by grouping sets ((age), (gender), (city))`.execute(db);
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
    if (r.g === 3) ages[r.age!]!.members = r.n;
    else if (r.g === 5) genders.find((x) => x.gender === r.gender)!.members = r.n;
    else if (r.g === 6 && r.city !== null) cities.push({ city: r.city, members: r.n });
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
