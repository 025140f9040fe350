import { describe, expect, it } from 'vitest';
import { toLatinDigits, toPersianDigits } from '../../src/lib/digits.ts';
import { maskPhone, normalizePhone } from '../../src/lib/phone.ts';

describe('digits', () => {
  it('reads Persian and Arabic digits and separators', () => {
    expect(toLatinDigits('۱۲۳۴۵۶۷۸۹۰')).toBe('1234567890');
    expect(toLatinDigits('٠١٢٣٤٥٦٧٨٩')).toBe('0123456789');
    expect(toLatinDigits('۱٬۲۵۰٫۵')).toBe('1,250.5');
    expect(toPersianDigits('1370/05/12')).toBe('۱۳۷۰/۰۵/۱۲');
  });
});

describe('normalizePhone', () => {
  it.each([
    '09121234567',
    '9121234567',
    '+989121234567',
    '00989121234567',
    '989121234567',
    '+98 912 123 4567',
    '0912-123-4567',
    '(0912) 123.4567',
    '۰۹۱۲۱۲۳۴۵۶۷',
    '٠٩١٢١٢٣٤٥٦٧',
    '+۹۸۹۱۲۱۲۳۴۵۶۷',
  ])('%s is +989121234567', (input) => {
    expect(normalizePhone(input)).toBe('+989121234567');
  });

  it('accepts foreign numbers in international form', () => {
    expect(normalizePhone('+447700900123')).toBe('+447700900123');
    expect(normalizePhone('00447700900123')).toBe('+447700900123');
    expect(normalizePhone('447700900123')).toBe('+447700900123');
    expect(normalizePhone('+1 415 555 2671')).toBe('+14155552671');
  });

  it.each(['', 'hello', '0912123456', '091212345678', '+98 21 1234 5678', '02112345678', '+98912123456a', '12345', '+0123456789', '0912 123 4567 ext'])(
    '%j is refused',
    (input) => {
      expect(normalizePhone(input)).toBeNull();
    },
  );

  it('masks all but the operator prefix and the last four digits', () => {
    expect(maskPhone('+989121234567')).toBe('+98912***4567');
    expect(maskPhone('+447700900123')).not.toContain('7009');
  });
});
