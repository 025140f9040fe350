import { ClubComposer } from '../composer.ts';
import { BADGE_CODES, listBadges, parseStreakBonuses, streakSettings, updateBadge } from '../../club/badges.ts';
import { formatNumber } from '../../lib/format.ts';
import type { Context } from '../context.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { OWNERS, opens } from '../panel/open.ts';
import { parseWholeNumber } from '../../lib/amount.ts';

/** The owner's list of badges and streak bonuses: switched on and off with buttons, amounts by command. */
async function badgesScreen(ctx: Context): Promise<[string, { inline_keyboard: { text: string; callback_data: string }[][] }]> {
  const { t, locale, deps } = ctx;
  const n = (v: number) => formatNumber(v, locale);
  const badges = await listBadges(deps.db);
  const { bonuses } = await streakSettings.read(deps.db);
  const streak = Object.entries(bonuses).map(([weeks, points]) => `${n(Number(weeks))}: ${n(points)}`).join(locale === 'fa' ? '، ' : ', ');
  const lines = badges.map((b) => t(b.enabled ? 'badges.row_on' : 'badges.row_off', { name: `${t(`badges.name_${b.code}`)} (${b.code})`, points: n(b.points) }));
  const text = [t('badges.title'), '', ...lines, '', t('badges.streak_row', { bonuses: streak || t('badges.streak_none') }), '', t('badges.usage')].join('\n');
  const keyboard = { inline_keyboard: badges.map((b) => [{ text: `${b.enabled ? '✅' : '⏸'} ${t(`badges.name_${b.code}`)}`, callback_data: `bg:t:${b.code}` }]) };
  return [text, keyboard];
}

export function badgesFeature() {
  const composer = new ClubComposer<Context>();
  const owner = staffOnly('owner');

  opens(composer, 'badges', OWNERS, async (ctx) => {
    const [text, keyboard] = await badgesScreen(ctx);
    await say(ctx, text, keyboard);
  });

  composer.chatType('private').command('badges', owner, async (ctx) => {
    const [first, second] = ctx.match.trim().split(/\s+/, 2);
    const now = ctx.deps.now();
    if (first === 'streak') {
      const bonuses = parseStreakBonuses(ctx.match.trim().slice('streak'.length));
      if (!bonuses) return say(ctx, ctx.t('badges.streak_invalid'));
      await streakSettings.save(ctx.deps.db, { bonuses }, ctx.member!.id, now);
    } else if (first && (BADGE_CODES as readonly string[]).includes(first) && second !== undefined) {
      await updateBadge(ctx.deps.db, ctx.member!.id, first, { points: parseWholeNumber(second) ?? NaN }, now);
    } else if (first) {
      return say(ctx, ctx.t('errors.badge_unknown'));
    }
    const [text, keyboard] = await badgesScreen(ctx);
    await say(ctx, first ? `${ctx.t('badges.saved')}\n\n${text}` : text, keyboard);
  });

  composer.callbackQuery(/^bg:t:([a-z_]+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (ctx.role !== 'owner') return say(ctx, ctx.t('errors.not_staff'));
    const badge = (await listBadges(ctx.deps.db)).find((b) => b.code === ctx.match[1]);
    if (!badge) return;
    await updateBadge(ctx.deps.db, ctx.member!.id, badge.code, { enabled: !badge.enabled }, ctx.deps.now());
    const [text, keyboard] = await badgesScreen(ctx);
    await showScreen(ctx, text, keyboard);
  });

  return composer;
}
