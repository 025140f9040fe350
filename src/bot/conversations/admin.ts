import { randomUUID } from 'node:crypto';
import type { Conversation } from '@grammyjs/conversations';
import { purchaseToVoid, voidDisputedPurchase } from '../../club/disputes.ts';
import { adjustPoints } from '../../club/wallet.ts';
import { formatMoney, formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { askText, attempt, managerIdOf, pickButton } from './ask.ts';
import { findMemberById, searchMembers } from '../../club/members.ts';
import { parsePoints, parseWholeNumber } from '../../lib/amount.ts';
import { LIMITS } from '../../club/limits.ts';

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

  /** From /void <number>, or from the panel without one: then the number is asked for. */
  async function voidConversation(conversation: AdminConversation, ctx: ConversationContext, given: number | null) {
    const { t, locale } = ctx;
    let purchaseId = given;
    for (let prompt = t('panel.ask_purchase'); purchaseId === null; prompt = t('admin.void_usage')) {
      const raw = await askText(conversation, ctx, prompt, { cancelledKey: 'till.cancelled', max: 40 });
      if (raw === null) return;
      purchaseId = parseWholeNumber(raw.replace(/^#/, ''), { min: 1 });
      if (purchaseId !== null) await say(ctx, t('panel.working'), { remove_keyboard: true });
    }
    const found = await conversation.external(async () => {
      const actor = await managerIdOf(deps.db, ctx);
      const purchase = await purchaseToVoid(deps.db, purchaseId);
      return { actor, purchase: purchase ?? null };
    });
    if (found.actor === null) return say(ctx, t('errors.manager_only'));
    const p = found.purchase;
    if (!p) return say(ctx, t('errors.purchase_not_found'));
    if (p.status === 'voided') return say(ctx, t('admin.already_voided', { id: formatNumber(p.id, locale) }));
    const reason = await reasonAndConfirm(
      conversation,
      ctx,
      t('admin.void_summary', { id: formatNumber(p.id, locale), name: p.first_name, amount: formatMoney(p.amount_rials, locale), points: formatNumber(p.points_earned, locale) }),
    );
    if (reason === null) return;
    const result = await conversation.external(async () => {
      // The role is checked again right before the write: a manager demoted meanwhile cannot finish.
      if ((await managerIdOf(deps.db, ctx)) === null) return { ok: false as const, key: 'errors.manager_only', params: {} };
      // A purchase the member disputed: the dispute is settled too. The member's notice (a void, or
      // the dispute's outcome) was queued with it.
      const out = await attempt(() => voidDisputedPurchase(deps.db, purchaseId!, found.actor!, reason, { now: deps.now(), timeZone: deps.config.timeZone }));
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
        credit: formatMoney(v.creditRefunded, locale),
      }),
    );
  }

  /** From /adjust <member> <±points>, or from the panel: then the member and the points are asked for. */
  async function adjustConversation(conversation: AdminConversation, ctx: ConversationContext, givenMember: number | null, givenDelta: number | null) {
    const { t, locale } = ctx;
    const cancelled = { cancelledKey: 'till.cancelled', max: 100 };
    let memberId = givenMember;
    for (let prompt = t('panel.find_ask'); memberId === null; prompt = t('panel.find_none')) {
      const raw = await askText(conversation, ctx, prompt, cancelled);
      if (raw === null) return;
      const found = await conversation.external(async () => (await searchMembers(deps.db, raw, 6)).map((m) => ({ id: m.id, name: `${m.first_name} · …${m.phone.slice(-4)}` })));
      if (found.length === 1) memberId = found[0]!.id;
      else if (found.length > 1) {
        await say(ctx, t('panel.find_found', { count: formatNumber(found.length, locale) }), { remove_keyboard: true });
        memberId = Number(await pickButton(conversation, ctx, t('panel.find_pick'), found.map((m) => [[m.name, String(m.id)]])));
      }
    }
    let delta = givenDelta;
    for (let prompt = t('panel.ask_adjust'); delta === null; prompt = t('admin.adjust_usage')) {
      const raw = await askText(conversation, ctx, prompt, cancelled);
      if (raw === null) return;
      const m = /^([+\-−]?)\s*(.+)$/.exec(raw.trim());
      const n = m ? parsePoints(m[2]!) : null;
      if (n !== null && n <= LIMITS.adjustPoints) delta = m![1] === '-' || m![1] === '−' ? -n : n;
    }
    await say(ctx, t('panel.working'), { remove_keyboard: true });
    const found = await conversation.external(async () => {
      const actor = await managerIdOf(deps.db, ctx);
      const member = await findMemberById(deps.db, memberId);
      return { actor, member: member ? { id: member.id, first_name: member.first_name, points_balance: member.points_balance } : null, operationId: randomUUID() };
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
