import { ClubComposer } from '../composer.ts';
import { type Context as BaseContext } from 'grammy';
import { clubProfile } from '../../club/identity.ts';
import { acceptStaffInvite } from '../../club/invites.ts';
import { ClubError } from '../../club/errors.ts';
import { listBranches } from '../../club/staff.ts';
import { loyaltySettings, saveLoyaltySettings } from '../../club/rules.ts';
import type { Context, Speech } from '../context.ts';
import { CLUB_SETTING, type ClubField } from '../conversations/club-settings.ts';
import { SETUP } from '../conversations/setup.ts';
import { say, showScreen } from '../ui.ts';
import type { ClubDeps } from '../context.ts';

const FIELDS = ['name', 'phone', 'hours', 'instagram', 'website'] as const;

/** The club settings screen: the profile, each branch's address, the logo and the money unit. */
export async function showClubSettings(ctx: BaseContext & Speech, deps: ClubDeps) {
  const { t } = ctx;
  const [profile, branches, settings] = await Promise.all([clubProfile(deps.db), listBranches(deps.db), loyaltySettings(deps.db)]);
  const none = t('club_settings.none');
  const lines = [
    t('club_settings.title'),
    '',
    ...FIELDS.map((f) => t(`club_settings.line_${f}`, { value: profile[f] ? profile[f] : none })),
    t('club_settings.line_logo', { value: profile.logo[ctx.adapter.platform] ? t('club_settings.logo_set') : none }),
    t('club_settings.line_unit', { value: t(`setup.unit_${settings.moneyUnit}`) }),
    ...branches.filter((b) => b.active).map((b) => t('club_settings.line_address', { branch: b.name, value: b.address ? b.address : none })),
  ];
  const buttons = [
    ...FIELDS.map((f) => ({ text: t(`club_settings.edit_${f}`), callback_data: `cs:e:${f}` })),
    { text: t('club_settings.edit_logo'), callback_data: 'cs:e:logo' },
    { text: t('club_settings.toggle_unit', { unit: t(`setup.unit_${settings.moneyUnit === 'toman' ? 'rial' : 'toman'}`) }), callback_data: 'cs:unit' },
    ...branches.filter((b) => b.active).map((b) => ({ text: t('club_settings.edit_address', { branch: b.name }), callback_data: `cs:e:address:${b.id}` })),
  ];
  const rows = [];
  for (let i = 0; i < buttons.length; i += 2) rows.push(buttons.slice(i, i + 2));
  rows.push([{ text: t('club_settings.run_setup'), callback_data: 'open:setup' }], [{ text: t('menu.main'), callback_data: 'home' }]);
  await showScreen(ctx, lines.join('\n'), { inline_keyboard: rows });
}

/**
 * The first-run setup (`open:setup`, /setup), the club settings (`open:settings`) and staff invite
 * links opened by a member who already belongs (newcomers accept theirs at the end of signup).
 */
export function setupFeature() {
  const composer = new ClubComposer<Context>();
  const owners = async (ctx: Context, next: () => Promise<void>) => {
    if (ctx.role === 'owner') return next();
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('errors.owner_only'), show_alert: true });
    else await say(ctx, ctx.t('errors.owner_only'));
  };

  composer.callbackQuery('open:setup', owners, async (ctx) => {
    await ctx.answerCallbackQuery();
    await ctx.conversation.enter(SETUP);
  });
  composer.chatType('private').command('setup', owners, (ctx) => ctx.conversation.enter(SETUP));

  composer.callbackQuery('open:settings', owners, async (ctx) => {
    await ctx.answerCallbackQuery();
    await showClubSettings(ctx, ctx.deps);
  });
  composer.callbackQuery(/^cs:e:(name|phone|hours|instagram|website|logo|address:\d+)$/, owners, async (ctx) => {
    await ctx.answerCallbackQuery();
    await ctx.conversation.enter(CLUB_SETTING, ctx.match[1] as ClubField);
  });
  composer.callbackQuery('cs:unit', owners, async (ctx) => {
    await ctx.answerCallbackQuery();
    const current = (await loyaltySettings(ctx.deps.db)).moneyUnit;
    await saveLoyaltySettings(ctx.deps.db, { moneyUnit: current === 'toman' ? 'rial' : 'toman' }, ctx.member!.id, ctx.deps.now());
    await showClubSettings(ctx, ctx.deps);
  });

  return composer;
}

/**
 * A member opens a staff invitation: they become staff, or learn why not. Returns what to tell
 * them (an i18n key and its values) so a conversation can say it in the language it speaks.
 */
export async function acceptInvite(deps: ClubDeps, token: string, memberId: number): Promise<{ key: string; role?: string; branch?: string | null }> {
  try {
    const accepted = await acceptStaffInvite(deps.db, token, memberId, deps.now());
    // The inviter's notice was queued with the change.
    deps.notices.kick();
    return { key: 'staff_invite.accepted', role: accepted.role, branch: accepted.branchName };
  } catch (error) {
    if (error instanceof ClubError) return { key: error.i18nKey };
    throw error;
  }
}

export function inviteText(t: Speech['t'], outcome: Awaited<ReturnType<typeof acceptInvite>>) {
  return outcome.role ? t(outcome.key, { role: t(`roles.${outcome.role}`), branch: outcome.branch ?? t('staff.all_branches') }) : t(outcome.key);
}
