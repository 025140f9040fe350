import { ClubComposer } from '../composer.ts';
import type { InlineKeyboardButton } from 'grammy/types';
import { eventAmounts, EVENT_AMOUNTS } from '../../club/event-amounts.ts';
import { listAllRewards, updateReward } from '../../club/rewards.ts';
import { listEarningRules, loyaltySettings, removeBranchRule } from '../../club/rules.ts';
import { listBranches, listStaff, removeStaff, updateBranch } from '../../club/staff.ts';
import { listTiers, TIER_FIELDS } from '../../club/tiers.ts';
import type { Reward } from '../../db/schema.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDate } from '../../lib/jalali.ts';
import { maskPhone } from '../../lib/phone.ts';
import { ClubError } from '../../club/errors.ts';
import type { Context } from '../context.ts';
import { say, showScreen } from '../ui.ts';
import { PANEL_EDIT, type EditTarget } from './conversations.ts';
import { OWNERS, opens } from './open.ts';

type Rows = InlineKeyboardButton[][];
const button = (text: string, data: string): InlineKeyboardButton => ({ text, callback_data: data });
const back = (ctx: Context, data = 'panel'): InlineKeyboardButton[] => [button(ctx.t('panel.back'), data)];

/** Runs an owner's action; a refusal is told in the owner's language. */
async function answering(ctx: Context, run: () => Promise<unknown>) {
  try {
    await run();
  } catch (error) {
    if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, error.params));
    throw error;
  }
}

const edit = (ctx: Context, target: EditTarget, id: number, field: string) => ctx.conversation.enter(PANEL_EDIT, target, id, field);

/**
 * The owner's management screens: rewards, branches, earning rules, tiers, staff and event points.
 * Buttons carry ids only (`pm:<what>:<id>[:<field>]`); typed values go through PANEL_EDIT.
 */
export function manageFeature() {
  const composer = new ClubComposer<Context>();

  opens(composer, 'rewards', OWNERS, showRewards);
  opens(composer, 'branches', OWNERS, showBranches);
  opens(composer, 'rules', OWNERS, showRules);
  opens(composer, 'tiers', OWNERS, showTiers);
  opens(composer, 'staff', OWNERS, showStaff);
  opens(composer, 'events', OWNERS, showEvents);

  // Every pm: press is an owner's; the role is checked on each press, not when the screen was drawn.
  const owner = composer.filter((ctx) => ctx.callbackQuery?.data?.startsWith('pm:') === true);
  owner.use(async (ctx, next) => {
    if (ctx.role === 'owner') {
      await ctx.answerCallbackQuery();
      return next();
    }
    await ctx.answerCallbackQuery({ text: ctx.t(ctx.role ? 'errors.owner_only' : 'errors.not_staff'), show_alert: true });
  });

  owner.callbackQuery(/^pm:rw:(\d+)$/, (ctx) => showReward(ctx, Number(ctx.match[1])));
  owner.callbackQuery(/^pm:rwe:(\d+):(cost|stock|title_fa|title_en|from|to)$/, (ctx) => edit(ctx, 'reward', Number(ctx.match[1]), ctx.match[2]!));
  owner.callbackQuery(/^pm:rwa:(\d+):([01])$/, (ctx) =>
    answering(ctx, async () => {
      await updateReward(ctx.deps.db, ctx.member!.id, Number(ctx.match[1]), { active: ctx.match[2] === '1' }, ctx.deps.now());
      await showReward(ctx, Number(ctx.match[1]));
    }),
  );
  owner.callbackQuery('pm:rwn', (ctx) => edit(ctx, 'reward_new', 0, 'new'));
  // The reward's branch (0: every branch), chosen by buttons on its screen.
  owner.callbackQuery(/^pm:rwb:(\d+):(\d+)$/, (ctx) =>
    answering(ctx, async () => {
      await updateReward(ctx.deps.db, ctx.member!.id, Number(ctx.match[1]), { branch_id: Number(ctx.match[2]) || null }, ctx.deps.now());
      await showReward(ctx, Number(ctx.match[1]));
    }),
  );

  owner.callbackQuery(/^pm:br:(\d+)$/, (ctx) => showBranch(ctx, Number(ctx.match[1])));
  owner.callbackQuery(/^pm:bre:(\d+):(name|address)$/, (ctx) => edit(ctx, 'branch', Number(ctx.match[1]), ctx.match[2]!));
  owner.callbackQuery(/^pm:bra:(\d+):([01])$/, (ctx) =>
    answering(ctx, async () => {
      await updateBranch(ctx.deps.db, ctx.member!.id, Number(ctx.match[1]), { active: ctx.match[2] === '1' }, ctx.deps.now());
      await showBranch(ctx, Number(ctx.match[1]));
    }),
  );
  owner.callbackQuery('pm:brn', (ctx) => edit(ctx, 'branch_new', 0, 'name'));

  owner.callbackQuery(/^pm:ru:(\d+)$/, (ctx) => showRule(ctx, Number(ctx.match[1])));
  owner.callbackQuery(/^pm:rue:(\d+):(spend|min|visit|cap|from|to)$/, (ctx) => edit(ctx, 'rule', Number(ctx.match[1]), ctx.match[2]!));
  owner.callbackQuery(/^pm:rux:(\d+)$/, async (ctx) => {
    await removeBranchRule(ctx.deps.db, ctx.member!.id, Number(ctx.match[1]), ctx.deps.now());
    await showRules(ctx);
  });

  owner.callbackQuery(/^pm:ti:(\d+)$/, (ctx) => showTier(ctx, Number(ctx.match[1])));
  owner.callbackQuery(/^pm:tie:(\d+):([a-z_]+)$/, (ctx) => edit(ctx, 'tier', Number(ctx.match[1]), ctx.match[2]!));

  owner.callbackQuery(/^pm:st:(\d+)$/, (ctx) => showStaffMember(ctx, Number(ctx.match[1])));
  owner.callbackQuery(/^pm:str:(\d+)$/, (ctx) => edit(ctx, 'role', Number(ctx.match[1]), 'role'));
  owner.callbackQuery(/^pm:stx:(\d+)$/, async (ctx) => {
    const id = Number(ctx.match[1]);
    await showScreen(ctx, ctx.t('panel.staff_remove_confirm'), { inline_keyboard: [[button(ctx.t('till.confirm'), `pm:stxy:${id}`), button(ctx.t('till.cancel'), `pm:st:${id}`)]] });
  });
  owner.callbackQuery(/^pm:stxy:(\d+)$/, (ctx) =>
    answering(ctx, async () => {
      const role = await removeStaff(ctx.deps.db, { memberId: ctx.member!.id, role: ctx.role! }, Number(ctx.match[1]), ctx.deps.now());
      await say(ctx, ctx.t('panel.staff_removed', { role: ctx.t(`roles.${role}`) }));
      await showStaff(ctx);
    }),
  );
  owner.callbackQuery('pm:stn', (ctx) => edit(ctx, 'staff_new', 0, 'new'));

  owner.callbackQuery(/^pm:ev:([a-z_]+)$/, (ctx) => edit(ctx, 'event', 0, ctx.match[1]!));

  return composer;
}

const dateText = (ctx: Context, d: Date | null) => (d ? formatDate(d, ctx.locale, ctx.deps.config.timeZone) : '—');
const money = (ctx: Context, rials: number) => ctx.t('panel.money', { toman: formatNumber(rials / 10, ctx.locale), rials: formatNumber(rials, ctx.locale) });

async function showRewards(ctx: Context) {
  const rewards = await listAllRewards(ctx.deps.db);
  const rows: Rows = rewards.map((r) => [button(`${r.active ? '' : '🚫 '}${rewardTitle(ctx, r)} · ${formatNumber(r.points_cost, ctx.locale)}`, `pm:rw:${r.id}`)]);
  rows.push([button(ctx.t('panel.reward_new'), 'pm:rwn')], back(ctx));
  await showScreen(ctx, rewards.length ? ctx.t('panel.rewards_title') : ctx.t('panel.rewards_none'), { inline_keyboard: rows });
}

const rewardTitle = (ctx: Context, r: Reward) => (ctx.locale === 'en' ? r.title_en : r.title_fa);

async function showReward(ctx: Context, id: number) {
  const r = (await listAllRewards(ctx.deps.db)).find((x) => x.id === id);
  if (!r) return say(ctx, ctx.t('errors.reward_unavailable'));
  const n = (v: number) => formatNumber(v, ctx.locale);
  const text = ctx.t('panel.reward_detail', {
    title_fa: r.title_fa,
    title_en: r.title_en,
    points: n(r.points_cost),
    stock: r.stock === null ? ctx.t('panel.unlimited') : n(r.stock),
    from: dateText(ctx, r.active_from),
    to: dateText(ctx, r.active_to),
    status: ctx.t(r.active ? 'panel.status_active' : 'panel.status_retired'),
  });
  const e = (field: string) => button(ctx.t(`panel.edit_${field}`), `pm:rwe:${id}:${field}`);
  const branches = (await listBranches(ctx.deps.db)).filter((b) => b.active || b.id === r.branch_id);
  const mark = (on: boolean, label: string) => `${on ? '✅ ' : ''}${label}`;
  const branchRows: Rows =
    branches.length > 1 || r.branch_id !== null
      ? [[button(mark(r.branch_id === null, ctx.t('branch_offers.all_branches')), `pm:rwb:${id}:0`), ...branches.map((b) => button(mark(r.branch_id === b.id, b.name), `pm:rwb:${id}:${b.id}`))]]
      : [];
  const where = r.branch_id === null ? '' : `\n${ctx.t('branch_offers.only_at', { branch: branches.find((b) => b.id === r.branch_id)?.name ?? '' })}`;
  await showScreen(ctx, text + where, {
    inline_keyboard: [
      ...branchRows,
      [e('cost'), e('stock')],
      [e('title_fa'), e('title_en')],
      [e('from'), e('to')],
      [button(ctx.t(r.active ? 'panel.retire' : 'panel.reactivate'), `pm:rwa:${id}:${r.active ? 0 : 1}`)],
      back(ctx, 'open:rewards'),
    ],
  });
}

async function showBranches(ctx: Context) {
  const branches = await listBranches(ctx.deps.db);
  const rows: Rows = branches.map((b) => [button(`${b.active ? '' : '🚫 '}${b.name}`, `pm:br:${b.id}`)]);
  rows.push([button(ctx.t('panel.branch_new'), 'pm:brn')], back(ctx));
  await showScreen(ctx, ctx.t('panel.branches_title'), { inline_keyboard: rows });
}

async function showBranch(ctx: Context, id: number) {
  const b = (await listBranches(ctx.deps.db)).find((x) => x.id === id);
  if (!b) return say(ctx, ctx.t('errors.branch_not_found'));
  const text = ctx.t('panel.branch_detail', {
    id: formatNumber(b.id, ctx.locale),
    name: b.name,
    address: b.address ?? '—',
    status: ctx.t(b.active ? 'panel.status_active' : 'panel.status_inactive'),
  });
  await showScreen(ctx, text, {
    inline_keyboard: [
      [button(ctx.t('panel.edit_name'), `pm:bre:${id}:name`), button(ctx.t('panel.edit_address'), `pm:bre:${id}:address`)],
      [button(ctx.t(b.active ? 'panel.deactivate' : 'panel.activate'), `pm:bra:${id}:${b.active ? 0 : 1}`)],
      back(ctx, 'open:branches'),
    ],
  });
}

async function showRules(ctx: Context) {
  const rules = await listEarningRules(ctx.deps.db);
  const branches = await listBranches(ctx.deps.db);
  const settings = await loyaltySettings(ctx.deps.db);
  const lines = rules.map((r) => ruleLine(ctx, r));
  const rows: Rows = [[button(ctx.t('panel.rule_club'), 'pm:ru:0')]];
  for (const b of branches.filter((x) => x.active)) rows.push([button(ctx.t('panel.rule_branch', { branch: b.name }), `pm:ru:${b.id}`)]);
  rows.push(back(ctx));
  const credit = money(ctx, settings.rialsPerPointCredit);
  await showScreen(ctx, [ctx.t('panel.rules_title'), '', ...lines, '', ctx.t('panel.rules_credit', { credit })].join('\n'), { inline_keyboard: rows });
}

type RuleRow = Awaited<ReturnType<typeof listEarningRules>>[number];
function ruleLine(ctx: Context, r: RuleRow) {
  const dates = r.active_from || r.active_to ? ctx.t('panel.rule_dates', { from: dateText(ctx, r.active_from), to: dateText(ctx, r.active_to) }) : '';
  return (
    ctx.t('panel.rule_row', {
      scope: r.branch_name ?? ctx.t('admin.rule_club'),
      spend: money(ctx, r.rials_per_point),
      min: money(ctx, r.min_purchase),
      visit: formatNumber(r.visit_points, ctx.locale),
      cap: formatNumber(r.visit_daily_cap, ctx.locale),
    }) + dates
  );
}

async function showRule(ctx: Context, scope: number) {
  const rules = await listEarningRules(ctx.deps.db);
  const own = rules.find((r) => (scope === 0 ? r.branch_id === null : r.branch_id === scope));
  const text = own ? ruleLine(ctx, own) : ctx.t('panel.rule_none');
  const e = (field: string) => button(ctx.t(`panel.edit_${field}`), `pm:rue:${scope}:${field}`);
  const rows: Rows = [
    [e('spend'), e('min')],
    [e('visit'), e('cap')],
  ];
  // Only a branch's rule has dates (a promotion); the club's rule always applies when none does.
  if (scope !== 0 && own) rows.push([e('from'), e('to')], [button(ctx.t('panel.rule_remove'), `pm:rux:${scope}`)]);
  rows.push(back(ctx, 'open:rules'));
  await showScreen(ctx, text, { inline_keyboard: rows });
}

async function showTiers(ctx: Context) {
  const tiers = await listTiers(ctx.deps.db);
  const rows: Rows = tiers.map((t) => [button(`${ctx.locale === 'en' ? t.name_en : t.name_fa} · ${formatNumber(t.threshold, ctx.locale)}`, `pm:ti:${t.id}`)]);
  rows.push(back(ctx));
  await showScreen(ctx, ctx.t('panel.tiers_title'), { inline_keyboard: rows });
}

async function showTier(ctx: Context, id: number) {
  const t = (await listTiers(ctx.deps.db)).find((x) => x.id === id);
  if (!t) return say(ctx, ctx.t('errors.tier_not_found'));
  const text = ctx.t('admin.tier_row', {
    code: t.code,
    name: `${t.name_fa} / ${t.name_en}`,
    threshold: formatNumber(t.threshold, ctx.locale),
    discount: formatNumber(Number(t.discount_percent), ctx.locale),
    multiplier: formatNumber(Number(t.earn_multiplier), ctx.locale),
    perks: ctx.locale === 'fa' ? t.perks_fa : t.perks_en,
  });
  const rows: Rows = [];
  for (let i = 0; i < TIER_FIELDS.length; i += 2) rows.push(TIER_FIELDS.slice(i, i + 2).map((f) => button(ctx.t(`panel.tier_${f}`), `pm:tie:${id}:${f}`)));
  rows.push(back(ctx, 'open:tiers'));
  await showScreen(ctx, text, { inline_keyboard: rows });
}

async function showStaff(ctx: Context) {
  const staff = await listStaff(ctx.deps.db);
  const line = (s: (typeof staff)[number]) =>
    ctx.t('staff.row', { name: [s.firstName, s.lastName].filter(Boolean).join(' '), phone: maskPhone(s.phone), role: ctx.t(`roles.${s.role}`), branch: s.branchName ?? ctx.t('staff.all_branches') });
  const rows: Rows = staff.map((s) => [button(`${s.firstName} · ${ctx.t(`roles.${s.role}`)}`, `pm:st:${s.memberId}`)]);
  rows.push([button(ctx.t('panel.staff_new'), 'pm:stn')], back(ctx));
  await showScreen(ctx, [ctx.t('staff.title'), '', ...staff.map(line)].join('\n'), { inline_keyboard: rows });
}

async function showStaffMember(ctx: Context, memberId: number) {
  const s = (await listStaff(ctx.deps.db)).find((x) => x.memberId === memberId);
  if (!s) return say(ctx, ctx.t('errors.staff_not_found'));
  const text = ctx.t('staff.row', { name: [s.firstName, s.lastName].filter(Boolean).join(' '), phone: maskPhone(s.phone), role: ctx.t(`roles.${s.role}`), branch: s.branchName ?? ctx.t('staff.all_branches') });
  await showScreen(ctx, text, {
    inline_keyboard: [[button(ctx.t('panel.change_role'), `pm:str:${memberId}`), button(ctx.t('panel.remove_staff'), `pm:stx:${memberId}`)], back(ctx, 'open:staff')],
  });
}

async function showEvents(ctx: Context) {
  const amounts = await eventAmounts(ctx.deps.db);
  const lines = EVENT_AMOUNTS.map((e) => ctx.t('panel.event_row', { event: ctx.t(`panel.event_${e}`), points: formatNumber(amounts[e], ctx.locale) }));
  const rows: Rows = EVENT_AMOUNTS.map((e) => [button(ctx.t(`panel.event_${e}`), `pm:ev:${e}`)]);
  rows.push(back(ctx));
  await showScreen(ctx, [ctx.t('panel.events_title'), '', ...lines].join('\n'), { inline_keyboard: rows });
}
