import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { todayIso } from '../../lib/jalali.ts';
import { settingsStore } from '../settings.ts';
import { addDays, jalaliWeekday, periodOfDays, type Period } from './period.ts';

/** The owners' weekly summary is off until an owner turns it on. */
export const reportSettings = settingsStore('reports', z.object({ weekly: z.boolean().default(false) }));

/** The Jalali week that ended before `now` (Saturday to Friday) in the club's zone. */
export function lastWeek(now: Date, timeZone: string): Period {
  const today = todayIso(now, timeZone);
  const thisSaturday = addDays(today, -jalaliWeekday(today));
  return periodOfDays(addDays(thisSaturday, -7), thisSaturday, timeZone);
}

/**
 * Claims the summary of the week that starts `weekStartIso`: true once, for one process, whatever
 * the retries. Recorded before sending, so a crash can lose a summary but never send it twice.
 */
export async function claimWeeklySummary(db: Db, weekStartIso: string, now: Date): Promise<boolean> {
  const row = await db
    .insertInto('job_runs')
    .values({ name: 'weekly_report', run_key: weekStartIso, status: 'done', started_at: now, finished_at: now })
    .onConflict((oc) => oc.doNothing())
    .returning('name')
    .executeTakeFirst();
  return Boolean(row);
}

export async function ownerIds(db: Db): Promise<number[]> {
  const rows = await db.selectFrom('staff').select('member_id').where('role', '=', 'owner').execute();
  return rows.map((r) => r.member_id);
}
