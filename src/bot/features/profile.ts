import { ClubComposer } from '../composer.ts';
import { type Context as BaseContext } from 'grammy';
import { missingFields, PROFILE_FIELDS, type ProfileField } from '../../club/profile.ts';
import { loyaltySettings } from '../../club/rules.ts';
import type { Db } from '../../db/database.ts';
import { formatNumber } from '../../lib/format.ts';
import { escapeHtml } from '../../lib/html.ts';
import { formatDate } from '../../lib/jalali.ts';
import type { ClubDeps, Context, Speech } from '../context.ts';
import { PROFILE } from '../conversations/profile.ts';
import { loadMember } from '../../club/members.ts';
import { say } from '../ui.ts';

/** The profile screen: every field with its value and an edit button, and the reward still waiting. */
export async function profileScreen(deps: ClubDeps, db: Db, memberId: number, speech: Speech) {
  const { t, locale } = speech;
  const member = await loadMember(db, memberId);
  const missing = missingFields(member);
  const value = (f: ProfileField): string => {
    const v = member[f];
    if (v === null || v === '' || (Array.isArray(v) && v.length === 0)) return t('profile.empty');
    if (f === 'birth_date') return formatDate(v as string, locale, deps.config.timeZone);
    if (f === 'gender') return t(`signup.gender_${v as string}`);
    if (f === 'interests') return (v as string[]).map((i) => t(`profile.interest_${i}`)).join('، ');
    if (f === 'heard_from') return t(`profile.heard_${v as string}`);
    return escapeHtml(String(v));
  };
  const lines = PROFILE_FIELDS.map((f) => `${t(`profile.field_${f}`)}: ${value(f)}`);
  const settings = await loyaltySettings(db);
  const reminder =
    missing.length > 0 && !member.profile_completed_at && settings.events.profile_completion > 0
      ? ['', t('profile.reminder', { points: formatNumber(settings.events.profile_completion, locale), left: formatNumber(missing.length, locale) })]
      : [];
  const html = [t('profile.title'), '', ...lines, ...reminder].join('\n');
  const keyboard = {
    inline_keyboard: [
      ...PROFILE_FIELDS.reduce<{ text: string; callback_data: string }[][]>((rows, f, i) => {
        const button = { text: `✏️ ${t(`profile.field_${f}`)}`, callback_data: `pf:${f}` };
        if (i % 2 === 0) rows.push([button]);
        else rows[rows.length - 1]!.push(button);
        return rows;
      }, []),
      [{ text: t('menu.main'), callback_data: 'home' }],
    ],
  };
  return { html, keyboard };
}

export async function sendProfile(ctx: BaseContext & Speech & { deps: ClubDeps }, memberId: number) {
  const { html, keyboard } = await profileScreen(ctx.deps, ctx.deps.db, memberId, ctx);
  await say(ctx, html, keyboard);
}

export function profileFeature() {
  const composer = new ClubComposer<Context>();
  composer.chatType('private').command('profile', async (ctx) => {
    if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
    await sendProfile(ctx, ctx.member.id);
  });
  composer.callbackQuery(/^pf:(\w+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
    const field = ctx.match[1] as ProfileField;
    if (!(PROFILE_FIELDS as readonly string[]).includes(field)) return;
    if (field === 'birth_date' && ctx.member.birth_date) return say(ctx, ctx.t('errors.birthday_locked'));
    await ctx.conversation.enter(PROFILE, field);
  });
  return composer;
}
