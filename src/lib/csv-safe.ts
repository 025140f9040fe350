/**
 * Spreadsheet formula injection: a cell that starts with = + - @ (or a tab / carriage return, which
 * some programs skip before looking) is run as a formula when the file is opened. Such text gets a
 * leading apostrophe, which spreadsheets show as plain text. Numbers are left alone (-50 is a number).
 */
export function neutraliseCell<T>(value: T): T | string {
  return typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
