import { randomBytes } from 'node:crypto';
import { ClubComposer } from '../composer.ts';
import { ClubError } from '../../club/errors.ts';
import { decideCreditRequest } from '../../club/credit-requests.ts';
import { decideRedemption } from '../../club/redemptions.ts';
import { availableRewards, claimReward, findReward } from '../../club/rewards.ts';
import { branchNames } from '../../club/offer-branch.ts';
import { loyaltySettings } from '../../club/rules.ts';
import { invitationStats } from '../../club/referrals.ts';
import { convertPointsToCredit } from '../../club/wallet.ts';
import { formatMoney, formatNumber, formatRials } from '../../lib/format.ts';
import type { Context } from '../context.ts';
import { loadMember } from '../../club/members.ts';
import { announcePurchase, loyaltyEnv } from '../till-receipt.ts';
import { say, showScreen } from '../ui.ts';

const nonce = () => randomBytes(6).toString('base64url');

/**
 * The member's side of money: rewards, converting points to credit, approving a spend at the till,
 * and disputing a purchase. Every button that moves value carries a one-time nonce or id, so a
 * double tap or a replayed update moves it once.
 */
async function env(ctx: Context) {
  const settings = await loyaltySettings(ctx.deps.db);
  return { settings, env: { now: ctx.deps.now(), timeZone: ctx.deps.config.timeZone } };
}

/** «فقط شعبهٔ X» after `separator` for an offer limited to one branch; nothing for every branch. */
export function onlyAt(ctx: Pick<Context, 't'>, branchId: number | null, names: Map<number, string>, separator: string): string {
  return branchId === null ? '' : separator + ctx.t('branch_offers.only_at', { branch: names.get(branchId) ?? '', interpolation: { escapeValue: false } });
}

const backRow = (ctx: Context) => [{ text: ctx.t('menu.main'), callback_data: 'home' }];

/** The rewards a member can claim now, each a button. */
export async function showRewards(ctx: Context) {
  if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
  const rewards = await availableRewards(ctx.deps.db, ctx.deps.now());
  const member = await loadMember(ctx.deps.db, ctx.member.id);
  const names = await branchNames(ctx.deps.db);
  const rows = rewards.map((r) => [
    {
      text: `${r.points_cost > member.points_balance ? '🔒 ' : ''}${ctx.locale === 'fa' ? r.title_fa : r.title_en} · ${formatNumber(r.points_cost, ctx.locale)}${onlyAt(ctx, r.branch_id, names, ' · ')}`,
      callback_data: `rw:${r.id}`,
    },
  ]);
  const text = rewards.length ? ctx.t('rewards.title', { points: formatNumber(member.points_balance, ctx.locale) }) : ctx.t('rewards.empty');
  await showScreen(ctx, text, { inline_keyboard: [...rows, backRow(ctx)] });
}

/** How much the member's points are worth in credit, with amounts to convert. */
export async function showConvert(ctx: Context) {
  if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
  const { settings } = await env(ctx);
  const member = await loadMember(ctx.deps.db, ctx.member.id);
  const options = [100, 500, 1000].filter((p) => p < member.points_balance);
  if (member.points_balance > 0) options.push(member.points_balance);
  const text = ctx.t('convert.body', {
    points: formatNumber(member.points_balance, ctx.locale),
    rate: formatRials(settings.rialsPerPointCredit, ctx.locale),
    worth: formatRials(member.points_balance * settings.rialsPerPointCredit, ctx.locale),
  });
  await showScreen(ctx, member.points_balance > 0 ? text : ctx.t('convert.nothing'), {
    inline_keyboard: [...options.map((p) => [{ text: ctx.t('convert.option', { points: formatNumber(p, ctx.locale) }), callback_data: `cv:${p}` }]), backRow(ctx)],
  });
}

export function walletFeature() {
  const composer = new ClubComposer<Context>();

  composer.callbackQuery('rewards', async (ctx) => {
    await ctx.answerCallbackQuery();
    await showRewards(ctx);
  });
  composer.callbackQuery('convert', async (ctx) => {
    await ctx.answerCallbackQuery();
    await showConvert(ctx);
  });

  composer.callbackQuery(/^rw:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    const reward = await findReward(ctx.deps.db, Number(ctx.match[1]));
    if (!reward) return say(ctx, ctx.t('errors.reward_unavailable'));
    // A reward out of reach says how far it is, with no button to claim it.
    const balance = (await loadMember(ctx.deps.db, ctx.member.id)).points_balance;
    if (balance < reward.points_cost) {
      const n = (v: number) => formatNumber(v, ctx.locale);
      const text = ctx.t('reward_reach.missing', { reward: ctx.locale === 'fa' ? reward.title_fa : reward.title_en, missing: n(reward.points_cost - balance), cost: n(reward.points_cost), balance: n(balance) });
      return showScreen(ctx, text, { inline_keyboard: [[{ text: ctx.t('menu.rewards'), callback_data: 'rewards' }], backRow(ctx)] });
    }
    const where = reward.branch_id === null ? '' : `\n${ctx.t('branch_offers.only_at', { branch: (await branchNames(ctx.deps.db)).get(reward.branch_id) ?? '' })}`;
    await showScreen(ctx, ctx.t('rewards.confirm', { reward: ctx.locale === 'fa' ? reward.title_fa : reward.title_en, points: formatNumber(reward.points_cost, ctx.locale) }) + where, {
      inline_keyboard: [[{ text: ctx.t('rewards.claim'), callback_data: `rwc:${reward.id}:${nonce()}` }], backRow(ctx)],
    });
  });
  composer.callbackQuery(/^rwc:(\d+):([\w-]+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    try {
      const { claim, reward } = await claimReward(ctx.deps.db, ctx.member.id, Number(ctx.match[1]), `${ctx.member.id}:${ctx.match[2]}`, ctx.deps.now());
      const where = reward.branch_id === null ? '' : `\n${ctx.t('branch_offers.only_at', { branch: (await branchNames(ctx.deps.db)).get(reward.branch_id) ?? '' })}`;
      await showScreen(ctx, ctx.t('rewards.claimed', { code: claim.code, reward: ctx.locale === 'fa' ? reward.title_fa : reward.title_en }) + where, { inline_keyboard: [backRow(ctx)] });
    } catch (error) {
      if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, { ...error.params, balance: formatNumber(Number(error.params.balance ?? 0), ctx.locale) }));
      throw error;
    }
  });

  composer.callbackQuery('invites', async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    const s = await invitationStats(ctx.deps.db, ctx.member.id);
    const n = (v: number) => formatNumber(v, ctx.locale);
    await say(ctx, ctx.t('invite.stats', { joined: n(s.joined), purchased: n(s.purchased), points: n(s.pointsEarned), pending: n(s.pending) }), {
      inline_keyboard: [backRow(ctx)],
    });
  });

  // Points to credit: pick an amount, confirm, done.
  composer.callbackQuery(/^cv:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    const points = Number(ctx.match[1]);
    const { settings } = await env(ctx);
    await showScreen(ctx, ctx.t('convert.confirm', { points: formatNumber(points, ctx.locale), rials: formatMoney(points * settings.rialsPerPointCredit, ctx.locale) }), {
      inline_keyboard: [[{ text: ctx.t('convert.yes'), callback_data: `cvok:${points}:${nonce()}` }], backRow(ctx)],
    });
  });

  composer.callbackQuery(/^cvok:(\d+):([\w-]+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    const { env: loyaltyEnv } = await env(ctx);
    try {
      const out = await convertPointsToCredit(ctx.deps.db, ctx.member.id, Number(ctx.match[1]), `${ctx.member.id}:${ctx.match[2]}`, loyaltyEnv);
      await showScreen(
        ctx,
        ctx.t('convert.done', { points: formatNumber(out.points, ctx.locale), rials: formatMoney(out.rials, ctx.locale), balance: formatNumber(out.pointsBalance, ctx.locale), credit: formatMoney(out.creditBalance, ctx.locale) }),
        { inline_keyboard: [backRow(ctx)] },
      );
    } catch (error) {
      if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, { balance: formatNumber(Number(error.params.balance ?? 0), ctx.locale) }));
      throw error;
    }
  });

  // The member approves or declines a spend the cashier asked for.
  composer.callbackQuery(/^rd:([ad]):(\d+)$/, async (ctx) => {
    if (!ctx.member) return ctx.answerCallbackQuery();
    const approve = ctx.match[1] === 'a';
    try {
      const decision = await decideRedemption(ctx.deps.db, Number(ctx.match[2]), ctx.member.id, approve, ctx.deps.now());
      const r = decision.redemption;
      const points = formatNumber(r.points, ctx.locale);
      const key = !decision.changed ? `redeem.already_${r.status}` : approve ? 'redeem.approved_member' : 'redeem.declined_member';
      await ctx.answerCallbackQuery();
      await showScreen(ctx, ctx.t(key, { points, balance: formatNumber(decision.pointsBalance, ctx.locale) }), { inline_keyboard: [] });
      // The cashier's notice was queued with the decision.
      if (decision.changed) ctx.deps.notices.kick();
    } catch (error) {
      if (error instanceof ClubError) {
        await ctx.answerCallbackQuery({ text: ctx.t(error.i18nKey, { balance: formatNumber(Number(error.params.balance ?? 0), ctx.locale) }), show_alert: true });
        return;
      }
      throw error;
    }
  });

  // The member approves or declines paying part of a purchase from their credit. Approving records
  // the purchase; a second tap or a replayed update finds it decided and changes nothing.
  composer.callbackQuery(/^cr:([ad]):(\d+)$/, async (ctx) => {
    if (!ctx.member) return ctx.answerCallbackQuery();
    const approve = ctx.match[1] === 'a';
    try {
      const decision = await decideCreditRequest(ctx.deps.db, Number(ctx.match[2]), ctx.member.id, approve, loyaltyEnv(ctx.deps));
      const r = decision.request;
      const credit = formatMoney(r.credit_rials, ctx.locale);
      const balance = formatMoney(decision.creditBalance, ctx.locale);
      const key = !decision.changed ? `credit_request.already_${r.status}` : `credit_request.${r.status}_member`;
      await ctx.answerCallbackQuery();
      await showScreen(ctx, ctx.t(key, { credit, balance, reason: r.error ? ctx.t(r.error, { balance }) : '' }), { inline_keyboard: [] });
      // The cashier's answer (and on approval the member's receipt) was queued with the decision.
      if (decision.changed || decision.expiredNow) ctx.deps.notices.kick();
      const o = decision.outcome;
      if (o && !o.duplicate) await announcePurchase(ctx.deps, o);
    } catch (error) {
      if (error instanceof ClubError) {
        await ctx.answerCallbackQuery({ text: ctx.t(error.i18nKey), show_alert: true });
        return;
      }
      throw error;
    }
  });

  return composer;
}
