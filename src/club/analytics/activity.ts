import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Database } from '../../db/schema.ts';
import { isoToJalali, jalaliToIso, todayIso } from '../../lib/jalali.ts';
import { zonedMidnight } from '../../lib/zoned.ts';
import { nextJalaliMonth } from './period.ts';

/**
 * The per-member monthly activity rollup (migrations/20261129235000_member_activity.ts): recorded
 * purchases per member, Jalali month of the club's zone and branch, for months that are over, and
 * per month the buyers by the month they joined (the cohort grid's cells).
 * Reports read the months it holds and read everything else (the open month, a month changed since
 * it was built, the partial months at a period's ends, all of it when the zone differs) straight
 * from purchases, so a report is exact whether or not the job has run.
 *
 * The till's insert path does nothing for it: a month is closed by the job an hour after it ends
 * (no purchase is still being recorded with a time inside it by then), a void or change in a held
 * month marks it dirty by trigger, and the purchase import (which records past dates) marks the
 * month of each row it records (markActivityChanged).
 */
export const CLOSE_AFTER_MS = 3_600_000;

export interface ActivitySplit {
  /** Whole months of the span that the rollup holds and may be read (first days, ISO). */
  months: string[];
  /** What is left of the span, as instants [from, to), to read from purchases. */
  live: [Date, Date][];
}

interface HeldMonth {
  month: string;
  from_at: Date;
  to_at: Date;
}

/** Splits [from, to) into rollup months and live ranges for a report in `timeZone`. */
export async function activitySplit(db: Db, from: Date, to: Date, timeZone: string): Promise<ActivitySplit> {
  const { rows } = await sql<HeldMonth & { time_zone: string | null }>`
    select s.time_zone, m.month::text as month, m.from_at, m.to_at
    from member_activity_state s join member_activity_months m on not m.dirty
    where m.from_at >= ${from} and m.to_at <= ${to}
    order by m.from_at`.execute(db);
  const held = rows.filter((r) => r.time_zone === timeZone);
  const live: [Date, Date][] = [];
  let cursor = from;
  for (const m of held) {
    const start = new Date(m.from_at);
    if (start > cursor) live.push([cursor, start]);
    cursor = new Date(m.to_at);
  }
  if (cursor < to) live.push([cursor, to]);
  return { months: held.map((m) => m.month), live };
}

/** Recorded purchases within any of the ranges, as a union of range scans (each reads the covering index alone). */
export function livePurchases(live: [Date, Date][], columns: RawBuilder<unknown>, branchId: number | null): RawBuilder<unknown> {
  const branch = branchId === null ? sql`` : sql`and branch_id = ${branchId}`;
  return sql.join(
    live.map(([a, b]) => sql`select ${columns} from purchases where status = 'recorded' and created_at >= ${a} and created_at < ${b} ${branch}`),
    sql` union all `,
  );
}

export function dateArray(isos: string[]): RawBuilder<unknown> {
  return sql`${`{${isos.join(',')}}`}::date[]`;
}

/**
 * Runs a report's reads in one snapshot, so the months it takes from the rollup and the ranges it
 * reads live describe the same moment even if the job or a void commits in between.
 */
export async function inSnapshot<T>(db: Db, read: (db: Db) => Promise<T>): Promise<T> {
  if (db.isTransaction) return read(db);
  return db.transaction().setIsolationLevel('repeatable read').execute(async (trx: Transaction<Database>) => {
    // A report's queries run for well under the 2 s target: JIT compiling them cost 0.25-0.8 s of
    // that at a million members (measured, docs/benchmarks.md). The open month's buyers (~70,000
    // there) are hashed in memory rather than spilled to disk.
    await sql`select set_config('jit', 'off', true), set_config('work_mem', '16MB', true)`.execute(trx);
    return read(trx);
  });
}

/**
 * The import's mark for a purchase it records at a past time, in the same transaction, before the
 * purchase: waits for a rebuild in progress, then marks the month if the rollup holds it.
 */
export async function markActivityChanged(trx: Db, at: Date): Promise<void> {
  await sql`select 1 from member_activity_state for share`.execute(trx);
  await sql`update member_activity_months set dirty = true where ${at} >= from_at and ${at} < to_at and not dirty`.execute(trx);
}

export interface ActivityRefresh {
  /** Months (first days) built or rebuilt by this run. */
  built: string[];
  /** The rollup was emptied because the club's zone changed. */
  rezoned: boolean;
}

/**
 * The job: brings the rollup up to date for the club's zone. Idempotent and safe to run from
 * several processes at once (each month is rebuilt under the state row's lock and checked again
 * under it). It empties the rollup when the zone changed, then builds every month over since the
 * first purchase that it lacks or that is dirty, one transaction per month, so a void waits at most
 * one month's rebuild. Run at start and nightly.
 */
export async function refreshMemberActivity(db: Db, now: Date, timeZone: string): Promise<ActivityRefresh> {
  const result: ActivityRefresh = { built: [], rezoned: false };
  const state = await sql<{ time_zone: string | null }>`select time_zone from member_activity_state`.execute(db);
  if (state.rows[0]?.time_zone !== timeZone) {
    await db.transaction().execute(async (trx) => {
      const locked = await sql<{ time_zone: string | null }>`select time_zone from member_activity_state for update`.execute(trx);
      if (locked.rows[0]?.time_zone === timeZone) return;
      await sql`delete from member_activity_months`.execute(trx);
      await sql`delete from member_activity`.execute(trx);
      await sql`delete from member_activity_cohorts`.execute(trx);
      await sql`update member_activity_state set time_zone = ${timeZone}`.execute(trx);
      result.rezoned = true;
    });
  }
  const first = await sql<{ at: Date | null }>`select min(created_at) as at from purchases where status = 'recorded'`.execute(db);
  if (!first.rows[0]?.at) return result;
  const { jy, jm } = isoToJalali(todayIso(new Date(first.rows[0].at), timeZone));
  const closeBefore = new Date(now.getTime() - CLOSE_AFTER_MS);
  const { rows: held } = await sql<{ month: string; dirty: boolean }>`select month::text as month, dirty from member_activity_months`.execute(db);
  const clean = new Set(held.filter((m) => !m.dirty).map((m) => m.month));
  for (let month = jalaliToIso(jy, jm, 1); ; month = nextJalaliMonth(month)) {
    const next = nextJalaliMonth(month);
    const [fromAt, toAt] = [zonedMidnight(month, timeZone), zonedMidnight(next, timeZone)];
    if (toAt > closeBefore) break;
    if (clean.has(month)) continue;
    const built = await db.transaction().execute(async (trx) => {
      const zone = await sql<{ time_zone: string | null }>`select time_zone from member_activity_state for update`.execute(trx);
      if (zone.rows[0]?.time_zone !== timeZone) return false; // another process rezoned meanwhile: its run builds
      const row = await sql<{ dirty: boolean }>`select dirty from member_activity_months where month = ${month}::date`.execute(trx);
      if (row.rows[0] && !row.rows[0].dirty) return false;
      await sql`delete from member_activity where month = ${month}::date`.execute(trx);
      await sql`
        insert into member_activity (member_id, month, year, branch_id, purchases, amount_rials, last_at)
        select member_id, ${month}::date, ${isoToJalali(month).jy}, branch_id, count(*), sum(amount_rials), max(created_at)
        from purchases where status = 'recorded' and created_at >= ${fromAt} and created_at < ${toAt}
        group by member_id, branch_id order by member_id, branch_id`.execute(trx);
      // Who bought in the month, by the month they joined: at each branch, and at any (branch 0).
      // The join months run from the first join (read under the lock: an import may add earlier ones).
      const firstJoin = await sql<{ at: Date }>`select min(joined_at) as at from members`.execute(trx);
      const joinedFrom = todayIso(new Date(firstJoin.rows[0]!.at), timeZone);
      const joinStarts = [jalaliToIso(isoToJalali(joinedFrom).jy, isoToJalali(joinedFrom).jm, 1)];
      while (joinStarts.at(-1)! <= month) joinStarts.push(nextJalaliMonth(joinStarts.at(-1)!));
      const joinBounds = sql`array[${sql.join(joinStarts.map((iso) => sql`${zonedMidnight(iso, timeZone)}::timestamptz`))}]`;
      await sql`delete from member_activity_cohorts where month = ${month}::date`.execute(trx);
      await sql`
        insert into member_activity_cohorts (month, joined_month, branch_id, members)
        select ${month}::date, joined_month, coalesce(branch_id, 0), count(distinct member_id)
        from (
          select a.member_id, a.branch_id, (${dateArray(joinStarts)})[width_bucket(m.joined_at, ${joinBounds})] as joined_month
          from member_activity a join members m on m.id = a.member_id
          where a.month = ${month}::date and m.joined_at >= ${zonedMidnight(joinStarts[0]!, timeZone)} and m.joined_at < ${toAt}
        ) bought
        group by grouping sets ((joined_month), (joined_month, branch_id))`.execute(trx);
      await sql`
        insert into member_activity_months (month, from_at, to_at, dirty, built_at) values (${month}::date, ${fromAt}, ${toAt}, false, ${now})
        on conflict (month) do update set from_at = excluded.from_at, to_at = excluded.to_at, dirty = false, built_at = excluded.built_at`.execute(trx);
      return true;
    });
    if (built) result.built.push(month);
  }
  if (result.built.length && !db.isTransaction) {
    // Index-only reads need the visibility map set; the planner needs the new months' statistics.
    await sql`vacuum analyze member_activity`.execute(db);
    await sql`analyze member_activity_cohorts`.execute(db);
  }
  return result;
}
