import { accountSpeaker } from '../../club/members.ts';
import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import { ClubError } from '../../club/errors.ts';
import { addTicketMessage, MAX_TICKET_TEXT, openTicket, TICKET_CATEGORIES } from '../../club/tickets.ts';
import type { TicketCategory, TicketKind } from '../../db/schema.ts';
import { formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { askText } from './ask.ts';

export const TICKET_NEW = 'ticket_new';
export const TICKET_REPLY = 'ticket_reply';

type TicketConversation = Conversation<Context, ConversationContext>;

/** Buttons staff get with every ticket message. */
export function staffTicketButtons(t: (k: string) => string, ticketId: number) {
  return {
    inline_keyboard: [
      [
        { text: t('tickets.reply'), callback_data: `tk:rp:${ticketId}` },
        { text: t('tickets.close'), callback_data: `tk:cl:${ticketId}` },
        { text: t('tickets.thread'), callback_data: `tk:vw:${ticketId}` },
      ],
    ],
  };
}

export function createTicketConversations(deps: ClubDeps) {
  async function whoAmI(ctx: ConversationContext) {
    return accountSpeaker(deps.db, ctx.adapter.platform, ctx.from!.id);
  }

  async function newTicket(conversation: TicketConversation, ctx: ConversationContext, kind: TicketKind) {
    const { t, locale } = ctx;
    const me = await conversation.external(() => whoAmI(ctx));
    if (!me) return say(ctx, t('errors.not_member'));
    await say(ctx, t(`tickets.ask_category_${kind}`), {
      inline_keyboard: [
        ...TICKET_CATEGORIES.map((c) => [{ text: t(`tickets.category_${c}`), callback_data: `tkc:${c}` }]),
        [{ text: t('till.cancel'), callback_data: 'tkc:cancel' }],
      ],
    });
    const picked = await conversation.waitForCallbackQuery(/^tkc:/, { otherwise: (o) => say(o, t('till.use_buttons')) });
    await picked.answerCallbackQuery();
    const category = picked.callbackQuery.data.slice(4);
    if (category === 'cancel') return say(picked, t('tickets.cancelled'));

    // The words, or a photo with the words as its caption (then no photo question follows).
    const cancel = t('till.cancel');
    await say(ctx, t('tickets.ask_text'), new Keyboard().text(cancel).resized());
    let text = '';
    let photo: string | null = null;
    for (;;) {
      const update = await conversation.wait();
      if (update.callbackQuery) {
        await update.answerCallbackQuery({ text: t('till.finish_first') });
        continue;
      }
      const sizes = update.message?.photo;
      const words = (update.message?.text ?? update.message?.caption)?.trim();
      if (ctx.isLabel(words, 'till.cancel')) return say(update, t('tickets.cancelled'), { remove_keyboard: true });
      if (!words) await say(update, t(sizes?.length ? 'tickets.photo_needs_words' : 'till.text_please'));
      else if (words.length > MAX_TICKET_TEXT) await say(update, t('errors.text_too_long', { max: formatNumber(MAX_TICKET_TEXT, locale) }));
      else {
        text = words;
        if (sizes?.length) photo = sizes[sizes.length - 1]!.file_id;
        break;
      }
    }
    if (photo === null) {
      const skip = t('signup.skip');
      await say(ctx, t('tickets.ask_photo'), new Keyboard().text(skip).text(cancel).resized());
      for (;;) {
        const update = await conversation.wait();
        const sizes = update.message?.photo;
        if (sizes?.length) {
          photo = sizes[sizes.length - 1]!.file_id;
          break;
        }
        const answer = update.message?.text?.trim();
        if (ctx.isLabel(answer, 'signup.skip')) break;
        if (ctx.isLabel(answer, 'till.cancel')) return say(update, t('tickets.cancelled'), { remove_keyboard: true });
        if (update.callbackQuery) await update.answerCallbackQuery({ text: t('till.finish_first') });
        else await say(update, t('tickets.photo_or_skip'));
      }
    }
    const attached = photo === null ? null : { fileId: photo, platform: ctx.adapter.platform };

    const ticket = await conversation.external(async () => {
      // The managers' alert (with the photo, on the platform that received it) was queued with the ticket.
      const opened = await openTicket(deps.db, { memberId: me.id, kind, category: category as TicketCategory, text, photo: attached }, deps.now());
      deps.notices.kick();
      return { id: opened.id };
    });
    await say(ctx, t('tickets.opened', { id: formatNumber(ticket.id, locale) }), { remove_keyboard: true });
  }

  /** Staff replying to a ticket, or the member answering back: either side of the thread. */
  async function reply(conversation: TicketConversation, ctx: ConversationContext, ticketId: number) {
    const { t, locale } = ctx;
    const me = await conversation.external(() => whoAmI(ctx));
    if (!me) return say(ctx, t('errors.not_member'));
    const staff = me.role === 'owner' || me.role === 'manager';
    const text = await askText(conversation, ctx, t(staff ? 'tickets.ask_reply' : 'tickets.ask_answer', { id: formatNumber(ticketId, locale) }), { cancelledKey: 'tickets.cancelled' });
    if (text === null) return;
    const result = await conversation.external(async () => {
      try {
        await addTicketMessage(deps.db, ticketId, { memberId: me.id, staff }, text, deps.now());
        // The other side's notice was queued with the message.
        deps.notices.kick();
        return { ok: true as const };
      } catch (error) {
        if (error instanceof ClubError) return { ok: false as const, key: error.i18nKey };
        throw error;
      }
    });
    await say(ctx, result.ok ? t('tickets.sent') : t(result.key), { remove_keyboard: true });
  }

  return { newTicket, reply };
}
