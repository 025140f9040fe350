import { randomUUID } from 'node:crypto';
import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import { previewPurchase, recordPurchase, type LoyaltyEnv } from '../../club/purchases.ts';
import { requestRedemption } from '../../club/redemptions.ts';
import { confirmRewardCode } from '../../club/rewards.ts';
import { settleReferralPurchase } from '../../club/referrals.ts';
import { scheduleSatisfactionCheck } from '../../club/satisfaction.ts';
import { loyaltySettings } from '../../club/rules.ts';
import { parsePoints, parseRials } from '../../lib/amount.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { askText, attempt } from './ask.ts';

export const PURCHASE = 'purchase';
export const SPEND = 'spend';
export const REWARD_CODE = 'reward_code';

type TillConversation = Conversation<Context, ConversationContext>;

/** What every till step needs to know, read once at the start of the conversation. */
interface TillStart {
  ok: boolean;
  operationId: string;
  staffId: number;
  branchId: number;
  branchName: string;
  memberId: number;
  memberName: string;
  credit: number;
  points: number;
}

async function tillStart(deps: ClubDeps, ctx: ConversationContext, memberId: number | null): Promise<TillStart> {
  const none = { ok: false, operationId: '', staffId: 0, branchId: 0, branchName: '', memberId: 0, memberName: '', credit: 0, points: 0 };
  const staff = await deps.db
    .selectFrom('member_accounts')
    .innerJoin('staff', 'staff.member_id', 'member_accounts.member_id')
    .select(['staff.member_id', 'staff.branch_id'])
    .where('member_accounts.platform', '=', ctx.adapter.platform)
    .where('member_accounts.user_id', '=', ctx.from!.id)
    .executeTakeFirst();
  if (!staff) return none;
  // A cashier works at their branch; an owner or manager without one records at the first branch.
  const branch = await deps.db
    .selectFrom('branches')
    .select(['id', 'name'])
    .where((eb) => (staff.branch_id === null ? eb('active', '=', true) : eb('id', '=', staff.branch_id)))
    .orderBy('id')
    .executeTakeFirst();
  const member = memberId === null ? undefined : await deps.db.selectFrom('members').selectAll().where('id', '=', memberId).executeTakeFirst();
  if (!branch || (memberId !== null && !member)) return none;
  return {
    ok: true,
    // Made once, before anything is recorded, and kept in the conversation's state: a replay after
    // a crash reuses it, so the purchase it names is recorded at most once.
    operationId: randomUUID(),
    staffId: staff.member_id,
    branchId: branch.id,
    branchName: branch.name,
    memberId: member?.id ?? 0,
    memberName: member?.first_name ?? '',
    credit: member?.credit_balance ?? 0,
    points: member?.points_balance ?? 0,
  };
}

function loyaltyEnv(deps: ClubDeps): LoyaltyEnv {
  return {
    now: deps.now(),
    timeZone: deps.config.timeZone,
    defaults: { tierWindowDays: deps.config.tierWindowDays, validity: { mode: 'days', days: deps.config.pointsValidityDays } },
  };
}

export function createTillConversations(deps: ClubDeps) {
  async function purchase(conversation: TillConversation, ctx: ConversationContext, memberId: number, withCredit: boolean) {
    const { t, locale } = ctx;
    const start = await conversation.external(() => tillStart(deps, ctx, memberId));
    if (!start.ok) return say(ctx, t('errors.not_staff'));
    const cancelKb = new Keyboard().text(t('till.cancel')).resized();
    const skipKb = new Keyboard().text(t('till.skip')).text(t('till.cancel')).resized();

    let amount = 0;
    for (let prompt = t('till.ask_amount', { name: start.memberName }); amount === 0; ) {
      const text = await askText(conversation, ctx, prompt, { keyboard: cancelKb, cancelledKey: 'till.cancelled' });
      if (text === null) return;
      const parsed = parseRials(text);
      if (parsed.ok) amount = parsed.value;
      else prompt = t(`till.amount_${parsed.reason}`);
    }

    let receiptNo: string | null | undefined;
    for (let prompt = t('till.ask_receipt'); receiptNo === undefined; ) {
      const text = await askText(conversation, ctx, prompt, { keyboard: skipKb, cancelledKey: 'till.cancelled' });
      if (text === null) return;
      if (text === t('till.skip')) receiptNo = null;
      else if (/^[\p{L}\p{N}\-_/#.]{1,32}$/u.test(text)) receiptNo = text;
      else prompt = t('till.receipt_invalid');
    }

    let creditToUse = 0;
    const usable = Math.min(start.credit, amount);
    if (usable > 0 && withCredit) {
      const allLabel = t('till.credit_all', { credit: formatRials(usable, locale) });
      const creditKb = new Keyboard().text(allLabel).row().text(t('till.credit_none')).text(t('till.cancel')).resized();
      for (let prompt = t('till.ask_credit', { credit: formatRials(start.credit, locale) }), done = false; !done; ) {
        const text = await askText(conversation, ctx, prompt, { keyboard: creditKb, cancelledKey: 'till.cancelled' });
        if (text === null) return;
        if (text === allLabel) [creditToUse, done] = [usable, true];
        else if (text === t('till.credit_none')) done = true;
        else {
          const parsed = parseRials(text);
          if (parsed.ok && parsed.value <= usable) [creditToUse, done] = [parsed.value, true];
          else prompt = t('till.credit_invalid', { max: formatRials(usable, locale) });
        }
      }
    } else if (withCredit) {
      await say(ctx, t('till.no_credit'));
    }

    const input = { memberId: start.memberId, branchId: start.branchId, cashierMemberId: start.staffId, amountRials: amount, receiptNo, creditToUse };
    const preview = await conversation.external(() => attempt(() => previewPurchase(deps.db, input, loyaltyEnv(deps))));
    if (!preview.ok) return say(ctx, t(preview.key, preview.params), { remove_keyboard: true });
    await say(ctx, t('till.preview_intro'), { remove_keyboard: true });
    await say(
      ctx,
      t('till.preview', {
        name: start.memberName,
        amount: formatRials(amount, locale),
        credit: formatRials(creditToUse, locale),
        receipt: receiptNo ?? '—',
        points: formatNumber(preview.value.total, locale),
        branch: start.branchName,
      }),
      { inline_keyboard: [[{ text: t('till.confirm'), callback_data: 'till:ok' }, { text: t('till.cancel'), callback_data: 'till:no' }]] },
    );
    const answer = await conversation.waitForCallbackQuery(['till:ok', 'till:no'], {
      otherwise: (other) => say(other, t('till.use_buttons')),
    });
    await answer.answerCallbackQuery();
    if (answer.callbackQuery.data === 'till:no') return say(answer, t('till.cancelled'));

    const result = await conversation.external(async () => {
      const outcome = await attempt(() => recordPurchase(deps.db, { ...input, operationId: start.operationId }, loyaltyEnv(deps)));
      if (!outcome.ok || outcome.value.duplicate) return outcome;
      // The receipt was queued with the purchase (the inviter's reward with its settlement): send them now.
      deps.notices.kick();
      const o = outcome.value;
      if (await settleReferralPurchase(deps.db, start.memberId, o.purchase.id, loyaltyEnv(deps))) deps.notices.kick();
      await scheduleSatisfactionCheck(deps.db, o.purchase, deps.now());
      return outcome;
    });
    if (!result.ok) return say(ctx, t(result.key, result.params));
    const o = result.value;
    return say(
      ctx,
      o.duplicate
        ? t('till.already_recorded', { id: formatNumber(o.purchase.id, locale), points: formatNumber(o.points, locale) })
        : t('till.recorded', { id: formatNumber(o.purchase.id, locale), points: formatNumber(o.points, locale), name: start.memberName, balance: formatNumber(o.pointsBalance, locale) }),
    );
  }

  async function spend(conversation: TillConversation, ctx: ConversationContext, memberId: number) {
    const { t, locale } = ctx;
    const start = await conversation.external(() => tillStart(deps, ctx, memberId));
    if (!start.ok) return say(ctx, t('errors.not_staff'));
    const cancelKb = new Keyboard().text(t('till.cancel')).resized();
    let points = 0;
    for (let prompt = t('till.ask_points', { name: start.memberName, points: formatNumber(start.points, locale) }); points === 0; ) {
      const text = await askText(conversation, ctx, prompt, { keyboard: cancelKb, cancelledKey: 'till.cancelled' });
      if (text === null) return;
      const parsed = parsePoints(text);
      if (parsed === null) prompt = t('till.points_invalid');
      else if (parsed > start.points) prompt = t('errors.insufficient_points', { balance: formatNumber(start.points, locale) });
      else points = parsed;
    }
    const requested = await conversation.external(async () => {
      const settings = await loyaltySettings(deps.db);
      const outcome = await attempt(() =>
        requestRedemption(deps.db, { memberId: start.memberId, branchId: start.branchId, cashierMemberId: start.staffId, points }, deps.now(), settings.redemptionMinutes),
      );
      if (!outcome.ok) return outcome;
      const r = outcome.value;
      deps.notices.kick();
      return { ok: true as const, value: { id: r.id, minutes: settings.redemptionMinutes } };
    });
    if (!requested.ok) return say(ctx, t(requested.key, requested.params), { remove_keyboard: true });
    return say(ctx, t('redeem.waiting', { name: start.memberName, points: formatNumber(points, locale), minutes: formatNumber(requested.value.minutes, locale) }), { remove_keyboard: true });
  }

  async function rewardCode(conversation: TillConversation, ctx: ConversationContext) {
    const { t } = ctx;
    const start = await conversation.external(() => tillStart(deps, ctx, null));
    if (!start.ok) return say(ctx, t('errors.not_staff'));
    const cancelKb = new Keyboard().text(t('till.cancel')).resized();
    for (let prompt = t('till.ask_code'); ; ) {
      const text = await askText(conversation, ctx, prompt, { keyboard: cancelKb, cancelledKey: 'till.cancelled' });
      if (text === null) return;
      const confirmed = await conversation.external(() => attempt(() => confirmRewardCode(deps.db, text, start.staffId, start.branchId, deps.now())));
      if (confirmed.ok) {
        const { reward, claim } = confirmed.value;
        return say(ctx, t('till.code_confirmed', { code: claim.code, reward: ctx.locale === 'fa' ? reward.title_fa : reward.title_en }), { remove_keyboard: true });
      }
      prompt = t(confirmed.key, confirmed.params);
    }
  }

  return { purchase, spend, rewardCode };
}
