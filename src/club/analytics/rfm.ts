import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { inSnapshot } from './activity.ts';
import { compileSegment, type SegmentCondition, type SegmentFilter } from '../segments.ts';

/**
 * RFM over the members' cached purchase figures (last_purchase_at, purchase_count, spend_rials):
 * recency and frequency are scored 1..5 by the quintiles of the club's buyers, and the usual
 * R×F map names the groups. Each group is written in the segment language itself (bought within /
 * more than N days, purchases between), with the thresholds of the day it is computed, so
 * "Make a segment" saves exactly the members the report counted, and later re-counts of that
 * segment follow the same rule as people buy or drift away.
 */
export const RFM_GROUPS = ['champions', 'loyal', 'potential', 'new', 'need_attention', 'cant_lose', 'at_risk', 'hibernating'] as const;
export type RfmGroup = (typeof RFM_GROUPS)[number];

// [R from, R to, F from, F to]: every one of the 25 cells belongs to exactly one group.
const MAP: Record<RfmGroup, [number, number, number, number]> = {
  champions: [5, 5, 4, 5],
  loyal: [3, 4, 4, 5],
  potential: [4, 5, 2, 3],
  new: [4, 5, 1, 1],
  need_attention: [3, 3, 1, 3],
  cant_lose: [1, 2, 5, 5],
  at_risk: [1, 2, 3, 4],
  hibernating: [1, 2, 1, 2],
};

export interface RfmThresholds {
  /** Days since the last purchase at the 20/40/60/80 % of buyers, most recent first. */
  recencyDays: [number, number, number, number];
  /** Purchases at the 20/40/60/80 % of buyers, fewest first. */
  frequency: [number, number, number, number];
}

export interface RfmRow {
  group: RfmGroup;
  members: number;
  share: number;
  avgRecencyDays: number;
  avgPurchases: number;
  avgSpend: number;
}

export interface RfmReport {
  buyers: number;
  neverBought: number;
  thresholds: RfmThresholds;
  groups: RfmRow[];
}

const DAY_MS = 86_400_000;

export async function rfmThresholds(db: Db, now: Date): Promise<RfmThresholds> {
  const { rows } = await sql<{ r: (Date | string)[] | null; f: number[] | null }>`
    select percentile_disc(array[0.2, 0.4, 0.6, 0.8]) within group (order by last_purchase_at desc) as r,
      percentile_disc(array[0.2, 0.4, 0.6, 0.8]) within group (order by purchase_count) as f
    from members where purchase_count > 0`.execute(db);
  const r = rows[0]?.r ?? [now, now, now, now];
  const f = rows[0]?.f ?? [1, 1, 1, 1];
  // Whole days, rounded up, so that the member at the quintile is inside the better score.
  const days = r.map((t) => Math.max(0, Math.ceil((now.getTime() - new Date(t).getTime()) / DAY_MS)));
  return { recencyDays: days as RfmThresholds['recencyDays'], frequency: f.map(Number) as RfmThresholds['frequency'] };
}

/** The group as a segment: R and F score ranges turned into day and purchase-count ranges. */
export function rfmFilter(group: RfmGroup, t: RfmThresholds): SegmentFilter {
  const [r1, r2, f1, f2] = MAP[group];
  const q = t.recencyDays;
  const fq = t.frequency;
  // R score s covers [q(5-s), q(6-s)] days (open-ended at 5 and 1). Neighbouring ranges share
  // their end instant (the segment language has no strict bounds): the report tests the groups
  // best first, and only a last purchase exactly N days old to the millisecond could sit in two
  // saved segments at once.
  const recency: SegmentCondition = { field: 'last_purchase_days', ...(r2 < 5 ? { min: q[4 - r2]! } : {}), ...(r1 > 1 ? { max: q[5 - r1]! } : {}) };
  // F score s covers (fq(s-1), fq(s)] purchases, fq(0) = 0.
  const frequency: SegmentCondition = { field: 'purchases', min: f1 > 1 ? fq[f1 - 2]! + 1 : 1, ...(f2 < 5 ? { max: fq[f2 - 1]! } : {}) };
  return { groups: [[recency, frequency]] };
}

export async function rfmReport(db: Db, now: Date, thresholds?: RfmThresholds): Promise<RfmReport> {
  return inSnapshot(db, (db) => readRfm(db, now, thresholds));
}

async function readRfm(db: Db, now: Date, thresholds?: RfmThresholds): Promise<RfmReport> {
  const t = thresholds ?? (await rfmThresholds(db, now));
  // First matching group wins, in the order of RFM_GROUPS.
  const label = sql.join(
    RFM_GROUPS.map((g, i) => sql`when ${compileSegment(rfmFilter(g, t), now)} then ${i}::int`),
    sql` `,
  );
  // One pass over the members: each buyer's group (-1 for a member who never bought).
  const { rows: all } = await sql<{ g: number | null; n: number; recency: number; purchases: number; spend: number }>`
    select g, count(*)::int8 as n,
      coalesce(avg(extract(epoch from (${now}::timestamptz - last_purchase_at)) / 86400), 0)::float8 as recency,
      coalesce(avg(purchase_count), 0)::float8 as purchases, coalesce(avg(spend_rials), 0)::float8 as spend
    from (select case when purchase_count > 0 then case ${label} end else -1 end as g, last_purchase_at, purchase_count, spend_rials from members m) s
    group by g`.execute(db);
  const rows = all.filter((r) => r.g !== -1);
  const never = all.find((r) => r.g === -1)?.n ?? 0;
  const buyers = rows.reduce((s, r) => s + r.n, 0);
  const groups = RFM_GROUPS.map((group, i): RfmRow => {
    const r = rows.find((x) => x.g === i);
    return {
      group,
      members: r?.n ?? 0,
      share: buyers && r ? r.n / buyers : 0,
      avgRecencyDays: Math.round(r?.recency ?? 0),
      avgPurchases: Math.round((r?.purchases ?? 0) * 10) / 10,
      avgSpend: Math.round(r?.spend ?? 0),
    };
  });
  return { buyers, neverBought: never, thresholds: t, groups };
}
