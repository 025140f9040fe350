import { toLatinDigits } from './digits.ts';

export type AmountParse = { ok: true; value: number } | { ok: false; reason: 'format' | 'zero' | 'too_large' };

/** The unit a bare number is read in (the club's display unit at the till; Toman by default). */
export type MoneyUnit = 'toman' | 'rial';

const MULTIPLIERS: [RegExp, number][] = [
  [/^(k|هزار)$/i, 1_000],
  [/^(m|mil|million|میلیون|ملیون)$/i, 1_000_000],
  [/^(b|bn|billion|میلیارد|ملیارد)$/i, 1_000_000_000],
];

/**
 * The one reader of money typed at the till: `1,250,000`, `۱۲۵۰۰۰۰`, `۱٬۲۵۰٬۰۰۰`, `۱۲۵۰،۰۰۰`,
 * `1 250 000`, `1.250.000`, `1.25m`, `250k`, `۱٫۲۵ میلیون`, `۱۲۰ هزار تومان`, `۱۲۰ت`, `50,000 ریال`.
 * Returns Rials. A number without «تومان»/«ریال» is read in `bare` (the club's display unit), so a
 * cashier who types `120000` at a Toman club means 1,200,000 Rials; the confirmation shows both
 * units so a misread is seen before anything is recorded. Fractions need a multiplier
 * (`1.5m`, `۱٫۵ میلیون`) and must come out to whole Rials.
 */
export function parseMoney(input: string, options: { bare: MoneyUnit; max?: number }): AmountParse {
  let text = toLatinDigits(input).replace(/،/g, ',').trim().toLowerCase();
  let unit = options.bare;
  const named = /\s*(تومان|تومن|ت|tomans?|irt|ریال|rials?|irr)$/i.exec(text);
  if (named) {
    unit = /^(ریال|rials?|irr)$/i.test(named[1]!) ? 'rial' : 'toman';
    text = text.slice(0, named.index).trim();
  }
  // "1.250.000": dots as thousands groups (two or more groups of three) read like commas.
  if (/^\d{1,3}(\.\d{3}){2,}(\s|$)/.test(text)) text = text.replace(/\./g, ',');
  const match = /^(\d{1,3}(?:[,\s]\d{3})+|\d+)(?:\.(\d+))?\s*([^\d\s.,]*)$/.exec(text);
  if (!match) return { ok: false, reason: 'format' };
  const [, whole, fraction, multiplierWord] = match as unknown as [string, string, string | undefined, string];
  let multiplier = 1;
  if (multiplierWord) {
    const found = MULTIPLIERS.find(([re]) => re.test(multiplierWord));
    if (!found) return { ok: false, reason: 'format' };
    multiplier = found[1];
  } else if (fraction !== undefined) {
    return { ok: false, reason: 'format' }; // "12.5" or "1.250": a fraction or a thousands group? refuse
  }
  const digits = whole.replace(/[,\s]/g, '');
  if (digits.length > 20) return { ok: false, reason: 'too_large' };
  const scaled = BigInt(digits + (fraction ?? '')) * BigInt(multiplier) * (unit === 'toman' ? 10n : 1n);
  const divisor = 10n ** BigInt(fraction?.length ?? 0);
  if (scaled % divisor !== 0n) return { ok: false, reason: 'format' };
  const value = scaled / divisor;
  if (value === 0n) return { ok: false, reason: 'zero' };
  if (value > BigInt(options.max ?? Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'too_large' };
  return { ok: true, value: Number(value) };
}

/** Rials typed where Rials are the unit (a bare number is Rials). */
export function parseRials(input: string, max = 100_000_000_000_000): AmountParse {
  return parseMoney(input, { bare: 'rial', max });
}

/**
 * The one reader of every other number the club is typed: points, counts, stock, ids, days.
 * Persian, Arabic or Latin digits, grouped with `٬`, `،`, `,` or spaces (`۱۰٬۰۰۰`, `10,000`);
 * null unless it is a whole number within [min, max].
 */
export function parseWholeNumber(input: string, options: { min?: number; max?: number } = {}): number | null {
  const text = toLatinDigits(input).replace(/،/g, ',').trim();
  if (!/^(\d{1,3}([,\s]\d{3})+|\d{1,15})$/.test(text)) return null;
  const n = Number(text.replace(/[,\s]/g, ''));
  if (!Number.isSafeInteger(n) || n < (options.min ?? 0) || n > (options.max ?? Number.MAX_SAFE_INTEGER)) return null;
  return n;
}

/** A whole, positive number of points (any digits and separators). */
export function parsePoints(input: string): number | null {
  return parseWholeNumber(input, { min: 1, max: 999_999_999_999 });
}
