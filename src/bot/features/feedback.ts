import type { Conversation } from '@grammyjs/conversations';
import { ClubComposer } from '../composer.ts';
import { Keyboard } from 'grammy';
import { ClubError } from '../../club/errors.ts';
import { commentSatisfaction, feedbackSettings, recordSatisfaction, saveFeedbackSettings } from '../../club/satisfaction.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { findMemberByAccount } from '../../club/members.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';

export const SATISFACTION_COMMENT = 'satisfaction_comment';

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
        const me = await findMemberByAccount(deps.db, ctx.adapter.platform, ctx.from!.id);
        if (!me) return { ok: false as const, key: 'errors.not_member', params: {} };
        try {
          // On a low score the comment joins the ticket, and managers hear of it through the outbox.
          const check = await commentSatisfaction(deps.db, purchaseId, me.id, text, deps.now());
          if (check.ticket_id !== null) deps.notices.kick();
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
  const composer = new ClubComposer<Context>();

  composer.callbackQuery(/^sat:(\d+):([1-5])$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    const score = Number(ctx.match[2]);
    const result = await recordSatisfaction(ctx.deps.db, Number(ctx.match[1]), ctx.member.id, score, ctx.deps.now());
    if (!result.scored) return showScreen(ctx, ctx.t('feedback.already'), { inline_keyboard: [] });
    await showScreen(ctx, ctx.t(score <= 2 ? 'feedback.sorry' : 'feedback.thanks', { score: formatNumber(score, ctx.locale) }), {
      inline_keyboard: [[{ text: ctx.t('feedback.add_comment'), callback_data: `satc:${ctx.match[1]}` }]],
    });
    // A low score opened a ticket; managers' alerts were queued with it.
    if (result.ticketId !== null) ctx.deps.notices.kick();
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
