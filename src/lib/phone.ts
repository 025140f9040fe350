import { toLatinDigits, toPersianDigits } from './digits.ts';

/**
 * A phone number in E.164 (`+989121234567`), or null. Iranian mobiles in every common form
 * (09.., 9.., +98, 0098, 98, any digits, spaces and dashes); other countries in international form
 * (+44..., 0044..., or bare 11-15 digits as Telegram's contact.phone_number gives them).
 */
export function normalizePhone(input: string): string | null {
  const raw = toLatinDigits(input).trim();
  if (!/^\+?[\d\s\-.()]+$/.test(raw)) return null;
  const plus = raw.startsWith('+');
  let digits = raw.replace(/\D/g, '');
  if (!plus && digits.startsWith('00')) digits = digits.slice(2);
  else if (!plus && digits.startsWith('0')) digits = `98${digits.slice(1)}`;
  else if (!plus && digits.length === 10 && digits.startsWith('9')) digits = `98${digits}`;
  if (digits.startsWith('98')) return /^989\d{9}$/.test(digits) ? `+${digits}` : null;
  if (!plus && !/^\d{11,15}$/.test(digits)) return null;
  return /^[1-9]\d{7,14}$/.test(digits) ? `+${digits}` : null;
}

/** `+98912***4567`: enough for a cashier to confirm, not enough to copy. */
export function maskPhone(e164: string): string {
  const cc = e164.startsWith('+98') ? 3 : Math.min(4, e164.length - 7);
  const head = e164.slice(0, cc + 3);
  return `${head}***${e164.slice(-4)}`;
}

/** An Iranian mobile as people read it (`0912 345 6789`, Persian digits in fa); others as stored. */
export function displayPhone(e164: string, locale: 'fa' | 'en'): string {
  const m = /^\+98(9\d{2})(\d{3})(\d{4})$/.exec(e164);
  const text = m ? `0${m[1]} ${m[2]} ${m[3]}` : e164;
  return locale === 'fa' ? toPersianDigits(text) : text;
}
