import { describe, expect, it } from 'vitest';
import { parseMoney, parsePoints, parseRials, parseWholeNumber } from '../../src/lib/amount.ts';
import { formatMoney } from '../../src/lib/format.ts';

describe('amounts typed at the till', () => {
  it.each([
    ['1250000', 1_250_000],
    ['1,250,000', 1_250_000],
    ['1 250 000', 1_250_000],
    ['۱۲۵۰۰۰۰', 1_250_000],
    ['۱٬۲۵۰٬۰۰۰', 1_250_000],
    ['1.25m', 1_250_000],
    ['1.25M', 1_250_000],
    ['۱٫۲۵ میلیون', 1_250_000],
    ['250k', 250_000],
    ['250 هزار', 250_000],
    ['2 میلیارد', 2_000_000_000],
    ['1,250,000 ریال', 1_250_000],
  ])('%j is %d Rials', (input, value) => {
    expect(parseRials(input)).toEqual({ ok: true, value });
  });

  it.each([['abc'], [''], ['-5'], ['12.5'], ['1.250'], ['1,25,000'], ['1.2345k'], ['5 apples'], ['1e6']])('%j is refused as a format', (input) => {
    expect(parseRials(input)).toEqual({ ok: false, reason: 'format' });
  });

  it('refuses zero and absurd amounts', () => {
    expect(parseRials('0')).toEqual({ ok: false, reason: 'zero' });
    expect(parseRials('0.0m')).toEqual({ ok: false, reason: 'zero' });
    expect(parseRials('999999999999999999')).toEqual({ ok: false, reason: 'too_large' });
  });

  it('reads points', () => {
    expect(parsePoints('۵۰۰')).toBe(500);
    expect(parsePoints('1,000')).toBe(1000);
    expect(parsePoints('0')).toBeNull();
    expect(parsePoints('-3')).toBeNull();
    expect(parsePoints('ten')).toBeNull();
  });

  // Every other number in the club (stock, counts, ids, points in commands) goes through one reader.
  it('reads whole numbers with either thousands separator and any digits', () => {
    expect(parseWholeNumber('۱۰٬۰۰۰')).toBe(10_000);
    expect(parseWholeNumber('۱۰،۰۰۰')).toBe(10_000);
    expect(parseWholeNumber('١٠٬٠٠٠')).toBe(10_000);
    expect(parseWholeNumber('10 000')).toBe(10_000);
    expect(parseWholeNumber('0')).toBe(0);
    expect(parseWholeNumber('0', { min: 1 })).toBeNull();
    expect(parseWholeNumber('1,00')).toBeNull();
    expect(parseWholeNumber('12', { max: 10 })).toBeNull();
    expect(parseWholeNumber('1.5')).toBeNull();
  });

  // At the till a bare number is read in the club's display unit (Toman by default); a typed unit wins.
  it.each([
    ['120000', 1_200_000],
    ['۱۲۰٬۰۰۰', 1_200_000],
    ['۱۲۰،۰۰۰', 1_200_000],
    ['١٢٠,٠٠٠', 1_200_000],
    ['120 هزار', 1_200_000],
    ['۱۲۰ هزار تومان', 1_200_000],
    ['۱۲۰ت', 1_200],
    ['120k toman', 1_200_000],
    ['۱٫۵ میلیون', 15_000_000],
    ['1.5m', 15_000_000],
    ['1.250.000', 12_500_000],
    ['1,200,000 ریال', 1_200_000],
    ['۱۲۰۰۰۰۰ریال', 1_200_000],
    ['50k rials', 50_000],
  ])('%j at a Toman till is %d Rials', (input, value) => {
    expect(parseMoney(input, { bare: 'toman' })).toEqual({ ok: true, value });
  });

  it('refuses an amount over the limit it is given', () => {
    expect(parseMoney('1 میلیارد', { bare: 'toman', max: 10_000_000_000 })).toEqual({ ok: true, value: 10_000_000_000 });
    expect(parseMoney('1000000001', { bare: 'toman', max: 10_000_000_000 })).toEqual({ ok: false, reason: 'too_large' });
    expect(parseMoney('99999999999999999999999', { bare: 'toman' })).toEqual({ ok: false, reason: 'too_large' });
  });

  it('shows money in Toman and Rials', () => {
    expect(formatMoney(1_200_000, 'fa')).toBe('۱۲۰٬۰۰۰ تومان (۱٬۲۰۰٬۰۰۰ ریال)');
    expect(formatMoney(1_200_000, 'en')).toBe('120,000 Toman (1,200,000 Rials)');
  });
});
