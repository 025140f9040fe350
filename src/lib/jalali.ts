import jalaali from 'jalaali-js';
import type { Locale } from '../db/schema.ts';
import { toLatinDigits, toPersianDigits } from './digits.ts';
import { zonedMidnight } from './zoned.ts';

// jalaali-js is CommonJS: Node's ESM loader offers only its default export.
const { isValidJalaaliDate, toGregorian, toJalaali } = jalaali;

export type JalaliParse =
  | { ok: true; jy: number; jm: number; jd: number; iso: string }
  | { ok: false; reason: 'format' | 'invalid_date' | 'future' | 'too_old' };

const pad = (n: number) => String(n).padStart(2, '0');

export function jalaliToIso(jy: number, jm: number, jd: number): string {
  const g = toGregorian(jy, jm, jd);
  return `${g.gy}-${pad(g.gm)}-${pad(g.gd)}`;
}

export function isoToJalali(iso: string): { jy: number; jm: number; jd: number } {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number) as [number, number, number];
  return toJalaali(y, m, d);
}

const dayFormatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date (YYYY-MM-DD) at `now` in the given IANA zone. */
export function todayIso(now: Date, tz: string): string {
  let f = dayFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormatters.set(tz, f);
  }
  return f.format(now);
}

/** A birthday typed as year/month/day in the Jalali calendar, in any digits and separators / - . */
export function parseJalaliBirthday(input: string, today: Date, tz: string): JalaliParse {
  const match = /^(\d{4})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})$/.exec(toLatinDigits(input).trim());
  if (!match) return { ok: false, reason: 'format' };
  const [jy, jm, jd] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (jm < 1 || jm > 12 || jd < 1 || jd > 31 || !isValidJalaaliDate(jy, jm, jd)) return { ok: false, reason: 'invalid_date' };
  const iso = jalaliToIso(jy, jm, jd);
  const todayStr = todayIso(today, tz);
  if (iso > todayStr) return { ok: false, reason: 'future' };
  const oldest = `${Number(todayStr.slice(0, 4)) - 120}${todayStr.slice(4)}`;
  if (iso < oldest) return { ok: false, reason: 'too_old' };
  return { ok: true, jy, jm, jd, iso };
}

/**
 * A date for people: Jalali with Persian digits and month names in fa, Gregorian in en.
 * A bare YYYY-MM-DD is a calendar date and shows as that day in any zone.
 */
export function formatDate(d: Date | string, locale: Locale, tz: string): string {
  const calendarDate = typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d);
  const at = calendarDate ? new Date(`${d}T12:00:00Z`) : new Date(d);
  const timeZone = calendarDate ? 'UTC' : tz;
  const options = { timeZone, year: 'numeric', month: 'long', day: 'numeric' } as const;
  return new Intl.DateTimeFormat(locale === 'fa' ? 'fa-IR-u-ca-persian' : 'en-GB', options).format(at);
}

/**
 * The last day something is valid, for every "valid until …" (voucher pools, welcome vouchers,
 * points). Ends are stored as the first instant that is no longer valid: a pool valid until
 * 30 Azar ends at 00:00 on 1 Dey, which must read "30 Azar", not "1 Dey".
 */
export function formatValidUntil(end: Date | string, locale: Locale, tz: string): string {
  return formatDate(new Date(new Date(end).getTime() - 1), locale, tz);
}

export function formatJalaliNumeric(iso: string, locale: Locale): string {
  const { jy, jm, jd } = isoToJalali(iso);
  const text = `${jy}/${pad(jm)}/${pad(jd)}`;
  return locale === 'fa' ? toPersianDigits(text) : text;
}

/**
 * A Jalali date typed by a manager, "1405/9/10", with an optional time "1405/9/10 18:30" (any
 * digits, separators / - .), as the instant it names in `tz`: the start of that day without a time.
 * Null unless it is a real Jalali date (no 31 Mehr, no 30 Esfand in a common year) and time.
 */
export function parseJalaliMoment(text: string, tz: string): { at: Date; hasTime: boolean } | null {
  const m = /^(\d{4})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$/.exec(toLatinDigits(text).trim());
  if (!m) return null;
  const [jy, jm, jd] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hh, mm] = [Number(m[4] ?? 0), Number(m[5] ?? 0)];
  if (!isValidJalaaliDate(jy, jm, jd) || hh > 23 || mm > 59) return null;
  return { at: new Date(zonedMidnight(jalaliToIso(jy, jm, jd), tz).getTime() + (hh * 60 + mm) * 60_000), hasTime: m[4] !== undefined };
}

/** A moment for people: the date as `formatDate` shows it, with the hour and minute, in `tz`. */
export function formatDateTime(d: Date, locale: Locale, tz: string): string {
  const options = { timeZone: tz, year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } as const;
  return new Intl.DateTimeFormat(locale === 'fa' ? 'fa-IR-u-ca-persian' : 'en-GB', options).format(d);
}
