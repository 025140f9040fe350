import { managerIdOfAccount } from '../../club/members.ts';
import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import { ClubError } from '../../club/errors.ts';
import type { Db } from '../../db/database.ts';
import { formatNumber } from '../../lib/format.ts';
import type { Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';

export const MAX_TEXT = 2000;

export interface AskOptions {
  /** Reply-keyboard buttons offered besides Cancel (Skip, choices...). */
  extra?: string[];
  /** A full keyboard instead (it should contain a Cancel button). */
  keyboard?: Keyboard;
  /** What to say when the person cancels. */
  cancelledKey: string;
  max?: number;
}

/**
 * Asks for one text answer. The Cancel button ends with null (/cancel and other commands never
 * reach a conversation: see interrupt.ts); a button pressed meanwhile is
 * answered; an empty or over-long answer is explained and the question stays.
 */
export async function askText(conversation: Conversation<Context, ConversationContext>, ctx: ConversationContext, prompt: string, options: AskOptions): Promise<string | null> {
  const { t } = ctx;
  const max = options.max ?? MAX_TEXT;
  let kb = options.keyboard;
  if (!kb) {
    kb = new Keyboard();
    for (const e of options.extra ?? []) kb.text(e);
    kb.text(t('till.cancel')).resized();
  }
  await say(ctx, prompt, kb);
  for (;;) {
    const update = await conversation.wait();
    if (update.callbackQuery) {
      await update.answerCallbackQuery({ text: t('till.finish_first') });
      continue;
    }
    const text = (update.message?.text ?? update.message?.caption)?.trim();
    if (ctx.isLabel(text, 'till.cancel')) {
      await say(update, t(options.cancelledKey), { remove_keyboard: true });
      return null;
    }
    if (!text) await say(update, t('till.text_please'), kb);
    else if (text.length > max) await say(update, t('errors.text_too_long', { max: formatNumber(max, ctx.locale) }), kb);
    else return text;
  }
}

/** Runs a domain call; a ClubError comes back as its i18n key instead of ending the conversation. */
export async function attempt<T>(run: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; key: string; params: Record<string, unknown> }> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    if (error instanceof ClubError) return { ok: false, key: error.i18nKey, params: error.params };
    throw error;
  }
}

/** The member id of the owner or manager writing in this chat, or null for anyone else. */
export async function managerIdOf(db: Db, ctx: ConversationContext): Promise<number | null> {
  return managerIdOfAccount(db, ctx.adapter.platform, ctx.from!.id);
}

/** Offers inline buttons ([label, value] rows) and waits for a press; returns the value. Typing meanwhile gets a hint. */
export async function pickButton(conversation: Conversation<Context, ConversationContext>, ctx: ConversationContext, prompt: string, rows: [string, string][][]): Promise<string> {
  await say(ctx, prompt, { inline_keyboard: rows.map((r) => r.map(([text, data]) => ({ text, callback_data: `cb:${data}` }))) });
  const press = await conversation.waitForCallbackQuery(/^cb:/, { otherwise: (o) => say(o, ctx.t('till.use_buttons')) });
  await press.answerCallbackQuery();
  return press.callbackQuery.data.slice(3);
}
