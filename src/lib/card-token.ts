import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A member card: `<member id base36>-<expiry unix seconds base36>-<16 chars of HMAC-SHA256>`.
 * Short enough for a Telegram deep-link payload (<= 64 of [A-Za-z0-9_-]) with room for a prefix.
 */
export type CardTokenCheck =
  | { ok: true; memberId: number; expiresAt: Date }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

function mac(memberId: number, exp: number, secret: string): Buffer {
  return createHmac('sha256', secret).update(`card:${memberId}:${exp}`).digest().subarray(0, 12);
}

export function signCardToken(memberId: number, secret: string, now: Date, ttlSeconds: number): string {
  const exp = Math.floor(now.getTime() / 1000) + ttlSeconds;
  return `${memberId.toString(36)}-${exp.toString(36)}-${mac(memberId, exp, secret).toString('base64url')}`;
}

export function verifyCardToken(token: string, secret: string, now: Date): CardTokenCheck {
  const match = /^([0-9a-z]{1,11})-([0-9a-z]{1,9})-([A-Za-z0-9_-]{16})$/.exec(token);
  if (!match) return { ok: false, reason: 'malformed' };
  const memberId = parseInt(match[1]!, 36);
  const exp = parseInt(match[2]!, 36);
  if (!Number.isSafeInteger(memberId) || !Number.isSafeInteger(exp)) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(match[3]!, 'base64url');
  const expected = mac(memberId, exp, secret);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  if (exp * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, memberId, expiresAt: new Date(exp * 1000) };
}

export function isValidStartPayload(p: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(p);
}
