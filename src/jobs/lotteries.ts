import type { ClubDeps, Speech } from '../bot/context.ts';
import { escapeHtml } from '../bot/i18n.ts';
import { howText, periodText, prizesText, winnersText } from '../bot/lottery-text.ts';
import { claimWinnerNotices, drawLottery, dueLotteries, type DrawResult, type LotteryProof } from '../club/lotteries.ts';
import type { Lottery } from '../db/schema.ts';
import { formatNumber } from '../lib/format.ts';

/**
 * Campaign texts are sent as plain text in one language (the club's default), like a manager's
 * broadcast: values are not HTML-escaped here.
 */
function plainLang(deps: ClubDeps): Pick<Speech, 't' | 'locale'> {
  const locale = deps.config.defaultLocale;
  const t = deps.i18n.getFixedT(locale);
  const plain = ((key: string, options?: Record<string, unknown>) => t(key, { ...options, interpolation: { escapeValue: false } })) as Speech['t'];
  return { t: plain, locale };
}

/** The announcement at creation: the rules and the commitment to the seed. */
export function lotteryAnnouncement(deps: ClubDeps, lottery: Lottery): string {
  const lang = plainLang(deps);
  return lang.t('lotteries.announce', {
    title: lottery.title,
    id: formatNumber(lottery.id, lang.locale),
    period: periodText(lottery, lang, deps.config.timeZone),
    how: howText(lottery, lang),
    prizes: prizesText(lottery.prizes, lang),
    commitment: lottery.commitment,
  });
}

/** The result: winners by member number, the list digest, the seed and the commitment it opens. */
export function resultAnnouncement(deps: ClubDeps, lottery: Lottery, proof: LotteryProof): string {
  const lang = plainLang(deps);
  return lang.t('lotteries.result', {
    title: lottery.title,
    id: formatNumber(lottery.id, lang.locale),
    winners: winnersText(proof.prizes, proof.winners, lang),
    digest: proof.list_digest,
    seed: proof.seed,
    commitment: proof.commitment,
  });
}

/** Draws one lottery (once, however often it is called), sends the result campaign and tells the winners. */
export async function runDraw(deps: ClubDeps, lotteryId: number): Promise<DrawResult | null> {
  const env = {
    now: deps.now(),
    timeZone: deps.config.timeZone,
    defaults: { tierWindowDays: deps.config.tierWindowDays, validity: { mode: 'days' as const, days: deps.config.pointsValidityDays } },
  };
  const result = await drawLottery(deps.db, lotteryId, env, (lottery, proof) => resultAnnouncement(deps, lottery, proof));
  if (result?.campaignId) deps.broadcaster.kick(result.campaignId);
  await notifyWinners(deps);
  return result;
}

/** Every minute: lotteries whose period has ended are drawn, and winners not yet told are told. */
export async function drawDueLotteries(deps: ClubDeps): Promise<void> {
  for (const id of await dueLotteries(deps.db, deps.now())) await runDraw(deps, id);
  await notifyWinners(deps);
}

/** "You won", with how to claim the prize. Each winner is claimed before being told (at most once). */
export async function notifyWinners(deps: ClubDeps): Promise<void> {
  for (;;) {
    const notices = await claimWinnerNotices(deps.db, deps.now());
    if (notices.length === 0) return;
    for (const n of notices) {
      await deps.notifier.notify(n.member_id, ({ t, locale }) => {
        const claim = n.prize.points
          ? t('lotteries.claim_points', { points: formatNumber(n.prize.points, locale) })
          : n.voucher_code
            ? t('lotteries.claim_voucher', { code: n.voucher_code })
            : t('lotteries.claim_shop');
        // The claim is HTML already; the titles are escaped here.
        return { html: t('lotteries.won', { title: escapeHtml(n.title), prize: escapeHtml(n.prize.title), claim, interpolation: { escapeValue: false } }) };
      });
    }
  }
}
