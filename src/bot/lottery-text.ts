import type { Db } from '../db/database.ts';
import type { Lottery, LotteryPrize } from '../db/schema.ts';
import type { Winner } from '../club/lottery-proof.ts';
import { formatNumber } from '../lib/format.ts';
import { formatDate } from '../lib/jalali.ts';
import type { Speech } from './context.ts';
import { memberNumber, tierName } from './screens.ts';
import { branchById } from '../club/staff.ts';
import { tierById } from '../club/tiers.ts';
import { segmentName } from '../club/segments.ts';

/** How a lottery is described to people: one wording for the member screen, the manager and the announcements. */

type Lang = Pick<Speech, 't' | 'locale'>;

export function prizeText(p: LotteryPrize, { t, locale }: Lang): string {
  const count = formatNumber(p.count, locale);
  if (p.points) return t('lotteries.prize_points', { count, title: p.title, points: formatNumber(p.points, locale) });
  if (p.voucher_pool_id) return t('lotteries.prize_voucher', { count, title: p.title });
  return t('lotteries.prize_line', { count, title: p.title });
}

export function prizesText(prizes: LotteryPrize[], lang: Lang): string {
  return prizes.map((p) => `• ${prizeText(p, lang)}`).join('\n');
}

export function periodText(lottery: Pick<Lottery, 'starts_at' | 'ends_at'>, { t, locale }: Lang, tz: string): string {
  // ends_at is the midnight after the last day.
  return t('lotteries.period', { from: formatDate(lottery.starts_at, locale, tz), to: formatDate(new Date(lottery.ends_at.getTime() - 1), locale, tz) });
}

export function howText(lottery: Pick<Lottery, 'ticket_mode' | 'points_per_ticket'>, { t, locale }: Lang): string {
  const n = formatNumber(lottery.points_per_ticket, locale);
  if (lottery.ticket_mode === 'points') return t('lotteries.how_points', { n });
  if (lottery.ticket_mode === 'purchase') return t('lotteries.how_purchase');
  return t('lotteries.how_bought', { price: n });
}

export async function whoText(db: Db, lottery: Pick<Lottery, 'min_tier_id' | 'opted_in_only' | 'segment_id' | 'exclude_last'> & { branch_id?: number | null }, { t, locale }: Lang): Promise<string> {
  const parts: string[] = [];
  if (lottery.branch_id) {
    const branch = (await branchById(db, lottery.branch_id))!;
    parts.push(t('branch_offers.only_at', { branch: branch.name }));
  }
  if (lottery.min_tier_id !== null) {
    const tier = (await tierById(db, lottery.min_tier_id))!;
    parts.push(t('lotteries.who_tier', { tier: tierName(tier, locale) }));
  }
  if (lottery.opted_in_only) parts.push(t('lotteries.who_opted_in'));
  if (lottery.segment_id !== null) {
    parts.push(t('lotteries.who_segment', { segment: (await segmentName(db, lottery.segment_id)) ?? '' }));
  }
  if (lottery.exclude_last > 0) parts.push(t('lotteries.who_excluded', { n: formatNumber(lottery.exclude_last, locale) }));
  return parts.length ? parts.join(locale === 'fa' ? '، ' : ', ') : t('lotteries.who_everyone');
}

export function winnersText(prizes: { title: string }[], winners: Winner[], { t, locale }: Lang, max = 30): string {
  if (winners.length === 0) return t('lotteries.no_winners');
  const lines = winners.slice(0, max).map((w) => t('lotteries.winner_line', { prize: prizes[w.prize]?.title ?? '', number: memberNumber({ id: w.member }, locale) }));
  if (winners.length > max) lines.push(t('lotteries.result_more', { count: formatNumber(winners.length - max, locale) }));
  return lines.join('\n');
}

/** "۴٫۲٪" / "4.2%". */
export function percentText(x: number, locale: Lang['locale']): string {
  const value = Math.round(x * 1000) / 10;
  return locale === 'fa' ? `${formatNumber(value, 'fa')}٪` : `${formatNumber(value, 'en')}%`;
}
