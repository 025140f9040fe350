import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import { setEventAmount, EVENT_AMOUNTS, MAX_EVENT_POINTS, type EventAmount } from '../../club/event-amounts.ts';
import { searchMembers } from '../../club/members.ts';
import { createReward, updateReward, type RewardPatch } from '../../club/rewards.ts';
import { loyaltySettings, setEarningRule, setRuleDates, type RulePatch } from '../../club/rules.ts';
import { addStaff, changeStaffRole, createBranch, listBranches, staffAtTill, updateBranch } from '../../club/staff.ts';
import { TIER_FIELDS, updateTier, type TierField } from '../../club/tiers.ts';
import type { StaffRole } from '../../db/schema.ts';
import { parseMoney, parsePoints, parseWholeNumber } from '../../lib/amount.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDate, parseJalaliMoment } from '../../lib/jalali.ts';
import { normalizePhone } from '../../lib/phone.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { askText, attempt, pickButton } from '../conversations/ask.ts';
import { staffView } from '../screens.ts';
import { readStaffRole, tierFieldValue } from '../staff-words.ts';
import { say } from '../ui.ts';
import { OWNERS } from './open.ts';
import { tierById } from '../../club/tiers.ts';
import { findMemberById } from '../../club/members.ts';

export const PANEL_FIND = 'panel_find';
export const PANEL_EDIT = 'panel_edit';

type PanelConversation = Conversation<Context, ConversationContext>;
type Outcome = { ok: true; value: string } | { ok: false; key: string; params: Record<string, unknown> };

/** What one typed answer edits: `reward`, `branch`, `rule` (id 0: the club's), `tier`, `event`, `role`, and the new ones. */
export type EditTarget = 'reward' | 'reward_new' | 'branch' | 'branch_new' | 'rule' | 'tier' | 'event' | 'role' | 'staff_new';

/** Where "back" goes after an edit: the screen of the thing edited. */
export function backTo(target: EditTarget, id: number): string {
  switch (target) {
    case 'reward':
      return `pm:rw:${id}`;
    case 'branch':
      return `pm:br:${id}`;
    case 'rule':
      return `pm:ru:${id}`;
    case 'tier':
      return `pm:ti:${id}`;
    case 'role':
      return `pm:st:${id}`;
    case 'event':
      return 'open:events';
    case 'reward_new':
      return 'open:rewards';
    case 'branch_new':
      return 'open:branches';
    case 'staff_new':
      return 'open:staff';
  }
}

export function createPanelConversations(deps: ClubDeps) {
  const cancelled = { cancelledKey: 'panel.cancelled' };
  const staffOf = (ctx: ConversationContext, roles?: readonly StaffRole[]) => staffAtTill(deps.db, ctx.adapter.platform, ctx.from!.id, roles);

  /** Find a member by phone (any digits), member number, or part of their name; several matches are offered as buttons. */
  async function find(conversation: PanelConversation, ctx: ConversationContext) {
    const { t } = ctx;
    for (let prompt = t('panel.find_ask'); ; ) {
      const query = await askText(conversation, ctx, prompt, { ...cancelled, max: 100 });
      if (query === null) return;
      const found = await conversation.external(async () => {
        if (!(await staffOf(ctx))) return null;
        return (await searchMembers(deps.db, query, 6)).map((m) => ({ id: m.id, name: [m.first_name, m.last_name].filter(Boolean).join(' '), phone: m.phone }));
      });
      if (found === null) return say(ctx, t('errors.not_staff'), { remove_keyboard: true });
      if (found.length === 0) {
        prompt = t('panel.find_none');
        continue;
      }
      await say(ctx, t('panel.find_found', { count: formatNumber(found.length, ctx.locale) }), { remove_keyboard: true });
      if (found.length === 1) {
        const view = await conversation.external(async () => {
          const member = (await findMemberById(deps.db, found[0]!.id))!;
          return staffView(deps, member, ctx);
        });
        return say(ctx, view.html, view.keyboard);
      }
      return say(ctx, t('panel.find_pick'), {
        inline_keyboard: found.map((m) => [{ text: `${m.name} · …${m.phone.slice(-4)} · #${formatNumber(m.id, ctx.locale)}`, callback_data: `tf:${m.id}` }]),
      });
    }
  }

  /** One typed answer that changes one thing, checked, written through club/, then a button back to its screen. */
  async function edit(conversation: PanelConversation, ctx: ConversationContext, target: EditTarget, id: number, field: string) {
    const { t, locale } = ctx;
    const tz = deps.config.timeZone;
    const owner = await conversation.external(() => staffOf(ctx, OWNERS));
    if (!owner) return say(ctx, t('errors.owner_only'));
    const actor = owner.memberId;
    const unit = await conversation.external(async () => (await loyaltySettings(deps.db)).moneyUnit);
    const now = () => deps.now();
    const fail = (key: string, params: Record<string, unknown> = {}): Outcome => ({ ok: false, key, params });
    const done = async (run: () => Promise<unknown>, value: string): Promise<Outcome> => {
      const r = await attempt(run);
      return r.ok ? { ok: true, value } : r;
    };
    // Dates are Jalali (`۱۴۰۵/۱/۱`); the button clears the date.
    const dateOf = (raw: string): Date | null | undefined => (ctx.isLabel(raw, 'panel.no_date') ? null : parseJalaliMoment(raw, tz)?.at);
    const showDate = (d: Date | null) => (d ? formatDate(d, locale, tz) : t('panel.no_date'));
    const isDate = field === 'from' || field === 'to';
    const extra = isDate ? [t('panel.no_date')] : field === 'stock' ? [t('panel.unlimited')] : [];


    // New things take several answers; each is asked in turn (Cancel ends the conversation).
    if (target === 'reward_new' || target === 'staff_new') {
      const result = target === 'reward_new' ? await newReward() : await newStaff();
      if (result === null) return;
      return say(ctx, result.ok ? t('panel.saved', { value: result.value }) : t(result.key, result.params), {
        inline_keyboard: [[{ text: t('panel.back'), callback_data: backTo(target, id) }]],
      });
    }

    let prompt = t(`panel.ask_${target}_${field}`, { unit: t(`panel.unit_${unit}`) });
    let keyboard: Keyboard | undefined;
    if (target === 'role') {
      keyboard = new Keyboard().text(t('roles.cashier')).text(t('roles.manager')).row().text(t('till.cancel')).resized();
    }

    for (;;) {
      const raw = await askText(conversation, ctx, prompt, { ...cancelled, ...(keyboard ? { keyboard } : { extra }), max: 300 });
      if (raw === null) return;
      const outcome: Outcome = await apply(raw);
      if (!outcome.ok) {
        prompt = t(outcome.key, outcome.params);
        continue;
      }
      await say(ctx, t('panel.saved', { value: outcome.value }), { remove_keyboard: true });
      return say(ctx, t('panel.saved_next'), { inline_keyboard: [[{ text: t('panel.back'), callback_data: backTo(target, id) }]] });
    }

    async function apply(raw: string): Promise<Outcome> {
      switch (target) {
        case 'reward': {
          let patch: RewardPatch;
          if (field === 'cost') {
            const n = parsePoints(raw);
            if (n === null) return fail('panel.invalid_points');
            patch = { points_cost: n };
          } else if (field === 'stock') {
            const n = ctx.isLabel(raw, 'panel.unlimited') ? null : parseWholeNumber(raw, { max: 1_000_000 });
            if (n === null && !ctx.isLabel(raw, 'panel.unlimited')) return fail('panel.invalid_count');
            patch = { stock: n };
          } else if (field === 'title_fa' || field === 'title_en') patch = { [field]: raw };
          else {
            const d = dateOf(raw);
            if (d === undefined) return fail('panel.invalid_date');
            patch = field === 'from' ? { active_from: d } : { active_to: d };
          }
          const value = 'active_from' in patch ? showDate(patch.active_from!) : 'active_to' in patch ? showDate(patch.active_to!) : patch.stock === null ? t('panel.unlimited') : typeof (patch.stock ?? patch.points_cost) === 'number' ? formatNumber((patch.stock ?? patch.points_cost)!, locale) : raw;
          return conversation.external(() => done(() => updateReward(deps.db, actor, id, patch, now()), value));
        }
        case 'branch':
          return conversation.external(() => done(() => updateBranch(deps.db, actor, id, field === 'name' ? { name: raw } : { address: raw }, now()), raw));
        case 'branch_new':
          return conversation.external(() => done(() => createBranch(deps.db, actor, raw, now()), raw));
        case 'rule': {
          if (isDate) {
            const d = dateOf(raw);
            if (d === undefined) return fail('panel.invalid_date');
            return conversation.external(() => done(() => setRuleDates(deps.db, actor, id, field === 'from' ? { from: d } : { to: d }, now()), showDate(d)));
          }
          let patch: RulePatch;
          let value: string;
          if (field === 'spend' || field === 'min') {
            // Money in the club's unit, as at the till: `۱۰٬۰۰۰` at a Toman club is 100,000 Rials.
            const zero = field === 'min' && parseWholeNumber(raw) === 0;
            const money = zero ? { ok: true as const, value: 0 } : parseMoney(raw, { bare: unit, max: 10_000_000_000 });
            if (!money.ok) return fail('panel.invalid_money', { unit: t(`panel.unit_${unit}`) });
            patch = field === 'spend' ? { rials_per_point: money.value } : { min_purchase: money.value };
            value = t('panel.money', { toman: formatNumber(money.value / 10, locale), rials: formatNumber(money.value, locale) });
          } else {
            const n = parseWholeNumber(raw, { max: 1_000_000 });
            if (n === null) return fail('panel.invalid_count');
            patch = field === 'visit' ? { visit_points: n } : { visit_daily_cap: n };
            value = formatNumber(n, locale);
          }
          return conversation.external(() => done(() => setEarningRule(deps.db, actor, id === 0 ? null : id, patch, now()), value));
        }
        case 'tier': {
          if (!(TIER_FIELDS as readonly string[]).includes(field)) return fail('admin.tiers_usage');
          const value = tierFieldValue(field, raw);
          return conversation.external(async () => {
            const tier = await tierById(deps.db, id);
            if (!tier) return fail('errors.tier_not_found');
            return done(() => updateTier(deps.db, actor, tier.code, field as TierField, value, now()), raw);
          });
        }
        case 'event': {
          if (!(EVENT_AMOUNTS as readonly string[]).includes(field)) return fail('panel.invalid_points');
          const n = parseWholeNumber(raw, { max: MAX_EVENT_POINTS });
          if (n === null) return fail('panel.invalid_count');
          return conversation.external(() => done(() => setEventAmount(deps.db, actor, field as EventAmount, n, now()), formatNumber(n, locale)));
        }
        case 'role': {
          const role = readStaffRole(deps.i18n, raw);
          if (!role) return fail('panel.invalid_role');
          const branchId = role === 'cashier' ? await pickBranch() : null;
          return conversation.external(async () => {
            const me = await staffOf(ctx, OWNERS);
            if (!me) return fail('errors.owner_only');
            return done(() => changeStaffRole(deps.db, { memberId: me.memberId, role: me.role }, id, role, branchId, now()), t(`roles.${role}`));
          });
        }
        default:
          return fail('errors.generic');
      }
    }

    /** The branch a cashier works at: the only one, or one picked from buttons. */
    async function pickBranch(): Promise<number> {
      const branches = await conversation.external(async () => (await listBranches(deps.db)).filter((b) => b.active).map((b) => ({ id: b.id, name: b.name })));
      if (branches.length === 1) return branches[0]!.id;
      await say(ctx, t('panel.branch_for_cashier'), { remove_keyboard: true });
      return Number(await pickButton(conversation, ctx, t('panel.pick_branch'), branches.map((b) => [[b.name, String(b.id)]])));
    }

    async function newReward(): Promise<Outcome | null> {
      const titleFa = await askText(conversation, ctx, t('panel.ask_reward_title_fa'), { ...cancelled, max: 100 });
      if (titleFa === null) return null;
      const titleEn = await askText(conversation, ctx, t('panel.ask_reward_title_en'), { ...cancelled, max: 100, extra: [t('panel.same_title')] });
      if (titleEn === null) return null;
      let cost: number | null = null;
      for (let p = t('panel.ask_reward_cost'); cost === null; p = t('panel.invalid_points')) {
        const raw = await askText(conversation, ctx, p, cancelled);
        if (raw === null) return null;
        cost = parsePoints(raw);
      }
      let stock: number | null | undefined;
      for (let p = t('panel.ask_reward_stock'); stock === undefined; p = t('panel.invalid_count')) {
        const raw = await askText(conversation, ctx, p, { ...cancelled, extra: [t('panel.unlimited')] });
        if (raw === null) return null;
        stock = ctx.isLabel(raw, 'panel.unlimited') ? null : (parseWholeNumber(raw, { max: 1_000_000 }) ?? undefined);
      }
      const input = { titleFa, titleEn: ctx.isLabel(titleEn, 'panel.same_title') ? titleFa : titleEn, pointsCost: cost, stock };
      await say(ctx, t('panel.working'), { remove_keyboard: true });
      return conversation.external(() => done(() => createReward(deps.db, actor, input, now()), titleFa));
    }

    async function newStaff(): Promise<Outcome | null> {
      let phone: string | null = null;
      for (let p = t('panel.ask_staff_phone'); phone === null; p = t('panel.invalid_phone')) {
        const raw = await askText(conversation, ctx, p, { ...cancelled, max: 40 });
        if (raw === null) return null;
        phone = normalizePhone(raw);
      }
      let role: 'manager' | 'cashier' | null = null;
      const roles = new Keyboard().text(t('roles.cashier')).text(t('roles.manager')).row().text(t('till.cancel')).resized();
      for (let p = t('panel.ask_role_role'); role === null; p = t('panel.invalid_role')) {
        const raw = await askText(conversation, ctx, p, { ...cancelled, keyboard: roles });
        if (raw === null) return null;
        role = readStaffRole(deps.i18n, raw);
      }
      const branchId = role === 'cashier' ? await pickBranch() : null;
      await say(ctx, t('panel.working'), { remove_keyboard: true });
      const chosen = role;
      return conversation.external(() => done(async () => { await addStaff(deps.db, { memberId: owner!.memberId, role: owner!.role }, phone!, chosen, branchId, now()); deps.notices.kick(); }, t(`roles.${chosen}`)));
    }
  }

  return { find, edit };
}
