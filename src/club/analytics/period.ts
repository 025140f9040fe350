import jalaali from 'jalaali-js';
import type { Locale } from '../../db/schema.ts';
import { isoToJalali, jalaliToIso, parseJalaliMoment, todayIso } from '../../lib/jalali.ts';
import { zonedMidnight } from '../../lib/zoned.ts';
import { ClubError } from '../errors.ts';

const { jalaaliMonthLength } = jalaali;

export type PeriodKey = 'week' | 'month' | 'last_month' | 'year';
export const PERIOD_KEYS: PeriodKey[] = ['week', 'month', 'last_month', 'year'];

/**
 * A span of whole days in the club's zone: [startIso, endIso) as calendar dates and [from, to) as
 * instants. Reports cover the days up to and including today.
 */
export interface Period {
  startIso: string;
  endIso: string;
  from: Date;
  to: Date;
  timeZone: string;
}

export function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(startIso: string, endIso: string): number {
  return Math.round((Date.parse(`${endIso}T12:00:00Z`) - Date.parse(`${startIso}T12:00:00Z`)) / 86_400_000);
}

/** 0 for Saturday (the first day of the Iranian week) … 6 for Friday. */
export function jalaliWeekday(iso: string): number {
  return (new Date(`${iso}T12:00:00Z`).getUTCDay() + 1) % 7;
}

export function periodOfDays(startIso: string, endIso: string, timeZone: string): Period {
  return { startIso, endIso, from: zonedMidnight(startIso, timeZone), to: zonedMidnight(endIso, timeZone), timeZone };
}

/** This week (from Saturday), this Jalali month, last Jalali month, this Jalali year. */
export function periodFor(key: PeriodKey, now: Date, timeZone: string): Period {
  const today = todayIso(now, timeZone);
  const tomorrow = addDays(today, 1);
  const { jy, jm } = isoToJalali(today);
  switch (key) {
    case 'week':
      return periodOfDays(addDays(today, -jalaliWeekday(today)), tomorrow, timeZone);
    case 'month':
      return periodOfDays(jalaliToIso(jy, jm, 1), tomorrow, timeZone);
    case 'last_month': {
      const [py, pm] = jm === 1 ? [jy - 1, 12] : [jy, jm - 1];
      return periodOfDays(jalaliToIso(py, pm, 1), jalaliToIso(jy, jm, 1), timeZone);
    }
    case 'year':
      return periodOfDays(jalaliToIso(jy, 1, 1), tomorrow, timeZone);
  }
}

/** Two typed Jalali dates ("1405/1/1" "1405/3/31", any digits), both days included, in either order. */
export function customPeriod(first: string, second: string, timeZone: string): Period {
  const a = parseJalaliMoment(first, timeZone);
  const b = parseJalaliMoment(second, timeZone);
  if (!a || !b || a.hasTime || b.hasTime) throw new ClubError('reports.bad_dates');
  const [x, y] = [todayIso(a.at, timeZone), todayIso(b.at, timeZone)].sort() as [string, string];
  if (daysBetween(x, y) > 3 * 366) throw new ClubError('reports.too_long');
  return periodOfDays(x, addDays(y, 1), timeZone);
}

/** Compact period code for button data: "m", "lm", "c14050101-14050331"… */
export function periodCode(key: PeriodKey | Period): string {
  if (typeof key === 'string') return { week: 'w', month: 'm', last_month: 'lm', year: 'y' }[key];
  const j = (iso: string) => {
    const { jy, jm, jd } = isoToJalali(iso);
    return `${jy}${String(jm).padStart(2, '0')}${String(jd).padStart(2, '0')}`;
  };
  return `c${j(key.startIso)}-${j(addDays(key.endIso, -1))}`;
}

export function periodFromCode(code: string, now: Date, timeZone: string): Period {
  const named = ({ w: 'week', m: 'month', lm: 'last_month', y: 'year' } as const)[code as 'w'];
  if (named) return periodFor(named, now, timeZone);
  const m = /^c(\d{4})(\d{2})(\d{2})-(\d{4})(\d{2})(\d{2})$/.exec(code);
  if (!m) throw new ClubError('reports.bad_dates');
  return customPeriod(`${m[1]}/${m[2]}/${m[3]}`, `${m[4]}/${m[5]}/${m[6]}`, timeZone);
}

export type Granularity = 'day' | 'week' | 'month';

/** Days for a month or so, Jalali weeks (from Saturday) up to half a year, Jalali months beyond. */
export function granularityOf(period: Period): Granularity {
  const days = daysBetween(period.startIso, period.endIso);
  return days <= 45 ? 'day' : days <= 190 ? 'week' : 'month';
}

/** The first day of the bucket a day falls in. */
export function bucketStart(iso: string, granularity: Granularity): string {
  if (granularity === 'day') return iso;
  if (granularity === 'week') return addDays(iso, -jalaliWeekday(iso));
  const { jy, jm } = isoToJalali(iso);
  return jalaliToIso(jy, jm, 1);
}

/** Every bucket of the period in order, so that empty days show as zero rather than vanish. */
export function buckets(period: Period, granularity: Granularity): string[] {
  const out: string[] = [];
  for (let d = period.startIso; d < period.endIso; d = addDays(d, 1)) {
    const b = bucketStart(d, granularity);
    if (out.at(-1) !== b) out.push(b);
  }
  return out;
}

/** Jalali label of a bucket: "۱۲ آذر" (day, week) or "آذر ۱۴۰۵" (month); English month names in en. */
export function bucketLabel(iso: string, granularity: Granularity, locale: Locale): string {
  const at = new Date(`${iso}T12:00:00Z`);
  const tag = locale === 'fa' ? 'fa-IR-u-ca-persian' : 'en-US-u-ca-persian';
  const options: Intl.DateTimeFormatOptions = granularity === 'month' ? { timeZone: 'UTC', month: 'long', year: 'numeric' } : { timeZone: 'UTC', month: 'short', day: 'numeric' };
  return new Intl.DateTimeFormat(tag, options).format(at).replace(/ AP$/, '');
}

/** The Jalali months (first days) from the one `months - 1` before `iso`'s month up to it. */
export function jalaliMonthStarts(iso: string, months: number): string[] {
  let { jy, jm } = isoToJalali(iso);
  const out: string[] = [];
  for (let i = 0; i < months; i++) {
    out.unshift(jalaliToIso(jy, jm, 1));
    [jy, jm] = jm === 1 ? [jy - 1, 12] : [jy, jm - 1];
  }
  return out;
}

export function nextJalaliMonth(iso: string): string {
  const { jy, jm } = isoToJalali(iso);
  return jm === 12 ? jalaliToIso(jy + 1, 1, 1) : jalaliToIso(jy, jm + 1, 1);
}

export { jalaaliMonthLength };
