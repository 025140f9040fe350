import { toLatinDigits } from './digits.ts';

export type AmountParse = { ok: true; value: number } | { ok: false; reason: 'format' | 'zero' | 'too_large' };

const MULTIPLIERS: [RegExp, number][] = [
  [/^(k|هزار|هزارریال)$/i, 1_000],
  [/^(m|mil|million|میلیون|ملیون)$/i, 1_000_000],
  [/^(b|bn|billion|میلیارد|ملیارد)$/i, 1_000_000_000],
];

/**
 * An amount of Rials typed at the till: `1,250,000`, `۱۲۵۰۰۰۰`, `1 250 000`, `1.25m`, `250k`,
 * `۱٫۲۵ میلیون`. Fractions are allowed only with a multiplier and must come out whole.
 */
export function parseRials(input: string, max = 100_000_000_000_000): AmountParse {
  const text = toLatinDigits(input).trim().toLowerCase().replace(/\s*(ریال|rials?|irr)$/i, '');
  const match = /^(\d{1,3}(?:[,\s]\d{3})+|\d+)(?:\.(\d+))?\s*([^\d\s.,]*)$/.exec(text);
  if (!match) return { ok: false, reason: 'format' };
  const [, whole, fraction, unit] = match as unknown as [string, string, string | undefined, string];
  let multiplier = 1;
  if (unit) {
    const found = MULTIPLIERS.find(([re]) => re.test(unit));
    if (!found) return { ok: false, reason: 'format' };
    multiplier = found[1];
  } else if (fraction !== undefined) {
    return { ok: false, reason: 'format' }; // "1.250.000" or "12.5" Rials: ambiguous, refuse
  }
  const digits = whole.replace(/[,\s]/g, '');
  const scaled = BigInt(digits + (fraction ?? '')) * BigInt(multiplier);
  const divisor = 10n ** BigInt(fraction?.length ?? 0);
  if (scaled % divisor !== 0n) return { ok: false, reason: 'format' };
  const value = scaled / divisor;
  if (value === 0n) return { ok: false, reason: 'zero' };
  if (value > BigInt(max)) return { ok: false, reason: 'too_large' };
  return { ok: true, value: Number(value) };
}

/** A whole number of points (any digits). */
export function parsePoints(input: string): number | null {
  const text = toLatinDigits(input).trim().replace(/[,\s]/g, '');
  if (!/^\d{1,12}$/.test(text)) return null;
  const n = Number(text);
  return n > 0 ? n : null;
}
