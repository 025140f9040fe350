import type { i18n as I18nInstance } from 'i18next';
import type { StaffRole } from '../db/schema.ts';
import { parseWholeNumber } from '../lib/amount.ts';
import { toLatinDigits } from '../lib/digits.ts';
import { isLabel } from './i18n.ts';

/** A role typed by staff: `manager`/`cashier`, or the word in any of the club's languages («مدیر», «صندوقدار»). */
export function readStaffRole(i18n: I18nInstance, text: string | undefined): Exclude<StaffRole, 'owner'> | null {
  const word = text?.trim().toLowerCase();
  if (!word) return null;
  for (const role of ['manager', 'cashier'] as const) if (word === role || isLabel(i18n, word, `roles.${role}`)) return role;
  return null;
}

/**
 * A tier field's value as typed: numbers through the one number reader (`۲۰٬۰۰۰` -> 20000; a
 * decimal like `۱٫۵` for a multiplier keeps its point), text as it is.
 */
export function tierFieldValue(field: string, text: string): string {
  if (field !== 'threshold' && field !== 'discount' && field !== 'multiplier') return text.trim();
  const whole = parseWholeNumber(text);
  return whole !== null ? String(whole) : toLatinDigits(text).trim();
}
