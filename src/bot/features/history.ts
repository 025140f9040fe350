import { ClubComposer } from '../composer.ts';
import { lastPurchases, memberHistory, type HistoryItem } from '../../club/history.ts';
import { findMemberById } from '../../club/members.ts';
import { loyaltySettings } from '../../club/rules.ts';
import type { Locale } from '../../db/schema.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import { formatDate } from '../../lib/jalali.ts';
import type { Context } from '../context.ts';
import { loadMember } from '../../club/members.ts';
import { memberNumber } from '../screens.ts';
import { say, showScreen } from '../ui.ts';

/** What a ledger line is for, by its reason first, then its kind (closed sets: see the locales test). */
export const HISTORY_REASONS = ['signup_bonus', 'referral_welcome', 'referral', 'referral_reversed', 'survey_answered', 'reward', 'redemption', 'points_to_credit', 'manual_adjustment', 'goodwill', 'purchase_void'] as const;
export const HISTORY_KINDS = ['expire', 'badge', 'streak', 'quiz', 'lottery_ticket', 'lottery_prize', 'gift', 'penalty'] as const;

const PAGE_SIZE = 5;

/** Money as the club talks about it (Toman by default, or Rials). */
async function moneyIn(ctx: Context) {
  const unit = (await loyaltySettings(ctx.deps.db)).moneyUnit;
  return (rials: number) => (unit === 'toman' ? ctx.t('history.toman', { amount: formatNumber(rials / 10, ctx.locale) }) : formatRials(rials, ctx.locale));
}

function signed(n: number, locale: Locale) {
  return `${n > 0 ? '+' : n < 0 ? '−' : ''}${formatNumber(Math.abs(n), locale)}`;
}

function what(ctx: Context, item: Extract<HistoryItem, { type: 'ledger' }>) {
  if (item.reason === 'reward' && (item.rewardFa || item.rewardEn)) {
    // Plain here: the line it goes into escapes it once.
    return ctx.t('history.what_reward_named', { reward: (ctx.locale === 'fa' ? item.rewardFa : item.rewardEn) ?? item.rewardFa ?? '', interpolation: { escapeValue: false } });
  }
  if ((HISTORY_REASONS as readonly string[]).includes(item.reason ?? '')) return ctx.t(`history.what_${item.reason}`);
  if ((HISTORY_KINDS as readonly string[]).includes(item.kind)) return ctx.t(`history.what_${item.kind}`);
  return ctx.t('history.what_other');
}

function line(ctx: Context, item: HistoryItem, money: (rials: number) => string) {
  const date = formatDate(item.at, ctx.locale, ctx.deps.config.timeZone);
  if (item.type === 'purchase') {
    const key = item.voided ? 'history.purchase_voided' : item.creditUsed > 0 ? 'history.purchase_credit' : 'history.purchase';
    return ctx.t(key, {
      date,
      amount: money(item.amountRials),
      branch: item.branch,
      points: signed(item.points, ctx.locale),
      credit: money(item.creditUsed),
    });
  }
  const amount = signed(item.amount, ctx.locale);
  return ctx.t(item.currency === 'points' ? 'history.points_line' : 'history.credit_line', {
    date,
    amount: item.currency === 'points' ? amount : `${item.amount > 0 ? '+' : '−'}${money(Math.abs(item.amount))}`,
    what: what(ctx, item),
    icon: item.amount >= 0 ? '➕' : '➖',
  });
}

/** «🧾 My history»: purchases and every movement of points and credit, newest first, in pages. */
export async function showHistory(ctx: Context, page = 0) {
  if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
  const member = await loadMember(ctx.deps.db, ctx.member.id);
  const history = await memberHistory(ctx.deps.db, member.id, page, PAGE_SIZE);
  const money = await moneyIn(ctx);
  const n = (v: number) => formatNumber(v, ctx.locale);
  const head = [
    ctx.t('history.title', { page: n(history.page + 1), pages: n(history.pages) }),
    ctx.t('history.balances', { points: n(member.points_balance), credit: money(member.credit_balance) }),
    '',
  ];
  const body = history.items.length ? history.items.map((item) => line(ctx, item, money)) : [ctx.t('history.empty')];
  const paging = [
    ...(history.page > 0 ? [{ text: ctx.t('history.newer'), callback_data: `hist:${history.page - 1}` }] : []),
    ...(history.page + 1 < history.pages ? [{ text: ctx.t('history.older'), callback_data: `hist:${history.page + 1}` }] : []),
  ];
  await showScreen(ctx, [...head, ...body].join('\n'), {
    inline_keyboard: [...(paging.length ? [paging] : []), [{ text: ctx.t('menu.main'), callback_data: 'home' }]],
  });
}

export function historyFeature() {
  const composer = new ClubComposer<Context>();

  composer.callbackQuery(/^hist:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    await showHistory(ctx, Number(ctx.match[1]));
  });

  // The staff view of a member: their last five purchases.
  composer.callbackQuery(/^hist:s:(\d+)$/, async (ctx) => {
    if (!ctx.role) return ctx.answerCallbackQuery({ text: ctx.t('errors.not_staff'), show_alert: true });
    await ctx.answerCallbackQuery();
    const member = await findMemberById(ctx.deps.db, Number(ctx.match[1]));
    if (!member) return say(ctx, ctx.t('errors.member_not_found'));
    const money = await moneyIn(ctx);
    const rows = await lastPurchases(ctx.deps.db, member.id, 5);
    const lines = rows.map((p) =>
      ctx.t(p.status === 'voided' ? 'history.staff_row_voided' : 'history.staff_row', {
        id: formatNumber(p.id, ctx.locale),
        date: formatDate(p.created_at, ctx.locale, ctx.deps.config.timeZone),
        amount: money(p.amount_rials),
        points: signed(p.points_earned, ctx.locale),
        branch: p.branch,
      }),
    );
    const title = ctx.t('history.staff_title', { name: member.first_name, number: memberNumber(member, ctx.locale) });
    await say(ctx, [title, '', ...(lines.length ? lines : [ctx.t('history.staff_none')])].join('\n'));
  });

  return composer;
}
