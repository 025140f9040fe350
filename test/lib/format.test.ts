import { describe, expect, it } from 'vitest';
import { isValidStartPayload, signCardToken, verifyCardToken } from '../../src/lib/card-token.ts';
import { formatNumber, formatRials, progressBar } from '../../src/lib/format.ts';

describe('numbers and money', () => {
  it('groups digits per language', () => {
    expect(formatNumber(1250000, 'fa')).toBe('۱٬۲۵۰٬۰۰۰');
    expect(formatNumber(1250000, 'en')).toBe('1,250,000');
    expect(formatNumber(0, 'fa')).toBe('۰');
    expect(formatRials(1250000, 'fa')).toBe('۱٬۲۵۰٬۰۰۰ ریال');
    expect(formatRials(1250000n, 'en')).toBe('1,250,000 Rials');
  });

  it('draws a clamped progress bar', () => {
    expect(progressBar(3, 10)).toBe('▰▰▰▱▱▱▱▱▱▱');
    expect(progressBar(50, 1000)).toBe('▱▱▱▱▱▱▱▱▱▱');
    expect(progressBar(-5, 10)).toBe('▱▱▱▱▱▱▱▱▱▱');
    expect(progressBar(20, 10)).toBe('▰▰▰▰▰▰▰▰▰▰');
    expect(progressBar(1, 0)).toBe('▰▰▰▰▰▰▰▰▰▰');
    expect(progressBar(1, 2, 4)).toBe('▰▰▱▱');
  });
});

describe('member card tokens', () => {
  const secret = 'test-secret';
  const now = new Date('2026-11-22T10:00:00Z');

  it('round-trips and expires', () => {
    const token = signCardToken(1234, secret, now, 600);
    expect(verifyCardToken(token, secret, now)).toEqual({ ok: true, memberId: 1234, expiresAt: new Date('2026-11-22T10:10:00Z') });
    expect(verifyCardToken(token, secret, new Date('2026-11-22T10:10:00Z'))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses forged and malformed tokens', () => {
    const token = signCardToken(1234, secret, now, 600);
    const [, exp, mac] = token.split('-');
    expect(verifyCardToken(`${(1235).toString(36)}-${exp}-${mac}`, secret, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyCardToken(token, 'another-secret', now)).toEqual({ ok: false, reason: 'bad_signature' });
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect(verifyCardToken(flipped, secret, now)).toEqual({ ok: false, reason: 'bad_signature' });
    for (const bad of ['', 'abc', '1-2-3', `${token}x`, token.replace(/-/g, '_')]) {
      expect(verifyCardToken(bad, secret, now)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('always fits a deep-link payload', () => {
    const token = signCardToken(Number.MAX_SAFE_INTEGER, secret, new Date('2200-01-01T00:00:00Z'), 86_400);
    expect(token.length).toBeLessThanOrEqual(60);
    expect(isValidStartPayload(`c_${token}`)).toBe(true);
    expect(isValidStartPayload('x'.repeat(65))).toBe(false);
    expect(isValidStartPayload('has space')).toBe(false);
  });
});
