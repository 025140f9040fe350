import { GrammyError, type Context as BaseContext } from 'grammy';
import type { InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove } from 'grammy/types';
import { Menu as MenuClass, type Menu } from '@grammyjs/menu';
import { htmlToPlain } from './platform.ts';
import type { Speech } from './context.ts';

type Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | Menu<any>;
type SpeakingContext = BaseContext & Speech;

/** Sends text written in Telegram's HTML subset, rendered for this platform. */
export async function say(ctx: SpeakingContext, html: string, markup?: Markup): Promise<Message.TextMessage> {
  const { text, parse_mode } = ctx.adapter.render(html);
  return ctx.reply(text, {
    ...(parse_mode ? { parse_mode } : {}),
    ...(markup ? { reply_markup: markup as InlineKeyboardMarkup } : {}),
    link_preview_options: { is_disabled: true },
  });
}

/**
 * Whether the message already shows this screen: the same text (formatting aside: the club's
 * screens take their formatting from the locale strings, so their text changes when it does) and
 * the same keyboard. When unsure it says no, and the edit is sent.
 */
async function shownAlready(message: Message, texts: string[], menu: Markup, ctx: SpeakingContext): Promise<boolean> {
  // Telegram gives the message's text without its tags (the fake Bot API, as sent): either one.
  const shown = (message as { text?: string }).text;
  if (shown === undefined || !texts.includes(shown)) return false;
  const keyboard = menu instanceof MenuClass ? await (menu as unknown as { render(c: unknown): Promise<unknown> }).render(ctx) : 'inline_keyboard' in menu ? menu.inline_keyboard : undefined;
  return keyboard !== undefined && JSON.stringify(keyboard) === JSON.stringify(message.reply_markup?.inline_keyboard);
}

export function isNotModified(error: unknown) {
  return error instanceof GrammyError && error.error_code === 400 && error.description.includes('message is not modified');
}

/**
 * Shows a menu screen. A button press on a text message edits it in place where the platform
 * edits keyboards reliably (Telegram); otherwise (Bale, a photo message, a message too old to edit)
 * the screen is sent as a new message.
 */
export async function showScreen(ctx: SpeakingContext, html: string, menu: Markup): Promise<void> {
  const message = ctx.callbackQuery?.message;
  if (message && 'text' in message && ctx.adapter.editsKeyboards) {
    const { text, parse_mode } = ctx.adapter.render(html);
    // A refresh with nothing changed: Telegram would refuse the edit ("message is not modified").
    if (await shownAlready(message, [text ?? html, htmlToPlain(html)], menu, ctx)) return;
    try {
      await ctx.editMessageText(text, {
        ...(parse_mode ? { parse_mode } : {}),
        reply_markup: menu as InlineKeyboardMarkup,
        link_preview_options: { is_disabled: true },
      });
      return;
    } catch (error) {
      if (isNotModified(error)) return;
      if (!(error instanceof GrammyError && error.error_code === 400)) throw error;
      // The message can no longer be edited: fall through and send the screen anew.
    }
  }
  await say(ctx, html, menu);
}
