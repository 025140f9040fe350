import { stringify } from 'csv-stringify/sync';

/** What a spreadsheet would run as a formula (or as DDE) when a cell starts with it. */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Whether a spreadsheet program would take this text, typed or read from CSV, as a formula. */
export function looksLikeFormula(value: unknown): value is string {
  return typeof value === 'string' && FORMULA_START.test(value);
}

/**
 * Spreadsheet formula injection, for every CSV file the club writes: a text cell that
 * starts with = + - @ (or a tab / carriage return, which some programs skip before looking) gets a
 * leading apostrophe, which spreadsheets show as plain text. Numbers (-50) and dates are left alone.
 */
export function neutraliseCell<T>(value: T): T | string {
  return looksLikeFormula(value) ? `'${value}` : value;
}

/**
 * A cell people typed (a survey answer, a name) made inert: a text that a spreadsheet would read
 * as a formula gets a leading apostrophe, which spreadsheets show as text (OWASP's advice).
 * Numbers and dates the club writes itself stay as they are.
 */
export function csvCell(value: unknown): string | number | bigint {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  return neutraliseCell(value instanceof Date ? value.toISOString() : String(value));
}

/**
 * Every CSV file the club writes: cells neutralised (csvCell), quoted as needed, with a
 * byte-order mark so spreadsheet programs read Persian text as UTF-8.
 */
export function toCsv(rows: readonly (readonly unknown[])[]): string {
  return '\ufeff' + stringify(rows.map((row) => row.map(csvCell)));
}
