import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { inSnapshot } from './activity.ts';
import { perBucket, periodBuckets } from './buckets.ts';
import type { ReportScope } from './sales.ts';

export interface FeedbackBucket {
  bucket: string;
  /** "How was your visit?" questions sent, and the answers by score 1..5 (index 0 is score 1). */
  asked: number;
  scores: number[];
  /** Answers to survey questions of the NPS kind (0..10): promoters 9–10, detractors 0–6. */
  npsAnswers: number;
  promoters: number;
  detractors: number;
  /** Tickets opened; of them answered by staff and closed so far; medians in minutes (null: none). */
  tickets: number;
  answered: number;
  closed: number;
  firstResponseMinutes: number | null;
  resolutionMinutes: number | null;
}

export interface FeedbackReport {
  byBucket: FeedbackBucket[];
  total: Omit<FeedbackBucket, 'bucket'> & { ticketRating: number | null; ticketRatings: number };
}

/** NPS: share of promoters minus share of detractors, from -100 to 100; null without answers. */
export function npsOf(b: { npsAnswers: number; promoters: number; detractors: number }): number | null {
  return b.npsAnswers ? Math.round((100 * (b.promoters - b.detractors)) / b.npsAnswers) : null;
}

/** Average of the 1..5 scores; null without answers. */
export function averageScore(scores: number[]): number | null {
  const n = scores.reduce((s, x) => s + x, 0);
  return n ? scores.reduce((s, x, i) => s + x * (i + 1), 0) / n : null;
}

/**
 * Satisfaction and service over the period's buckets:
 * - visit scores by the day the question was sent (the answer's own time is not recorded), at the
 *   branch of the purchase;
 * - NPS from survey answers completed in the period (surveys are club-wide: the branch does not apply);
 * - tickets by the day they were opened (at the branch they concern, when one is chosen): time to
 *   staff's first reply and to closing, as medians over the tickets that have one; tickets not yet
 *   answered or closed are counted, not timed.
 */
/** In one snapshot with JIT off, as the other reports (see inSnapshot). */
export async function feedbackReport(db: Db, scope: ReportScope): Promise<FeedbackReport> {
  return inSnapshot(db, (db) => readFeedbackReport(db, scope));
}

async function readFeedbackReport(db: Db, scope: ReportScope): Promise<FeedbackReport> {
  const { from, to } = scope.period;
  const { keys, edges } = periodBuckets(scope.period);
  const branch = (column: string) => (scope.branchId === null ? sql`` : sql`and ${sql.ref(column)} = ${scope.branchId}`);
  const { rows: checks } = await sql<{ b: number | null; asked: number; s1: number; s2: number; s3: number; s4: number; s5: number }>`
    select width_bucket(sent_at, ${edges}) as b, count(*)::int8 as asked,
      count(*) filter (where score = 1)::int8 as s1, count(*) filter (where score = 2)::int8 as s2, count(*) filter (where score = 3)::int8 as s3,
      count(*) filter (where score = 4)::int8 as s4, count(*) filter (where score = 5)::int8 as s5
    from satisfaction_checks
    where sent_at is not null and sent_at >= ${from} and sent_at < ${to} ${branch('branch_id')}
    group by rollup (1)`.execute(db);
  const { rows: nps } = await sql<{ b: number | null; n: number; promoters: number; detractors: number }>`
    select width_bucket(r.completed_at, ${edges}) as b, count(*)::int8 as n,
      count(*) filter (where a.v >= 9)::int8 as promoters, count(*) filter (where a.v <= 6)::int8 as detractors
    from survey_responses r
    join survey_questions q on q.survey_id = r.survey_id and q.kind = 'nps'
    cross join lateral (select case when jsonb_typeof(r.answers -> q.id::text) = 'number' then (r.answers ->> q.id::text)::numeric end as v) a
    where r.completed_at >= ${from} and r.completed_at < ${to} and a.v is not null
    group by rollup (1)`.execute(db);
  const minutes = (end: string) => sql`round((percentile_cont(0.5) within group (order by extract(epoch from ${sql.ref(end)} - created_at)) / 60)::numeric, 1)::float8`;
  const { rows: tickets } = await sql<{ b: number | null; n: number; answered: number; closed: number; first: number | null; resolution: number | null; rating: number | null; ratings: number }>`
    select width_bucket(created_at, ${edges}) as b, count(*)::int8 as n,
      count(first_response_at)::int8 as answered, count(closed_at)::int8 as closed,
      ${minutes('first_response_at')} as first, ${minutes('closed_at')} as resolution,
      avg(rating)::float8 as rating, count(rating)::int8 as ratings
    from tickets
    where created_at >= ${from} and created_at < ${to} ${branch('branch_id')}
    group by rollup (1)`.execute(db);
  const zero = (): Omit<FeedbackBucket, 'bucket'> => ({ asked: 0, scores: [0, 0, 0, 0, 0], npsAnswers: 0, promoters: 0, detractors: 0, tickets: 0, answered: 0, closed: 0, firstResponseMinutes: null, resolutionMinutes: null });
  const shape = (b: number | null) => ({
    ...zero(),
    ...pick(checks.find((r) => r.b === b), (r) => ({ asked: r.asked, scores: [r.s1, r.s2, r.s3, r.s4, r.s5] })),
    ...pick(nps.find((r) => r.b === b), (r) => ({ npsAnswers: r.n, promoters: r.promoters, detractors: r.detractors })),
    ...pick(tickets.find((r) => r.b === b), (r) => ({ tickets: r.n, answered: r.answered, closed: r.closed, firstResponseMinutes: r.first, resolutionMinutes: r.resolution })),
  });
  const byBucket = perBucket(keys, keys.map((_, i) => ({ b: i + 1, ...shape(i + 1) })), zero);
  const ticketTotal = tickets.find((r) => r.b === null);
  return { byBucket, total: { ...shape(null), ticketRating: ticketTotal?.rating ?? null, ticketRatings: ticketTotal?.ratings ?? 0 } };
}

function pick<R, T>(row: R | undefined, f: (r: R) => T): T | object {
  return row ? f(row) : {};
}
