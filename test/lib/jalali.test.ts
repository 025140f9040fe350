import jalaali from 'jalaali-js';
import { describe, expect, it } from 'vitest';
import { formatDate, formatJalaliNumeric, formatValidUntil, isoToJalali, jalaliToIso, parseJalaliBirthday, parseJalaliMoment, todayIso } from '../../src/lib/jalali.ts';

const today = new Date('2026-11-22T10:00:00Z');
const tz = 'Asia/Tehran';

describe('Jalali dates', () => {
  it('converts both ways', () => {
    expect(jalaliToIso(1370, 5, 12)).toBe('1991-08-03');
    expect(isoToJalali('1991-08-03')).toEqual({ jy: 1370, jm: 5, jd: 12 });
    expect(jalaliToIso(1405, 1, 1)).toBe('2026-03-21');
  });

  it.each(['1370/5/12', '1370-05-12', '۱۳۷۰/۰۵/۱۲', '١٣٧٠/٥/١٢', '1370.5.12', '  1370 / 5 / 12 '])('parses %j', (input) => {
    expect(parseJalaliBirthday(input, today, tz)).toEqual({ ok: true, jy: 1370, jm: 5, jd: 12, iso: '1991-08-03' });
  });

  it('knows which days exist', () => {
    expect(parseJalaliBirthday('1370/7/31', today, tz)).toEqual({ ok: false, reason: 'invalid_date' });
    expect(parseJalaliBirthday('1370/13/1', today, tz)).toEqual({ ok: false, reason: 'invalid_date' });
    expect(parseJalaliBirthday('1370/0/10', today, tz)).toEqual({ ok: false, reason: 'invalid_date' });
    expect(jalaali.isLeapJalaaliYear(1403)).toBe(true);
    expect(jalaali.isLeapJalaaliYear(1402)).toBe(false);
    expect(parseJalaliBirthday('1403/12/30', today, tz)).toMatchObject({ ok: true, iso: '2025-03-20' });
    expect(parseJalaliBirthday('1402/12/30', today, tz)).toEqual({ ok: false, reason: 'invalid_date' });
  });

  it('refuses bad shapes, the future and the implausibly old', () => {
    for (const input of ['', 'tomorrow', '70/5/12', '1370/5', '1370/5/12/1', '13700/5/12']) {
      expect(parseJalaliBirthday(input, today, tz)).toEqual({ ok: false, reason: 'format' });
    }
    expect(parseJalaliBirthday('1406/1/1', today, tz)).toEqual({ ok: false, reason: 'future' });
    expect(parseJalaliBirthday('1280/1/1', today, tz)).toEqual({ ok: false, reason: 'too_old' });
  });

  it('takes "today" in the club time zone', () => {
    // 22:00 UTC on 2026-11-22 is already the 23rd in Tehran (UTC+3:30).
    const lateUtc = new Date('2026-11-22T22:00:00Z');
    expect(todayIso(lateUtc, tz)).toBe('2026-11-23');
    expect(todayIso(lateUtc, 'UTC')).toBe('2026-11-22');
    expect(parseJalaliBirthday('1405/9/2', lateUtc, tz)).toMatchObject({ ok: true, iso: '2026-11-23' });
    expect(parseJalaliBirthday('1405/9/2', lateUtc, 'UTC')).toEqual({ ok: false, reason: 'future' });
  });

  it('formats for people: Jalali with Persian digits in fa, Gregorian in en', () => {
    const fa = formatDate('1991-08-03', 'fa', tz);
    expect(fa).toContain('مرداد');
    expect(fa).toContain('۱۳۷۰');
    expect(fa).not.toMatch(/[0-9]/);
    expect(formatDate('1991-08-03', 'en', tz)).toBe('3 August 1991');
    // A calendar date is that day in any zone.
    expect(formatDate('1991-08-03', 'en', 'Pacific/Kiritimati')).toBe('3 August 1991');
    expect(formatJalaliNumeric('1991-08-03', 'fa')).toBe('۱۳۷۰/۰۵/۱۲');
    expect(formatJalaliNumeric('1991-08-03', 'en')).toBe('1370/05/12');
  });
});

describe('parseJalaliMoment', () => {
  const TZ = 'Asia/Tehran';
  it('reads a Jalali date, with or without a time, in the club zone and any digits', () => {
    expect(parseJalaliMoment('1405/9/10', TZ)).toEqual({ at: new Date('2026-11-30T20:30:00Z'), hasTime: false });
    expect(parseJalaliMoment('۱۴۰۵/۰۹/۱۰ ۱۸:۳۰', TZ)).toEqual({ at: new Date('2026-12-01T15:00:00Z'), hasTime: true });
    expect(parseJalaliMoment('1405-9-10 9:05', TZ)?.at).toEqual(new Date('2026-12-01T05:35:00Z'));
  });

  it('refuses days a month does not have, times that do not exist, and other shapes', () => {
    for (const bad of ['1405/7/31', '1404/12/30', '1405/13/1', '1405/9/10 24:00', '1405/9/10 18:60', '10/9/1405', '1405/9', 'tomorrow', '']) {
      expect(parseJalaliMoment(bad, TZ), bad).toBeNull();
    }
    expect(parseJalaliMoment('1403/12/30', TZ)).not.toBeNull(); // 1403 is a leap year
  });

  it('shows the last valid day of an exclusive end, in fa and en', () => {
    const dey1 = parseJalaliMoment('1405/10/1', tz)!.at; // 00:00 on 1 Dey in Tehran: the end of "until 30 Azar"
    expect(formatValidUntil(dey1, 'fa', tz)).toBe('۳۰ آذر ۱۴۰۵');
    expect(formatValidUntil(dey1, 'en', tz)).toBe('21 December 2026');
    // An end in the middle of a day: that day is still (partly) valid.
    expect(formatValidUntil(new Date(dey1.getTime() + 9 * 3_600_000), 'fa', tz)).toBe('۱ دی ۱۴۰۵');
    expect(formatValidUntil(dey1.toISOString(), 'en', tz)).toBe('21 December 2026');
  });
});
