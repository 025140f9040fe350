import { randomInt } from 'node:crypto';

/** Letters and digits hard to confuse with one another (no 0/O, 1/I/L). */
export const READABLE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
/** Stricter, for codes read aloud at a till: also no 2/Z, 5/S, 8/B. */
export const STRICT_ALPHABET = 'ACDEFGHJKMNPQRTUVWXY34679';

/** A random code from a cryptographic source. */
export function randomCode(length: number, alphabet = READABLE_ALPHABET): string {
  let code = '';
  for (let i = 0; i < length; i++) code += alphabet[randomInt(alphabet.length)];
  return code;
}
