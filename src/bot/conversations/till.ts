import { randomUUID } from 'node:crypto';
import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import { requestCreditSpend } from '../../club/credit-requests.ts';
import { LIMITS } from '../../club/limits.ts';
import { quotePurchase, recordPurchase, type PurchaseInput, type PurchaseQuote } from '../../club/purchases.ts';
import { requestRedemption } from '../../club/redemptions.ts';
import { activeWelcomeVoucher } from '../../club/referrals.ts';
import { confirmRewardCode } from '../../club/rewards.ts';
import { loyaltySettings } from '../../club/rules.ts';
import { staffAtTill } from '../../club/staff.ts';
import { checkVoucher, displayCode } from '../../club/vouchers.ts';
import type { Locale } from '../../db/schema.ts';
import { parseMoney, parsePoints, type MoneyUnit } from '../../lib/amount.ts';
import { formatMoney, formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext, Speech } from '../context.ts';
import { tierName } from '../screens.ts';
import { announcePurchase, loyaltyEnv } from '../till-receipt.ts';
import { say } from '../ui.ts';
import { askText, attempt } from './ask.ts';
import { afterPurchaseButtons, checkUsualAmount } from './till-checks.ts';
import { findMemberById } from '../../club/members.ts';
import { openCodesOf } from '../../club/vouchers.ts';

export const PURCHASE = 'purchase';
export const SPEND = 'spend';
export const REWARD_CODE = 'reward_code';

type TillConversation = Conversation<Context, ConversationContext>;

/** What every till step needs to know, read once at the start of the conversation. */
interface TillStart {
  /** Why the till refuses, or null. */
  refusal: string | null;
  operationId: string;
  staffId: number;
  branchId: number;
  branchName: string;
  memberId: number;
  memberName: string;
  credit: number;
  points: number;
  unit: MoneyUnit;
  /** The member's unused welcome voucher (percent), and pool codes the club gave them. */
  welcomePercent: number | null;
  codes: { id: number; code: string }[];
}

async function tillStart(deps: ClubDeps, ctx: ConversationContext, memberId: number | null): Promise<TillStart> {
  const none = { operationId: '', staffId: 0, branchId: 0, branchName: '', memberId: 0, memberName: '', credit: 0, points: 0, unit: 'toman' as const, welcomePercent: null, codes: [] };
  const staff = await staffAtTill(deps.db, ctx.adapter.platform, ctx.from!.id);
  if (!staff) return { ...none, refusal: 'errors.not_staff' };
  const member = memberId === null ? undefined : await findMemberById(deps.db, memberId);
  if (memberId !== null && !member) return { ...none, refusal: 'errors.member_not_found' };
  // Nobody records a purchase on, or spends from, their own membership: another staff member does.
  if (member && member.id === staff.memberId) return { ...none, refusal: 'errors.own_purchase' };
  const now = deps.now();
  const welcome = member ? await activeWelcomeVoucher(deps.db, member.id, now) : undefined;
  const codes = member ? await openCodesOf(deps.db, member.id, now) : [];
  return {
    refusal: null,
    // Made once, before anything is recorded, and kept in the conversation's state: a replay after
    // a crash reuses it, so the purchase it names is recorded at most once.
    operationId: randomUUID(),
    staffId: staff.memberId,
    branchId: staff.branchId,
    branchName: staff.branchName,
    memberId: member?.id ?? 0,
    memberName: member?.first_name ?? '',
    credit: member?.credit_balance ?? 0,
    points: member?.points_balance ?? 0,
    unit: (await loyaltySettings(deps.db)).moneyUnit,
    welcomePercent: welcome?.percent ?? null,
    codes,
  };
}

/** Right before a write: is this account still staff? (It may have been removed meanwhile.) */
async function stillStaff(deps: ClubDeps, ctx: ConversationContext) {
  return (await staffAtTill(deps.db, ctx.adapter.platform, ctx.from!.id)) !== null;
}

/**
 * The confirmation screen: the amount as read (Toman and Rials, so a misread shows), each discount,
 * the credit, and the amount to pay, then the receipt number and the points to earn.
 */
function quoteLines(speech: Speech, q: PurchaseQuote) {
  const { t, locale } = speech;
  const money = (n: number) => formatMoney(n, locale);
  const x = q.totals;
  return [
    t('till.quote.amount', { amount: money(x.amount) }),
    ...(x.tierDiscount > 0 ? [t('till.quote.tier', { tier: tierName(q.tier, locale), percent: formatNumber(Number(q.tier.discount_percent), locale), discount: money(x.tierDiscount) })] : []),
    ...(q.voucher?.kind === 'welcome' ? [t('till.quote.welcome', { percent: formatNumber(q.voucher.percent, locale), discount: money(x.voucherDiscount) })] : []),
    ...(q.voucher?.kind === 'pool' ? [t('till.quote.voucher', { code: displayCode(q.voucher.code), discount: money(x.voucherDiscount) })] : []),
    ...(x.credit > 0 ? [t('till.quote.credit', { credit: money(x.credit) })] : []),
    t('till.quote.to_pay', { amount: money(x.toPay) }),
  ];
}

const amountPrompt = (t: Speech['t'], unit: MoneyUnit, name: string) => t(`till.ask_amount_${unit}`, { name });

function amountRefusal(t: Speech['t'], locale: Locale, unit: MoneyUnit, reason: 'format' | 'zero' | 'too_large') {
  if (reason === 'too_large') return t('till.amount_too_large', { max: formatMoney(LIMITS.purchaseRials, locale) });
  return reason === 'zero' ? t('till.amount_zero') : t(`till.amount_format_${unit}`);
}

export function createTillConversations(deps: ClubDeps) {
  async function purchase(conversation: TillConversation, ctx: ConversationContext, memberId: number, withCredit: boolean) {
    const { t, locale } = ctx;
    const start = await conversation.external(() => tillStart(deps, ctx, memberId));
    if (start.refusal) return say(ctx, t(start.refusal));
    const cancelKb = new Keyboard().text(t('till.cancel')).resized();
    const skipKb = new Keyboard().text(t('till.skip')).text(t('till.cancel')).resized();

    let amount = 0;
    for (let prompt = amountPrompt(t, start.unit, start.memberName); amount === 0; ) {
      const text = await askText(conversation, ctx, prompt, { keyboard: cancelKb, cancelledKey: 'till.cancelled' });
      if (text === null) return;
      const parsed = parseMoney(text, { bare: start.unit, max: LIMITS.purchaseRials });
      if (!parsed.ok) prompt = amountRefusal(t, locale, start.unit, parsed.reason);
      else {
        const checked = await checkUsualAmount(conversation, ctx, deps, start.branchId, parsed.value);
        if (checked === null) return;
        [amount, prompt] = [checked, amountPrompt(t, start.unit, start.memberName)];
      }
    }

    let receiptNo: string | null | undefined;
    for (let prompt = t('till.ask_receipt'); receiptNo === undefined; ) {
      const text = await askText(conversation, ctx, prompt, { keyboard: skipKb, cancelledKey: 'till.cancelled' });
      if (text === null) return;
      if (ctx.isLabel(text, 'till.skip')) receiptNo = null;
      else if (/^[\p{L}\p{N}\-_/#.]{1,32}$/u.test(text)) receiptNo = text;
      else prompt = t('till.receipt_invalid');
    }

    // A voucher is offered when the member has one; the cashier may also type a code from an offer.
    // It is used up only when the purchase is recorded with it.
    let applyWelcome = false;
    let voucherCodeId: number | null = null;
    if (start.welcomePercent !== null || start.codes.length > 0) {
      const welcomePercent = start.welcomePercent;
      // Labels are functions of the speech, so a button typed before a language change still counts.
      const welcomeLabel = welcomePercent === null ? null : (sp: Pick<Speech, 't' | 'locale'>) => sp.t('till.apply_welcome', { percent: formatNumber(welcomePercent, sp.locale) });
      const codeLabels = start.codes.map((c) => ({ ...c, label: (sp: Pick<Speech, 't' | 'locale'>) => sp.t('till.apply_code', { code: displayCode(c.code) }) }));
      const kb = new Keyboard();
      if (welcomeLabel) kb.text(welcomeLabel(ctx)).row();
      for (const c of codeLabels) kb.text(c.label(ctx)).row();
      kb.text(t('till.no_voucher')).text(t('till.cancel')).resized();
      for (let prompt = t('till.ask_voucher'), done = false; !done; ) {
        const text = await askText(conversation, ctx, prompt, { keyboard: kb, cancelledKey: 'till.cancelled' });
        if (text === null) return;
        const picked = codeLabels.find((c) => ctx.isLabel(text, c.label));
        if (welcomeLabel && ctx.isLabel(text, welcomeLabel)) [applyWelcome, done] = [true, true];
        else if (ctx.isLabel(text, 'till.no_voucher')) done = true;
        else {
          const checked = await conversation.external(() => attempt(async () => (await checkVoucher(deps.db, picked?.code ?? text, start.memberId, deps.now(), start.branchId)).code.id));
          if (checked.ok) [voucherCodeId, done] = [checked.value, true];
          else prompt = t(checked.key, checked.params);
        }
      }
    }

    const base = { memberId: start.memberId, branchId: start.branchId, cashierMemberId: start.staffId, amountRials: amount, receiptNo, applyWelcome, voucherCodeId };
    let creditToUse = 0;
    if (withCredit) {
      const before = await conversation.external(() => attempt(() => quotePurchase(deps.db, { ...base, creditToUse: 0 }, loyaltyEnv(deps))));
      if (!before.ok) return say(ctx, t(before.key, before.params), { remove_keyboard: true });
      const usable = Math.min(start.credit, before.value.totals.net);
      if (usable > 0) {
        const allLabel = (sp: Pick<Speech, 't' | 'locale'>) => sp.t('till.credit_all', { credit: formatMoney(usable, sp.locale) });
        const creditKb = new Keyboard().text(allLabel(ctx)).row().text(t('till.credit_none')).text(t('till.cancel')).resized();
        for (let prompt = t('till.ask_credit', { credit: formatMoney(start.credit, locale) }), done = false; !done; ) {
          const text = await askText(conversation, ctx, prompt, { keyboard: creditKb, cancelledKey: 'till.cancelled' });
          if (text === null) return;
          if (ctx.isLabel(text, allLabel)) [creditToUse, done] = [usable, true];
          else if (ctx.isLabel(text, 'till.credit_none')) done = true;
          else {
            const parsed = parseMoney(text, { bare: start.unit, max: LIMITS.purchaseRials });
            if (parsed.ok && parsed.value <= usable) [creditToUse, done] = [parsed.value, true];
            else prompt = t('till.credit_invalid', { max: formatMoney(usable, locale) });
          }
        }
      } else {
        await say(ctx, t('till.no_credit'));
      }
    }

    const input: Omit<PurchaseInput, 'operationId'> = { ...base, creditToUse };
    const quote = await conversation.external(() => attempt(() => quotePurchase(deps.db, input, loyaltyEnv(deps))));
    if (!quote.ok) return say(ctx, t(quote.key, quote.params), { remove_keyboard: true });
    await say(ctx, t('till.preview_intro'), { remove_keyboard: true });
    await say(
      ctx,
      [
        t('till.preview_title', { name: start.memberName, branch: start.branchName }),
        ...quoteLines(ctx, quote.value),
        t('till.preview_receipt', { receipt: receiptNo ?? '—' }),
        t('till.preview_points', { points: formatNumber(quote.value.points.total, locale) }),
        ...(creditToUse > 0 ? ['', t('till.preview_credit_consent')] : []),
      ].join('\n'),
      { inline_keyboard: [[{ text: t('till.confirm'), callback_data: 'till:ok' }, { text: t('till.cancel'), callback_data: 'till:no' }]] },
    );
    const answer = await conversation.waitForCallbackQuery(['till:ok', 'till:no'], {
      otherwise: (other) => say(other, t('till.use_buttons')),
    });
    await answer.answerCallbackQuery();
    if (answer.callbackQuery.data === 'till:no') return say(answer, t('till.cancelled'));
    const full: PurchaseInput = { ...input, operationId: start.operationId };

    if (creditToUse > 0) {
      // Credit is the member's money: they approve it in their own chat; approving records the purchase.
      const requested = await conversation.external(async () => {
        if (!(await stillStaff(deps, ctx))) return { ok: false as const, key: 'errors.not_staff', params: {} };
        const settings = await loyaltySettings(deps.db);
        // The member's approval request (with Approve and Decline) is queued with the request.
        const outcome = await attempt(() => requestCreditSpend(deps.db, { ...full, creditToUse, toPay: quote.value.totals.toPay }, deps.now(), settings.redemptionMinutes));
        if (!outcome.ok) return outcome;
        deps.notices.kick();
        return { ok: true as const, value: { minutes: settings.redemptionMinutes } };
      });
      if (!requested.ok) return say(ctx, t(requested.key, requested.params));
      return say(ctx, t('credit_request.waiting', { name: start.memberName, credit: formatMoney(creditToUse, locale), minutes: formatNumber(requested.value.minutes, locale) }));
    }

    const result = await conversation.external(async () => {
      if (!(await stillStaff(deps, ctx))) return { ok: false as const, key: 'errors.not_staff', params: {} };
      const outcome = await attempt(() => recordPurchase(deps.db, full, loyaltyEnv(deps)));
      if (outcome.ok && !outcome.value.duplicate) await announcePurchase(deps, outcome.value);
      return outcome;
    });
    if (!result.ok) return say(ctx, t(result.key, result.params));
    const o = result.value;
    return say(
      ctx,
      o.duplicate
        ? t('till.already_recorded', { id: formatNumber(o.purchase.id, locale), points: formatNumber(o.points, locale) })
        : t('till.recorded', { id: formatNumber(o.purchase.id, locale), points: formatNumber(o.points, locale), name: start.memberName, balance: formatNumber(o.pointsBalance, locale) }),
      afterPurchaseButtons(t),
    );
  }

  async function spend(conversation: TillConversation, ctx: ConversationContext, memberId: number) {
    const { t, locale } = ctx;
    const start = await conversation.external(() => tillStart(deps, ctx, memberId));
    if (start.refusal) return say(ctx, t(start.refusal));
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
      if (!(await stillStaff(deps, ctx))) return { ok: false as const, key: 'errors.not_staff', params: {} };
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
    if (start.refusal) return say(ctx, t(start.refusal));
    const cancelKb = new Keyboard().text(t('till.cancel')).resized();
    for (let prompt = t('till.ask_code'); ; ) {
      const text = await askText(conversation, ctx, prompt, { keyboard: cancelKb, cancelledKey: 'till.cancelled' });
      if (text === null) return;
      const confirmed = await conversation.external(async () => {
        if (!(await stillStaff(deps, ctx))) return { ok: false as const, key: 'errors.not_staff', params: {} };
        return attempt(() => confirmRewardCode(deps.db, text, start.staffId, start.branchId, deps.now()));
      });
      if (!confirmed.ok && confirmed.key === 'errors.not_staff') return say(ctx, t(confirmed.key), { remove_keyboard: true });
      if (confirmed.ok) {
        const { reward, claim } = confirmed.value;
        return say(ctx, t('till.code_confirmed', { code: claim.code, reward: ctx.locale === 'fa' ? reward.title_fa : reward.title_en }), { remove_keyboard: true });
      }
      prompt = t(confirmed.key, confirmed.params);
    }
  }

  return { purchase, spend, rewardCode };
}
