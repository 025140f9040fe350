import { ClubComposer } from '../composer.ts';
import { ClubError } from '../../club/errors.ts';
import { clubStats } from '../../club/reports.ts';
import { createReward } from '../../club/rewards.ts';
import { listEarningRules, loyaltySettings, removeBranchRule, saveLoyaltySettings, setEarningRule } from '../../club/rules.ts';
import { listTiers, TIER_FIELDS, updateTier, type TierField } from '../../club/tiers.ts';
import { addStaff, createBranch, listBranches, removeStaff } from '../../club/staff.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { parsePoints, parseRials, parseWholeNumber } from '../../lib/amount.ts';
import { readStaffRole, tierFieldValue } from '../staff-words.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import { normalizePhone } from '../../lib/phone.ts';
import type { Context } from '../context.ts';
import { ADJUST, VOID } from '../conversations/admin.ts';
import { LIMITS } from '../../club/limits.ts';
import { say } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { findMemberByQuery } from './till.ts';

/** Runs a domain action; a ClubError is answered in the staff member's language. */
async function answering(ctx: Context, run: () => Promise<unknown>) {
  try {
    await run();
  } catch (error) {
    if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, error.params));
    throw error;
  }
}

/** Owner/manager commands: staff, branches, voids, adjustments, rewards, /stats. */
export function adminFeature() {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');
  const managers = staffOnly('owner', 'manager');

  privateChat.command('staff_add', managers, (ctx) =>
    answering(ctx, async () => {
      const [phoneText, roleText, branchText] = ctx.match.trim().split(/\s+/);
      const phone = phoneText ? normalizePhone(phoneText) : null;
      const role = readStaffRole(ctx.deps.i18n, roleText);
      const branchId = branchText ? parseWholeNumber(branchText, { min: 1 }) : null;
      if (!phone || !role || (branchText && branchId === null)) return say(ctx, ctx.t('admin.staff_add_usage'));
      const added = await addStaff(ctx.deps.db, { memberId: ctx.member!.id, role: ctx.role! }, phone, role, branchId, ctx.deps.now());
      await say(ctx, ctx.t('admin.staff_added', { name: added.firstName, role: ctx.t(`roles.${role}`) }));
      // Their welcome was queued with the change.
      ctx.deps.notices.kick();
    }),
  );

  privateChat.command('staff_remove', managers, (ctx) =>
    answering(ctx, async () => {
      const member = ctx.match.trim() ? await findMemberByQuery(ctx, ctx.match) : undefined;
      if (!member) return say(ctx, ctx.t('admin.staff_remove_usage'));
      const role = await removeStaff(ctx.deps.db, { memberId: ctx.member!.id, role: ctx.role! }, member.id, ctx.deps.now());
      await say(ctx, ctx.t('admin.staff_removed', { name: member.first_name, role: ctx.t(`roles.${role}`) }));
    }),
  );

  privateChat.command('branches', managers, (ctx) =>
    answering(ctx, async () => {
      const [verb, ...rest] = ctx.match.trim().split(/\s+/);
      if (verb === 'add') {
        const branch = await createBranch(ctx.deps.db, ctx.member!.id, rest.join(' '), ctx.deps.now());
        return say(ctx, ctx.t('admin.branch_added', { id: formatNumber(branch.id, ctx.locale), name: branch.name }));
      }
      const branches = await listBranches(ctx.deps.db);
      const rows = branches.map((b) => ctx.t('admin.branch_row', { id: formatNumber(b.id, ctx.locale), name: b.name }));
      await say(ctx, [ctx.t('admin.branches_title'), '', ...rows, '', ctx.t('admin.branches_usage')].join('\n'));
    }),
  );

  privateChat.command('void', managers, async (ctx) => {
    const id = parseWholeNumber(ctx.match, { min: 1 });
    if (id === null) return say(ctx, ctx.t('admin.void_usage'));
    await ctx.conversation.enter(VOID, id);
  });

  privateChat.command('adjust', managers, async (ctx) => {
    const match = /^(\S+)\s+([+-−]?)(\S+)$/.exec(toLatinDigits(ctx.match.trim()));
    const amount = match ? parsePoints(match[3]!) : null;
    if (!match || amount === null) return say(ctx, ctx.t('admin.adjust_usage'));
    const member = await findMemberByQuery(ctx, match[1]!);
    if (amount > LIMITS.adjustPoints) return say(ctx, ctx.t('errors.adjust_too_large', { max: LIMITS.adjustPoints }));
    if (!member) return say(ctx, ctx.t('errors.member_not_found'));
    await ctx.conversation.enter(ADJUST, member.id, match[2] === '-' || match[2] === '−' ? -amount : amount);
  });

  privateChat.command('reward_add', managers, (ctx) =>
    answering(ctx, async () => {
      // /reward_add <points> <stock or -> <title fa> | <title en>
      const match = /^(\S+)\s+(\S+)\s+(.+?)\s*\|\s*(.+)$/.exec(ctx.match.trim());
      const points = match ? parsePoints(match[1]!) : null;
      const stock = match && match[2] !== '-' ? parseWholeNumber(match[2]!) : null;
      if (!match || points === null || (match[2] !== '-' && stock === null)) return say(ctx, ctx.t('admin.reward_usage'));
      const reward = await createReward(ctx.deps.db, ctx.member!.id, { titleFa: match[3]!, titleEn: match[4]!, pointsCost: points, stock }, ctx.deps.now());
      await say(ctx, ctx.t('admin.reward_added', { reward: ctx.locale === 'fa' ? reward.title_fa : reward.title_en, points: formatNumber(points, ctx.locale) }));
    }),
  );

  privateChat.command('rules', managers, (ctx) =>
    answering(ctx, async () => {
      const args = ctx.match.trim().split(/\s+/).filter(Boolean);
      const actor = ctx.member!.id;
      let branchId: number | null = null;
      if (args[0] === 'branch') {
        branchId = parseWholeNumber(args[1] ?? '', { min: 1 });
        if (branchId === null) return say(ctx, ctx.t('admin.rules_usage'));
        args.splice(0, 2);
        if (args[0] === ('off' as string)) {
          await removeBranchRule(ctx.deps.db, actor, branchId, ctx.deps.now());
          return say(ctx, ctx.t('admin.rules_saved'));
        }
      }
      const [what, a, b] = args;
      // Every number through the one reader: `۱۰٬۰۰۰`, `10,000`; money may name its unit (`۱۰٬۰۰۰ ریال`).
      const n = (v: string | undefined) => (v === undefined ? NaN : (parseWholeNumber(v) ?? NaN));
      const rials = (from: number) => {
        const parsed = parseRials(args.slice(from).join(' '));
        return parsed.ok ? parsed.value : NaN;
      };
      if (what === 'spend' && rials(1) > 0) await setEarningRule(ctx.deps.db, actor, branchId, { rials_per_point: rials(1) }, ctx.deps.now());
      else if (what === 'min' && (rials(1) > 0 || n(a) === 0)) await setEarningRule(ctx.deps.db, actor, branchId, { min_purchase: n(a) === 0 ? 0 : rials(1) }, ctx.deps.now());
      else if (what === 'visit' && n(a) >= 0 && n(b) >= 0) await setEarningRule(ctx.deps.db, actor, branchId, { visit_points: n(a), visit_daily_cap: n(b) }, ctx.deps.now());
      else if (branchId === null && what === 'validity' && (a === 'month' || a === 'year' || n(a) > 0)) {
        const validity = a === 'month' ? { mode: 'jalali_month_end' as const, days: 1 } : a === 'year' ? { mode: 'jalali_year_end' as const, days: 1 } : { mode: 'days' as const, days: n(a) };
        await saveLoyaltySettings(ctx.deps.db, { validity }, actor, ctx.deps.now());
      } else if (branchId === null && what === 'rate' && n(a) > 0) await saveLoyaltySettings(ctx.deps.db, { rialsPerPointCredit: n(a) }, actor, ctx.deps.now());
      else if (branchId === null && what === 'window' && n(a) > 0) await saveLoyaltySettings(ctx.deps.db, { tierWindowDays: n(a) }, actor, ctx.deps.now());
      else if (what !== undefined) return say(ctx, ctx.t('admin.rules_usage'));
      if (what !== undefined) await say(ctx, ctx.t('admin.rules_saved'));

      const settings = await loyaltySettings(ctx.deps.db);
      const rules = await listEarningRules(ctx.deps.db);
      const num = (v: number) => formatNumber(v, ctx.locale);
      const lines = rules.map((r) =>
        ctx.t('admin.rule_row', {
          scope: r.branch_name ?? ctx.t('admin.rule_club'),
          rials: formatRials(r.rials_per_point, ctx.locale),
          min: formatRials(r.min_purchase, ctx.locale),
          visit: num(r.visit_points),
          cap: num(r.visit_daily_cap),
        }),
      );
      const validity =
        settings.validity.mode === 'days' ? ctx.t('admin.validity_days', { days: num(settings.validity.days) }) : ctx.t(`admin.validity_${settings.validity.mode}`);
      await say(
        ctx,
        [
          ctx.t('admin.rules_title'),
          '',
          ...lines,
          '',
          ctx.t('admin.rules_settings', { validity, rate: formatRials(settings.rialsPerPointCredit, ctx.locale), window: num(settings.tierWindowDays) }),
          '',
          ctx.t('admin.rules_usage'),
        ].join('\n'),
      );
    }),
  );

  privateChat.command('tiers', managers, (ctx) =>
    answering(ctx, async () => {
      const match = /^(\S+)\s+(\S+)\s+(.+)$/.exec(ctx.match.trim());
      if (match) {
        const [, code, field, value] = match as unknown as [string, string, string, string];
        if (!(TIER_FIELDS as readonly string[]).includes(field)) return say(ctx, ctx.t('admin.tiers_usage'));
        await updateTier(ctx.deps.db, ctx.member!.id, code, field as TierField, tierFieldValue(field, value), ctx.deps.now());
        await say(ctx, ctx.t('admin.rules_saved'));
      } else if (ctx.match.trim()) return say(ctx, ctx.t('admin.tiers_usage'));
      const tiers = await listTiers(ctx.deps.db);
      const rows = tiers.map((t) =>
        ctx.t('admin.tier_row', {
          code: t.code,
          name: `${t.name_fa} / ${t.name_en}`,
          threshold: formatNumber(t.threshold, ctx.locale),
          discount: formatNumber(Number(t.discount_percent), ctx.locale),
          multiplier: formatNumber(Number(t.earn_multiplier), ctx.locale),
          perks: ctx.locale === 'fa' ? t.perks_fa : t.perks_en,
        }),
      );
      await say(ctx, [ctx.t('admin.tiers_title'), '', ...rows, '', ctx.t('admin.tiers_usage')].join('\n'));
    }),
  );

  // Revenue and the points liability are the business's figures: managers and owners only.
  privateChat.command('stats', managers, async (ctx) => {
    const settings = await loyaltySettings(ctx.deps.db);
    const s = await clubStats(ctx.deps.db, ctx.deps.now(), ctx.deps.config.timeZone, settings.rialsPerPointCredit);
    const n = (v: number) => formatNumber(v, ctx.locale);
    const r = (v: number) => formatRials(v, ctx.locale);
    const tiers = s.tiers.map((t) => `${ctx.locale === 'fa' ? t.name_fa : t.name_en}: ${n(t.members)}`).join(' · ');
    await say(
      ctx,
      ctx.t('admin.stats', {
        members: n(s.members),
        today: n(s.newToday),
        d7: n(s.new7d),
        d30: n(s.new30d),
        active: n(s.active30d),
        issued: n(s.pointsIssued30d),
        redeemed: n(s.pointsRedeemed30d),
        expired: n(s.pointsExpired30d),
        outstanding: n(s.outstandingPoints),
        liability: r(s.liabilityRials),
        p_today: n(s.purchases.today),
        p_7: n(s.purchases.d7),
        p_30: n(s.purchases.d30),
        r_today: r(s.revenue.today),
        r_7: r(s.revenue.d7),
        r_30: r(s.revenue.d30),
        tiers,
        cashback: s.cashbackRate === null ? ctx.t('admin.cashback_none') : `${formatNumber(Math.round(s.cashbackRate * 1000) / 10, ctx.locale)}${ctx.locale === 'fa' ? '٪' : '%'}`,
      }),
    );
  });

  return composer;
}
