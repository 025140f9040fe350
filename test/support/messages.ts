import type { BotMessage } from './fake-bot-api.ts';

/** The text a person reads: Telegram renders the HTML tags away. */
export const plain = (m: BotMessage) => (m.text ?? m.caption ?? '').replace(/<[^>]+>/g, '');
export const hasText = (pattern: RegExp) => (m: BotMessage) => pattern.test(plain(m));
export const inlineButtons = (m: BotMessage | undefined) =>
  ((m?.reply_markup?.inline_keyboard ?? []) as { text: string; callback_data?: string; url?: string }[][]).flat();
