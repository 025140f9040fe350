import type { Conversation } from '@grammyjs/conversations';
import { createLottery, MAX_PRIZES, type LotteryInput } from '../../club/lotteries.ts';
import type { LotteryPrize, LotteryTicketMode } from '../../db/schema.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatJalaliNumeric, parseJalaliMoment, todayIso } from '../../lib/jalali.ts';
import { zonedMidnight } from '../../lib/zoned.ts';
import { announcementRef } from '../announcements.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { escapeHtml } from '../i18n.ts';
import { howText, periodText, prizesText, whoText } from '../lottery-text.ts';
import { tierName } from '../screens.ts';
import { say } from '../ui.ts';
import { askText, attempt, managerIdOf, pickButton } from './ask.ts';
import { askOfferBranch } from './offer-branch.ts';
import { runningPools } from '../../club/vouchers.ts';
import { listTiers } from '../../club/tiers.ts';
import { listSegments } from '../../club/segments.ts';

export const LOTTERY_NEW = 'lottery_new';

type LotteryConversation = Conversation<Context, ConversationContext>;

const DAY_MS = 86_400_000;

/** A whole number from 1 to max, in any digits; null otherwise. */
function wholeNumber(text: string, max: number): number | null {
  const latin = toLatinDigits(text).replace(/[,٬،\s]/g, '');
  if (!/^\d{1,9}$/.test(latin)) return null;
  const n = Number(latin);
  return n >= 1 && n <= max ? n : null;
}

export function createLotteryConversations(deps: ClubDeps) {
  /** A lottery built with buttons: title, prizes, period, who takes part, how tickets come, the rules; then announced. */
  async function create(conversation: LotteryConversation, ctx: ConversationContext) {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const opts = { cancelledKey: 'lotteries.cancelled' };
    const tz = deps.config.timeZone;
    const n = (v: number) => formatNumber(v, locale);

    const askNumber = async (prompt: string, invalidKey: string, max: number, extra: string[]) => {
      for (let p = prompt; ; p = t(invalidKey)) {
        const raw = await askText(conversation, ctx, p, { ...opts, extra, max: 20 });
        if (raw === null) return null;
        const value = wholeNumber(raw, max);
        if (value !== null) return value;
      }
    };

    const title = await askText(conversation, ctx, t('lotteries.ask_title'), { ...opts, max: 64 });
    if (title === null) return;

    const pools = await conversation.external(() =>
      runningPools(deps.db, deps.now(), 8),
    );
    const prizes: LotteryPrize[] = [];
    for (;;) {
      const name = await askText(conversation, ctx, t('lotteries.ask_prize', { n: n(prizes.length + 1) }), { ...opts, max: 64 });
      if (name === null) return;
      const count = await askNumber(t('lotteries.ask_prize_count'), 'lotteries.count_invalid', 100, [1, 2, 3].map((v) => n(v)));
      if (count === null) return;
      const kinds: [string, string][][] = [[[t('lotteries.kind_shop'), 'shop']], [[t('lotteries.kind_points'), 'points']]];
      if (pools.length) kinds.push([[t('lotteries.kind_voucher'), 'voucher']]);
      const kind = await pickButton(conversation, ctx, t('lotteries.ask_prize_kind'), kinds);
      const prize: LotteryPrize = { title: name, count };
      if (kind === 'points') {
        const points = await askNumber(t('lotteries.ask_prize_points'), 'lotteries.points_invalid', 10_000_000, [n(100), n(500)]);
        if (points === null) return;
        prize.points = points;
      }
      if (kind === 'voucher') {
        const pool = await pickButton(conversation, ctx, t('lotteries.ask_pool'), pools.map((p): [string, string][] => [[p.name, `v${p.id}`]]));
        prize.voucher_pool_id = Number(pool.slice(1));
      }
      prizes.push(prize);
      if (prizes.length >= MAX_PRIZES) break;
      const more = await pickButton(conversation, ctx, t('lotteries.prizes_so_far', { prizes: prizesText(prizes, ctx), interpolation: { escapeValue: false } }), [
        [[t('lotteries.more_prizes'), 'more'], [t('lotteries.prizes_done'), 'done']],
      ]);
      if (more === 'done') break;
    }

    // The period: whole Jalali days in the club's zone, from the first day's midnight to the midnight after the last.
    const now = new Date(await conversation.external(() => deps.now().toISOString()));
    const day = (offset: number) => formatJalaliNumeric(todayIso(new Date(now.getTime() + offset * DAY_MS), tz), locale);
    let startsAt: Date | null = null;
    for (let p = t('lotteries.ask_start'); !startsAt; p = t('lotteries.date_invalid')) {
      const raw = await askText(conversation, ctx, p, { ...opts, extra: [day(0)], max: 20 });
      if (raw === null) return;
      const moment = parseJalaliMoment(raw, tz);
      if (moment && !moment.hasTime) startsAt = moment.at;
    }
    let endsAt: Date | null = null;
    for (let p = t('lotteries.ask_end'); !endsAt; p = t('lotteries.date_invalid')) {
      const raw = await askText(conversation, ctx, p, { ...opts, extra: [day(7), day(30)], max: 20 });
      if (raw === null) return;
      const moment = parseJalaliMoment(raw, tz);
      if (!moment || moment.hasTime) continue;
      // The midnight after the last day, in the club's zone.
      const next = new Date(`${todayIso(moment.at, tz)}T12:00:00Z`);
      next.setUTCDate(next.getUTCDate() + 1);
      const end = zonedMidnight(next.toISOString().slice(0, 10), tz);
      if (end > startsAt && end > now) endsAt = end;
    }

    const tiers = await conversation.external(() => listTiers(deps.db));
    const tierChoice = await pickButton(conversation, ctx, t('lotteries.ask_tier'), [
      [[t('lotteries.any_tier'), 'any']],
      ...tiers.slice(1).map((tier): [string, string][] => [[tierName(tier, locale), `t${tier.id}`]]),
    ]);
    const minTierId = tierChoice === 'any' ? null : Number(tierChoice.slice(1));
    const optedInOnly = (await pickButton(conversation, ctx, t('lotteries.ask_opt_in'), [[[t('lotteries.yes'), 'y'], [t('lotteries.no'), 'n']]])) === 'y';
    const segments = await conversation.external(() => listSegments(deps.db));
    let segmentId: number | null = null;
    if (segments.length) {
      const choice = await pickButton(conversation, ctx, t('lotteries.ask_segment'), [[[t('lotteries.all_members'), 'all']], ...segments.map((s): [string, string][] => [[s.name, `s${s.id}`]])]);
      segmentId = choice === 'all' ? null : Number(choice.slice(1));
    }
    // A branch lottery: tickets only from purchases at that branch.
    const branchId = await askOfferBranch(conversation, ctx, deps);

    const ticketMode = (await pickButton(conversation, ctx, t('lotteries.ask_mode'), [
      [[t('lotteries.mode_points'), 'points']],
      [[t('lotteries.mode_purchase'), 'purchase']],
      [[t('lotteries.mode_bought'), 'bought']],
    ])) as LotteryTicketMode;
    let pointsPerTicket = 1;
    if (ticketMode !== 'purchase') {
      const prompt = t(ticketMode === 'points' ? 'lotteries.ask_points_per_ticket' : 'lotteries.ask_ticket_price');
      const value = await askNumber(prompt, 'lotteries.points_invalid', 10_000_000, [n(100)]);
      if (value === null) return;
      pointsPerTicket = value;
    }
    const uniqueWinners = (await pickButton(conversation, ctx, t('lotteries.ask_unique'), [[[t('lotteries.unique_yes'), 'y'], [t('lotteries.unique_no'), 'n']]])) === 'y';
    const exclude = await pickButton(conversation, ctx, t('lotteries.ask_exclude'), [
      [[t('lotteries.exclude_none'), '0']],
      [1, 3, 5].map((k): [string, string] => [t('lotteries.exclude_n', { n: n(k) }), String(k)]),
    ]);

    const input: LotteryInput = {
      title,
      prizes,
      startsAt,
      endsAt,
      minTierId,
      optedInOnly,
      segmentId,
      ticketMode,
      pointsPerTicket,
      uniqueWinners,
      excludeLast: Number(exclude),
      branchId,
    };
    const rules = { ticket_mode: ticketMode, points_per_ticket: pointsPerTicket, starts_at: startsAt, ends_at: endsAt };
    const who = await conversation.external(() => whoText(deps.db, { min_tier_id: minTierId, opted_in_only: optedInOnly, segment_id: segmentId, exclude_last: input.excludeLast, branch_id: branchId }, ctx));
    const summary = t('lotteries.summary', {
      title: escapeHtml(title),
      period: periodText(rules, ctx, tz),
      how: howText(rules, ctx),
      prizes: prizesText(prizes, ctx),
      who,
      unique: t(uniqueWinners ? 'lotteries.rule_unique' : 'lotteries.rule_shared'),
      interpolation: { escapeValue: false },
    });
    const confirm = await pickButton(conversation, ctx, summary, [[[t('lotteries.create'), 'ok'], [t('till.cancel'), 'cancel']]]);
    if (confirm === 'cancel') return say(ctx, t('lotteries.cancelled'), { remove_keyboard: true });

    const created = await conversation.external(async () => {
      const outcome = await attempt(() => createLottery(deps.db, actor, input, deps.now(), (lottery) => announcementRef('lottery', lottery.id)));
      if (outcome.ok && outcome.value.campaignId !== null) deps.broadcaster.kick(outcome.value.campaignId);
      return outcome.ok ? { ok: true as const, id: outcome.value.lottery.id, commitment: outcome.value.lottery.commitment } : outcome;
    });
    if (!created.ok) return say(ctx, t(created.key, created.params), { remove_keyboard: true });
    await say(ctx, t('lotteries.created', { id: n(created.id), title, commitment: created.commitment }), { remove_keyboard: true });
  }

  return { create };
}
