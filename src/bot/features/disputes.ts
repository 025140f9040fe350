import { ClubComposer } from '../composer.ts';
import type { InlineKeyboardMarkup } from 'grammy/types';
import { findDispute, listOpenDisputes, openDispute } from '../../club/disputes.ts';
import { ClubError } from '../../club/errors.ts';
import { formatMoney, formatNumber } from '../../lib/format.ts';
import type { Context, Speech } from '../context.ts';
import { VOID } from '../conversations/admin.ts';
import { DISPUTE_DISMISS } from '../conversations/disputes.ts';
import { say } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';

/** Void or Dismiss for one dispute (ids only: `dq:v:<dispute>`, `dq:d:<dispute>`). */
function decisionButtons(speech: Pick<Speech, 't' | 'locale'>, disputeId: number, purchaseId: number): InlineKeyboardMarkup['inline_keyboard'][number] {
  const id = formatNumber(purchaseId, speech.locale);
  return [
    { text: speech.t('disputes.void_button', { id }), callback_data: `dq:v:${disputeId}` },
    { text: speech.t('disputes.dismiss_button', { id }), callback_data: `dq:d:${disputeId}` },
  ];
}

/** "This wasn't me": the member's button, the managers' alert and list, and their decision. */
export function disputesFeature() {
  const composer = new ClubComposer<Context>();

  composer.callbackQuery(/^dp:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    const purchaseId = Number(ctx.match[1]);
    const member = ctx.member;
    try {
      // The managers' alert was queued with the dispute.
      const { disputeId } = await openDispute(ctx.deps.db, member.id, purchaseId, ctx.deps.now());
      if (disputeId) ctx.deps.notices.kick();
      await say(ctx, ctx.t(disputeId ? 'dispute.opened' : 'dispute.already', { id: formatNumber(purchaseId, ctx.locale) }));
    } catch (error) {
      if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, error.params));
      throw error;
    }
  });

  composer.callbackQuery(/^dq:([vd]):(\d+)$/, async (ctx) => {
    if (ctx.role !== 'owner' && ctx.role !== 'manager') return ctx.answerCallbackQuery({ text: ctx.t('errors.manager_only'), show_alert: true });
    const dispute = await findDispute(ctx.deps.db, Number(ctx.match[2]));
    if (!dispute) return ctx.answerCallbackQuery({ text: ctx.t('errors.dispute_not_found'), show_alert: true });
    if (dispute.status !== 'open') return ctx.answerCallbackQuery({ text: ctx.t('errors.dispute_decided'), show_alert: true });
    await ctx.answerCallbackQuery();
    // Voiding asks for a reason and a confirmation like /void, and settles the dispute with it.
    if (ctx.match[1] === 'v') await ctx.conversation.enter(VOID, dispute.purchaseId);
    else await ctx.conversation.enter(DISPUTE_DISMISS, dispute.id);
  });

  const listDisputes = async (ctx: Context) => {
    const open = await listOpenDisputes(ctx.deps.db);
    if (open.length === 0) return say(ctx, ctx.t('admin.disputes_none'));
    const rows = open.map((d) =>
      ctx.t(d.purchaseStatus === 'voided' ? 'admin.dispute_row_voided' : 'admin.dispute_row', {
        id: formatNumber(d.purchaseId, ctx.locale),
        name: d.firstName,
        amount: formatMoney(d.amountRials, ctx.locale),
        unrecovered: formatNumber(d.unrecoveredPoints, ctx.locale),
      }),
    );
    await say(ctx, [ctx.t('admin.disputes_title'), '', ...rows].join('\n'), { inline_keyboard: open.slice(0, 10).map((d) => decisionButtons(ctx, d.id, d.purchaseId)) });
  };
  composer.chatType('private').command('disputes', staffOnly('owner', 'manager'), listDisputes);
  opens(composer, 'disputes', MANAGERS, listDisputes);

  return composer;
}
