/**
 * Characters no person types and the database cannot or should not keep: NUL (PostgreSQL refuses
 * it in text and jsonb), the other C0 controls except tab, line feed and carriage return, DEL,
 * unpaired UTF-16 surrogates (not encodable as UTF-8) and the noncharacters U+FFFE and U+FFFF.
 * Persian's zero-width non-joiner (U+200C) and other format characters are fine.
 */
const INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasInvalidCharacter(text: string): boolean {
  return INVALID.test(text);
}

/** True when any string in the value (keys included), except under the skipped keys, has an invalid character. */
export function containsInvalidCharacter(value: unknown, skip: ReadonlySet<string> = new Set(), depth = 0): boolean {
  if (typeof value === 'string') return hasInvalidCharacter(value);
  if (value === null || typeof value !== 'object' || depth > 20) return false;
  if (Array.isArray(value)) return value.some((v) => containsInvalidCharacter(v, skip, depth + 1));
  return Object.entries(value).some(([k, v]) => !skip.has(k) && (hasInvalidCharacter(k) || containsInvalidCharacter(v, skip, depth + 1)));
}
