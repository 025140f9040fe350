import type { Conversation } from '@grammyjs/conversations';
import { Composer, Keyboard } from 'grammy';
import { ClubError } from '../../club/errors.ts';
import { commentSatisfaction, feedbackSettings, recordSatisfaction, saveFeedbackSettings } from '../../club/satisfaction.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { staffTicketButtons } from '../conversations/tickets.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';

export const SATISFACTION_COMMENT = 'satisfaction_comment';

async function managers(deps: ClubDeps) {
  return (await deps.db.selectFrom('staff').select('member_id').where('role', 'in', ['owner', 'manager']).execute()).map((r) => r.member_id);
}

/** The optional comment after a visit score. */
export function createSatisfactionComment(deps: ClubDeps) {
  return async function comment(conversation: Conversation<Context, ConversationContext>, ctx: ConversationContext, purchaseId: number) {
    const { t } = ctx;
    const kb = new Keyboard().text(t('till.cancel')).resized();
    await say(ctx, t('feedback.ask_comment'), kb);
    for (;;) {
      const update = await conversation.waitFor('message:text', { otherwise: (o) => say(o, t('till.text_please'), kb) });
      const text = update.message.text.trim();
      if (ctx.isLabel(text, 'till.cancel')) return say(update, t('tickets.cancelled'), { remove_keyboard: true });
      const saved = await conversation.external(async () => {
        const me = await deps.db.selectFrom('member_accounts').innerJoin('members', 'members.id', 'member_accounts.member_id').select(['members.id', 'members.first_name']).where('platform', '=', ctx.adapter.platform).where('user_id', '=', ctx.from!.id).executeTakeFirst();
        if (!me) return { ok: false as const, key: 'errors.not_member', params: {} };
        try {
          const check = await commentSatisfaction(deps.db, purchaseId, me.id, text, deps.now());
          if (check.ticket_id !== null) {
            for (const id of await managers(deps)) {
              await deps.notifier.notify(id, (speech) => ({
                html: speech.t('tickets.answer_to_staff', { id: formatNumber(check.ticket_id!, speech.locale), name: me.first_name, text }),
                keyboard: staffTicketButtons(speech.t, check.ticket_id!),
              }));
            }
          }
          return { ok: true as const };
        } catch (error) {
          if (error instanceof ClubError) return { ok: false as const, key: error.i18nKey, params: error.params };
          throw error;
        }
      });
      if (saved.ok) return say(update, t('feedback.thanks_comment'), { remove_keyboard: true });
      if (saved.key !== 'errors.text_too_long') return say(update, t(saved.key), { remove_keyboard: true });
      await say(update, t(saved.key, { max: formatNumber(2000, ctx.locale) }), kb);
    }
  };
}

/** "How was your visit?": the score, the low-score follow-up, and the owner's switch. */
export function feedbackFeature() {
  const composer = new Composer<Context>();

  composer.callbackQuery(/^sat:(\d+):([1-5])$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    const score = Number(ctx.match[2]);
    const result = await recordSatisfaction(ctx.deps.db, Number(ctx.match[1]), ctx.member.id, score, ctx.deps.now());
    if (!result.scored) return showScreen(ctx, ctx.t('feedback.already'), { inline_keyboard: [] });
    await showScreen(ctx, ctx.t(score <= 2 ? 'feedback.sorry' : 'feedback.thanks', { score: formatNumber(score, ctx.locale) }), {
      inline_keyboard: [[{ text: ctx.t('feedback.add_comment'), callback_data: `satc:${ctx.match[1]}` }]],
    });
    if (result.ticketId !== null) {
      const member = ctx.member;
      for (const id of await managers(ctx.deps)) {
        await ctx.deps.notifier.notify(id, (speech) => ({
          html: speech.t('feedback.low_to_staff', { id: formatNumber(result.ticketId!, speech.locale), name: member.first_name, score: formatNumber(score, speech.locale) }),
          keyboard: staffTicketButtons(speech.t, result.ticketId!),
        }));
      }
    }
  });

  composer.callbackQuery(/^satc:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (ctx.member) await ctx.conversation.enter(SATISFACTION_COMMENT, Number(ctx.match[1]));
  });

  composer.chatType('private').command('feedback', staffOnly('owner', 'manager'), async (ctx) => {
    const [what, value] = toLatinDigits(ctx.match.trim()).split(/\s+/);
    if (what === 'on' || what === 'off') await saveFeedbackSettings(ctx.deps.db, { satisfactionEnabled: what === 'on' }, ctx.member!.id, ctx.deps.now());
    else if (what === 'delay' && /^\d+$/.test(value ?? '')) await saveFeedbackSettings(ctx.deps.db, { satisfactionDelayMinutes: Number(value) }, ctx.member!.id, ctx.deps.now());
    else if (what) return say(ctx, ctx.t('feedback.usage'));
    const s = await feedbackSettings(ctx.deps.db);
    await say(ctx, ctx.t(s.satisfactionEnabled ? 'feedback.status_on' : 'feedback.status_off', { minutes: formatNumber(s.satisfactionDelayMinutes, ctx.locale) }) + '\n' + ctx.t('feedback.usage'));
  });

  return composer;
}
