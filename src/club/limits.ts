/**
 * The largest amount of each kind the club accepts, in one place. They keep every balance and
 * every sum in /stats far below 2^53 (the safe-integer guard on int8), and catch a typo of three
 * extra zeros at the till. A refusal names the limit in the reader's digits.
 */
export const LIMITS = {
  /** One purchase at the till: 10 billion Rials (1 billion Toman). */
  purchaseRials: 10_000_000_000,
  /** One manual adjustment (/adjust), either way. */
  adjustPoints: 1_000_000,
} as const;
