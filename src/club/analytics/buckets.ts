import { sql, type RawBuilder } from 'kysely';
import { zonedMidnight } from '../../lib/zoned.ts';
import { buckets, granularityOf, type Granularity, type Period } from './period.ts';

export interface PeriodBuckets {
  granularity: Granularity;
  /** First days of the period's buckets (days, Jalali weeks or months), in order. */
  keys: string[];
  /** `width_bucket(at, edges)` is 1 + the index of the bucket an instant of the period falls in. */
  edges: RawBuilder<unknown>;
}

/**
 * The period's buckets as instants for the database, so figures that cannot be summed from days
 * (medians, distinct people) are computed per bucket in one query.
 */
export function periodBuckets(period: Period): PeriodBuckets {
  const granularity = granularityOf(period);
  const keys = buckets(period, granularity);
  const bounds = [...keys.map((k) => zonedMidnight(k, period.timeZone)), period.to];
  return { granularity, keys, edges: sql`array[${sql.join(bounds.map((b) => sql`${b}::timestamptz`))}]` };
}

/** One zeroed row per bucket, filled from the database's rows (bucket numbers from width_bucket). */
export function perBucket<T extends object>(keys: string[], rows: ({ b: number } & Partial<T>)[], zero: () => T): ({ bucket: string } & T)[] {
  const out = keys.map((bucket) => ({ bucket, ...zero() }));
  for (const { b, ...rest } of rows) {
    const cell = out[b - 1];
    if (cell) Object.assign(cell, rest);
  }
  return out;
}
