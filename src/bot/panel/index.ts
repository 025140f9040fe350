import { ClubComposer } from '../composer.ts';
import type { InlineKeyboardButton } from 'grammy/types';
import { findMemberById } from '../../club/members.ts';
import { staffAtTill } from '../../club/staff.ts';
import { tillSummary } from '../../club/till-summary.ts';
import type { StaffRole } from '../../db/schema.ts';
import { formatMoney, formatNumber } from '../../lib/format.ts';
import type { Context } from '../context.ts';
import { REWARD_CODE } from '../conversations/till.ts';
import { ADJUST, VOID } from '../conversations/admin.ts';
import { showStaffView } from '../features/till.ts';
import { say, showScreen } from '../ui.ts';
import { CASHIERS, MANAGERS, opens } from './open.ts';
import { PANEL_FIND } from './conversations.ts';
import { staffHelp } from './help.ts';
import { manageFeature } from './manage.ts';

/**
 * What each role sees on the panel, in order, two to a row. A role sees its own buttons and those
 * of the roles below it. Each button is `open:<name>`; the feature that owns the name answers it
 * (and checks the role again).
 */
const CASHIER_BUTTONS = ['till', 'code', 'voucher', 'today'];
const MANAGER_BUTTONS = ['void', 'adjust', 'disputes', 'tickets', 'surveys', 'segments', 'campaigns', 'broadcast', 'vouchers', 'automations', 'reports', 'lotteries', 'quizzes', 'news', 'import', 'export'];
const OWNER_BUTTONS = ['staff', 'branches', 'rules', 'tiers', 'rewards', 'events', 'badges', 'audit', 'settings', 'setup'];

export function panelButtons(role: StaffRole): string[] {
  return [...CASHIER_BUTTONS, ...(role === 'cashier' ? [] : MANAGER_BUTTONS), ...(role === 'owner' ? OWNER_BUTTONS : []), 'help'];
}

export async function showPanel(ctx: Context) {
  if (!ctx.role) {
    await say(ctx, ctx.t('errors.not_staff'));
    return;
  }
  const names = panelButtons(ctx.role);
  const rows: InlineKeyboardButton[][] = [];
  for (let i = 0; i < names.length; i += 2) rows.push(names.slice(i, i + 2).map((n) => ({ text: ctx.t(`panel.btn_${n}`), callback_data: `open:${n}` })));
  rows.push([{ text: ctx.t('menu.main'), callback_data: 'home' }]);
  await showScreen(ctx, ctx.t('panel.title', { role: ctx.t(`roles.${ctx.role}`) }), { inline_keyboard: rows });
}

/** The staff panel: its screen, the till's entries, and the owner's management screens. */
export function panelFeature() {
  const composer = new ClubComposer<Context>();

  composer.chatType('private').command('panel', (ctx) => showPanel(ctx));
  composer.callbackQuery('panel', async (ctx) => {
    await ctx.answerCallbackQuery();
    await showPanel(ctx);
  });

  opens(composer, 'till', CASHIERS, (ctx) => ctx.conversation.enter(PANEL_FIND));
  opens(composer, 'code', CASHIERS, (ctx) => ctx.conversation.enter(REWARD_CODE));
  opens(composer, 'today', CASHIERS, showToday);
  opens(composer, 'void', MANAGERS, (ctx) => ctx.conversation.enter(VOID, null));
  opens(composer, 'adjust', MANAGERS, (ctx) => ctx.conversation.enter(ADJUST, null, null));
  opens(composer, 'help', CASHIERS, (ctx) => say(ctx, staffHelp(ctx, ctx.role!), { inline_keyboard: [[{ text: ctx.t('panel.back'), callback_data: 'panel' }]] }));

  // A member picked from the matches of a search: the till's view of them (staff only).
  composer.callbackQuery(/^tf:(\d+)$/, async (ctx) => {
    if (!ctx.role) return ctx.answerCallbackQuery({ text: ctx.t('errors.not_staff'), show_alert: true });
    await ctx.answerCallbackQuery();
    const member = await findMemberById(ctx.deps.db, Number(ctx.match[1]));
    if (!member) return say(ctx, ctx.t('errors.member_not_found'));
    await showStaffView(ctx, member);
  });

  composer.use(manageFeature());
  return composer;
}

/** Today's till at the staff member's branch: a cashier sees their own, a manager or owner the branch's. */
async function showToday(ctx: Context) {
  const { deps, t, locale } = ctx;
  const staff = await staffAtTill(deps.db, ctx.adapter.platform, ctx.from!.id);
  if (!staff) return say(ctx, t('errors.not_staff'));
  const own = staff.role === 'cashier';
  const s = await tillSummary(deps.db, staff.branchId, own ? staff.memberId : null, deps.now(), deps.config.timeZone);
  const n = (v: number) => formatNumber(v, locale);
  await say(
    ctx,
    t(own ? 'panel.today_own' : 'panel.today_branch', {
      branch: staff.branchName,
      purchases: n(s.purchases),
      revenue: formatMoney(s.revenueRials, locale),
      credit: formatMoney(s.creditUsedRials, locale),
      points: n(s.pointsIssued),
      voided: n(s.voided),
      rewards: n(s.rewardsHanded),
    }),
    { inline_keyboard: [[{ text: t('panel.back'), callback_data: 'panel' }]] },
  );
}
