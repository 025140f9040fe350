import type { BotMessage } from './fake-bot-api.ts';

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&amp;': '&' };

/**
 * The text a person reads: with parse_mode HTML Telegram renders the tags away and decodes the
 * entities; without it the text is shown exactly as sent.
 */
export const plain = (m: BotMessage) => {
  const text = m.text ?? m.caption ?? '';
  if (m.parse_mode !== 'HTML') return text;
  return text.replace(/<[^>]+>/g, '').replace(/&(lt|gt|quot|amp|#(\d+));/g, (e, _n, code?: string) => (code ? String.fromCodePoint(Number(code)) : ENTITIES[e]!));
};
export const hasText = (pattern: RegExp) => (m: BotMessage) => pattern.test(plain(m));
export const inlineButtons = (m: BotMessage | undefined) =>
  ((m?.reply_markup?.inline_keyboard ?? []) as { text: string; callback_data?: string; url?: string }[][]).flat();
