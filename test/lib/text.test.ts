import { describe, expect, it } from 'vitest';
import { containsInvalidCharacter, hasInvalidCharacter } from '../../src/lib/text.ts';

describe('characters nobody types', () => {
  it('refuses NUL, other control characters and broken surrogates', () => {
    for (const bad of ['a\u0000b', '\u0007', 'x\u001b[31m', '\u007f', '\ud800', 'a\udc00b', '\uffff']) expect(hasInvalidCharacter(bad), JSON.stringify(bad)).toBe(true);
  });

  it('accepts Persian with its zero-width non-joiner, emoji, tabs and line breaks', () => {
    for (const good of ['می‌خواهم', 'سلام\nخوبید؟\tممنون\r\n', '🎉👍🏽', 'Café', '\u200f\u200e']) expect(hasInvalidCharacter(good), good).toBe(false);
  });

  it('looks through nested values except the keys it is told to skip', () => {
    const message = { text: 'ok', contact: { phone_number: '0912\u0000' }, reply_to_message: { text: '\u0000' } };
    expect(containsInvalidCharacter(message)).toBe(true);
    expect(containsInvalidCharacter({ ...message, contact: { phone_number: '0912' } }, new Set(['reply_to_message']))).toBe(false);
  });
});
