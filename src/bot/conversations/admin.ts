import { randomUUID } from 'node:crypto';
import type { Conversation } from '@grammyjs/conversations';
import { voidDisputedPurchase } from '../../club/disputes.ts';
import { adjustPoints } from '../../club/wallet.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { attempt, managerIdOf } from './ask.ts';

export const VOID = 'void';
export const ADJUST = 'adjust';
const MAX_REASON = 500;

type AdminConversation = Conversation<Context, ConversationContext>;

/** Manager actions that move points back: each asks for a reason and a confirmation. */
export function createAdminConversations(deps: ClubDeps) {
  async function reasonAndConfirm(conversation: AdminConversation, ctx: ConversationContext, summary: string): Promise<string | null> {
    const { t } = ctx;
    await say(ctx, `${summary}\n\n${t('admin.ask_reason')}`);
    let reason = '';
    while (!reason) {
      const update = await conversation.waitFor('message:text', { otherwise: (o) => say(o, t('admin.ask_reason')) });
      const text = update.message.text.trim();
      if (text.length > MAX_REASON) await say(update, t('errors.text_too_long', { max: formatNumber(MAX_REASON, ctx.locale) }));
      else reason = text;
    }
    await say(ctx, t('admin.confirm_reason', { reason }), {
      inline_keyboard: [[{ text: t('till.confirm'), callback_data: 'adm:ok' }, { text: t('till.cancel'), callback_data: 'adm:no' }]],
    });
    const answer = await conversation.waitForCallbackQuery(['adm:ok', 'adm:no'], { otherwise: (o) => say(o, t('till.use_buttons')) });
    await answer.answerCallbackQuery();
    if (answer.callbackQuery.data === 'adm:no') {
      await say(answer, t('till.cancelled'));
      return null;
    }
    return reason;
  }

  async function voidConversation(conversation: AdminConversation, ctx: ConversationContext, purchaseId: number) {
    const { t, locale } = ctx;
    const found = await conversation.external(async () => {
      const actor = await managerIdOf(deps.db, ctx);
      const purchase = await deps.db
        .selectFrom('purchases')
        .innerJoin('members', 'members.id', 'purchases.member_id')
        .select(['purchases.id', 'purchases.amount_rials', 'purchases.points_earned', 'purchases.status', 'purchases.member_id', 'members.first_name'])
        .where('purchases.id', '=', purchaseId)
        .executeTakeFirst();
      return { actor, purchase: purchase ?? null };
    });
    if (found.actor === null) return say(ctx, t('errors.manager_only'));
    const p = found.purchase;
    if (!p) return say(ctx, t('errors.purchase_not_found'));
    if (p.status === 'voided') return say(ctx, t('admin.already_voided', { id: formatNumber(p.id, locale) }));
    const reason = await reasonAndConfirm(
      conversation,
      ctx,
      t('admin.void_summary', { id: formatNumber(p.id, locale), name: p.first_name, amount: formatRials(p.amount_rials, locale), points: formatNumber(p.points_earned, locale) }),
    );
    if (reason === null) return;
    const result = await conversation.external(async () => {
      // The role is checked again right before the write: a manager demoted meanwhile cannot finish.
      if ((await managerIdOf(deps.db, ctx)) === null) return { ok: false as const, key: 'errors.manager_only', params: {} };
      // A purchase the member disputed: the dispute is settled too. The member's notice (a void, or
      // the dispute's outcome) was queued with it.
      const out = await attempt(() => voidDisputedPurchase(deps.db, purchaseId, found.actor!, reason, { now: deps.now(), timeZone: deps.config.timeZone }));
      if (out.ok && (!out.value.duplicate || out.value.dispute)) deps.notices.kick();
      return out;
    });
    if (!result.ok) return say(ctx, t(result.key, result.params));
    const v = result.value;
    await say(
      ctx,
      t('admin.voided', {
        id: formatNumber(p.id, locale),
        taken: formatNumber(v.pointsTaken, locale),
        unrecovered: formatNumber(v.unrecovered, locale),
        credit: formatRials(v.creditRefunded, locale),
      }),
    );
  }

  async function adjustConversation(conversation: AdminConversation, ctx: ConversationContext, memberId: number, delta: number) {
    const { t, locale } = ctx;
    const found = await conversation.external(async () => {
      const actor = await managerIdOf(deps.db, ctx);
      const member = await deps.db.selectFrom('members').select(['id', 'first_name', 'points_balance']).where('id', '=', memberId).executeTakeFirst();
      return { actor, member: member ?? null, operationId: randomUUID() };
    });
    if (found.actor === null) return say(ctx, t('errors.manager_only'));
    if (!found.member) return say(ctx, t('errors.member_not_found'));
    const signed = `${delta > 0 ? '+' : '−'}${formatNumber(Math.abs(delta), locale)}`;
    const reason = await reasonAndConfirm(conversation, ctx, t('admin.adjust_summary', { name: found.member.first_name, delta: signed, balance: formatNumber(found.member.points_balance, locale) }));
    if (reason === null) return;
    const result = await conversation.external(async () => {
      if ((await managerIdOf(deps.db, ctx)) === null) return { ok: false as const, key: 'errors.manager_only', params: {} };
      const out = await attempt(() => adjustPoints(deps.db, memberId, delta, reason, found.actor!, found.operationId, { now: deps.now(), timeZone: deps.config.timeZone }));
      // The member's notice was queued with the adjustment.
      if (out.ok) deps.notices.kick();
      return out;
    });
    if (!result.ok) return say(ctx, t(result.key, { balance: formatNumber(Number(result.params.balance ?? 0), locale) }));
    await say(ctx, t('admin.adjusted', { name: found.member.first_name, balance: formatNumber(result.value.points_balance, locale) }));
  }

  return { voidConversation, adjustConversation };
}
