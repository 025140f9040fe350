import type { Locale, Member, Tier } from '../db/schema.ts';
import { tierOf, tierProgress } from '../club/tiers.ts';
import { formatNumber, formatRials, progressBar } from '../lib/format.ts';
import { maskPhone } from '../lib/phone.ts';
import { formatValidUntil } from '../lib/jalali.ts';
import { activeWelcomeVoucher } from '../club/referrals.ts';
import { memberBadges } from '../club/badges.ts';
import type { ClubDeps, Speech } from './context.ts';
import { pointsWorthLines } from './money-words.ts';

export function tierName(tier: Tier, locale: Locale) {
  return locale === 'fa' ? tier.name_fa : tier.name_en;
}

export function formatTime(at: Date, locale: Locale, timeZone: string) {
  return new Intl.DateTimeFormat(locale === 'fa' ? 'fa-IR' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone }).format(at);
}

export function memberNumber(member: Pick<Member, 'id'>, locale: Locale) {
  return locale === 'fa' ? formatNumber(member.id, 'fa').replace(/٬/g, '') : String(member.id);
}

/**
 * The main menu's text: who you are and where you stand. `known`: the member's tier when the update
 * already read it with them (see takeUpdates); else it is read.
 */
export async function homeText(deps: ClubDeps, member: Member, speech: Speech, known?: Tier): Promise<string> {
  const { t, locale } = speech;
  const tier = known?.id === member.tier_id ? known : await tierOf(deps.db, member);
  return t('home.body', {
    name: member.first_name,
    points: formatNumber(member.points_balance, locale),
    tier: tierName(tier, locale),
  });
}

export async function pointsText(deps: ClubDeps, member: Member, speech: Speech): Promise<string> {
  const { t, locale } = speech;
  // The screen's reads go out together: one wave of round trips on a pool, not three in a row.
  const [progress, worth, badges] = await Promise.all([
    tierProgress(deps.db, member, deps.now(), deps.config.tierWindowDays),
    pointsWorthLines(deps, speech, member.points_balance),
    memberBadges(deps.db, member.id),
  ]);
  const lines = [
    t('points.title'),
    '',
    t('points.balance', { points: formatNumber(member.points_balance, locale) }),
    t('points.credit', { credit: formatRials(member.credit_balance, locale) }),
    t('points.tier', { tier: tierName(progress.tier, locale) }),
    '',
    t('points.earned', { earned: formatNumber(progress.earned, locale), days: formatNumber(deps.config.tierWindowDays, locale) }),
  ];
  if (progress.next) {
    const bar = progressBar(progress.earned - progress.tier.threshold, progress.next.threshold - progress.tier.threshold);
    lines.push(bar, t('points.to_next', { points: formatNumber(progress.toNext, locale), tier: tierName(progress.next, locale) }));
  } else {
    lines.push(progressBar(1, 1), t('points.top_tier'));
  }
  lines.push('', ...worth);
  const perks = locale === 'fa' ? progress.tier.perks_fa : progress.tier.perks_en;
  if (perks) lines.push('', t('points.perks', { perks }));
  if (badges.length) lines.push('', t('badges.line', { badges: badges.map((code) => t(`badges.name_${code}`)).join(locale === 'fa' ? '، ' : ', ') }));
  return lines.join('\n');
}


/** What the cashier sees of a member at the till, with the till's buttons. */
export async function staffView(deps: ClubDeps, member: Member, speech: Speech) {
  const { t, locale } = speech;
  const tier = await tierOf(deps.db, member);
  const html = t('card.staff_view', {
    name: [member.first_name, member.last_name].filter(Boolean).join(' '),
    number: memberNumber(member, locale),
    phone: maskPhone(member.phone),
    tier: tierName(tier, locale),
    discount: formatNumber(Number(tier.discount_percent), locale),
    points: formatNumber(member.points_balance, locale),
    credit: formatRials(member.credit_balance, locale),
  });
  const voucher = await activeWelcomeVoucher(deps.db, member.id, deps.now());
  const voucherLine = voucher
    ? `\n${t('till.welcome_voucher', { percent: formatNumber(voucher.percent, locale), until: formatValidUntil(voucher.expires_at, locale, deps.config.timeZone) })}`
    : '';
  const keyboard = {
    inline_keyboard: [
      [{ text: t('till.record_purchase'), callback_data: `till:p:${member.id}` }],
      [
        { text: t('till.spend_points'), callback_data: `till:s:${member.id}` },
        { text: t('till.use_credit'), callback_data: `till:c:${member.id}` },
      ],
      [
        { text: t('till.reward_code'), callback_data: `till:r:${member.id}` },
        { text: t('till.voucher'), callback_data: `till:v:${member.id}` },
      ],
      [{ text: t('history.staff_button'), callback_data: `hist:s:${member.id}` }],
    ],
  };
  const worth = (await pointsWorthLines(deps, speech, member.points_balance)).map((l) => `\n${l}`).join('');
  return { html: html + voucherLine + worth, keyboard };
}
