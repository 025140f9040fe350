import { describe, expect, it } from 'vitest';
import { parsePoints, parseRials } from '../../src/lib/amount.ts';

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

  it.each([['abc'], [''], ['-5'], ['12.5'], ['1.250.000'], ['1,25,000'], ['1.2345k'], ['5 apples'], ['1e6']])('%j is refused as a format', (input) => {
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
});
