import type { Conversation } from '@grammyjs/conversations';
import { INTERESTS } from '../../club/profile.ts';
import { countSegment, findSegment, renameSegment, saveSegment, segmentChoices, updateSegmentFilter, type SegmentChoices, type SegmentCondition, type SegmentFilter } from '../../club/segments.ts';
import { parseMoney } from '../../lib/amount.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { askText, attempt, managerIdOf, pickButton } from './ask.ts';

export const SEGMENT_BUTTONS = 'segment_buttons';
export const SEGMENT_RENAME = 'segment_rename';

type SegmentConversation = Conversation<Context, ConversationContext>;
type Speech = Pick<ConversationContext, 't' | 'locale'>;

const FIELDS = ['tier', 'last_purchase_days', 'purchases', 'spend', 'birthday_month', 'age', 'gender', 'city', 'interests', 'branch', 'join_link', 'platform'] as const;

const filterOf = (conditions: SegmentCondition[]): SegmentFilter => ({ groups: conditions.length ? [conditions] : [] });

function money(rials: number, unit: 'toman' | 'rial', s: Speech) {
  return unit === 'toman' ? s.t('history.toman', { amount: formatNumber(rials / 10, s.locale) }) : s.t('segbuild.rials', { amount: formatNumber(rials, s.locale) });
}

/** One condition in words: «سطح: طلایی», "last purchase within 60 days". */
export function describeCondition(c: SegmentCondition, choices: SegmentChoices, s: Speech): string {
  const n = (v: number) => formatNumber(v, s.locale);
  const range = (min: number | undefined, max: number | undefined) =>
    min !== undefined && max !== undefined ? s.t('segbuild.range_between', { min: n(min), max: n(max) }) : min !== undefined ? s.t('segbuild.range_min', { min: n(min) }) : s.t('segbuild.range_max', { max: n(max ?? 0) });
  switch (c.field) {
    case 'tier':
      return s.t('segbuild.is_tier', { tiers: c.in.map((code) => { const tier = choices.tiers.find((x) => x.code === code); return tier ? tier[s.locale] : code; }).join(s.t('segbuild.or')) });
    case 'last_purchase_days':
      return c.max !== undefined && c.min === undefined ? s.t('segbuild.is_bought_within', { days: n(c.max) }) : s.t('segbuild.is_bought_before', { days: n((c.min ?? 1) - 1) });
    case 'purchases':
      return c.max === 0 ? s.t('segbuild.is_never_bought') : s.t('segbuild.is_purchases', { range: range(c.min, c.max) });
    case 'spend':
      return s.t('segbuild.is_spend', { amount: money(c.min ?? 0, choices.moneyUnit, s) });
    case 'birthday_month':
      return s.t('segbuild.is_birthday', { month: monthName(c.month, s) });
    case 'age':
      return s.t('segbuild.is_age', { range: range(c.min, c.max) });
    case 'gender':
      return s.t(`segbuild.is_${c.value}`);
    case 'city':
      return s.t('segbuild.is_city', { city: c.value });
    case 'interests':
      return s.t('segbuild.is_interests', { interests: c.any.map((i) => s.t(`profile.interest_${i}`)).join(s.t('segbuild.or')) });
    case 'branch':
      return s.t('segbuild.is_branch', { branch: choices.branches.find((b) => b.id === c.id)?.name ?? n(c.id) });
    case 'join_link':
      return s.t('segbuild.is_link', { link: choices.links.find((l) => l.slug === c.slug)?.name ?? c.slug });
    case 'platform':
      return s.t('segbuild.is_platform', { platform: s.t(`platforms.${c.value}`) });
    default:
      return c.field;
  }
}

function monthName(month: number, s: Speech) {
  return s.t('segbuild.months').split(',')[month - 1]?.trim() ?? String(month);
}

/** A typed answer was taken: the reply keyboard (Cancel) goes away before the buttons come back. */
async function noted<T>(ctx: ConversationContext, value: T): Promise<T> {
  await say(ctx, ctx.t('segbuild.noted'), { remove_keyboard: true });
  return value;
}

const rows = <T>(items: T[], per: number): T[][] => Array.from({ length: Math.ceil(items.length / per) }, (_, i) => items.slice(i * per, i * per + per));

export function createSegmentConversations(deps: ClubDeps) {
  /** Asks a whole number in [min, max]; null when cancelled. */
  async function askWhole(conversation: SegmentConversation, ctx: ConversationContext, prompt: string, min: number, max: number): Promise<number | null> {
    for (;;) {
      const raw = await askText(conversation, ctx, prompt, { cancelledKey: 'segbuild.step_cancelled', max: 20 });
      if (raw === null) return null;
      const value = Number(toLatinDigits(raw).trim());
      if (Number.isSafeInteger(value) && value >= min && value <= max) return noted(ctx, value);
      await say(ctx, ctx.t('segbuild.number_invalid', { min: formatNumber(min, ctx.locale), max: formatNumber(max, ctx.locale) }));
    }
  }

  /** The condition for one field, asked with buttons (a few with a short typed answer); null to go back. */
  async function askCondition(conversation: SegmentConversation, ctx: ConversationContext, field: (typeof FIELDS)[number], choices: SegmentChoices): Promise<SegmentCondition | null> {
    const { t, locale } = ctx;
    const n = (v: number) => formatNumber(v, locale);
    const back: [string, string] = [t('segbuild.back'), 'back'];
    const pick = async (prompt: string, buttons: [string, string][], per = 2) => {
      const value = await pickButton(conversation, ctx, prompt, [...rows(buttons, per), [back]]);
      return value === 'back' ? null : value;
    };
    switch (field) {
      case 'tier': {
        const code = await pick(t('segbuild.ask_tier'), choices.tiers.map((x) => [x[locale], x.code]));
        return code === null ? null : { field: 'tier', in: [code] };
      }
      case 'last_purchase_days': {
        const v = await pick(t('segbuild.ask_last_purchase'), [
          ...[30, 60, 90].map((d): [string, string] => [t('segbuild.within_days', { days: n(d) }), `in${d}`]),
          ...[60, 180].map((d): [string, string] => [t('segbuild.before_days', { days: n(d) }), `out${d}`]),
          [t('segbuild.other_days'), 'other'],
        ]);
        if (v === null) return null;
        if (v === 'other') {
          const days = await askWhole(conversation, ctx, t('segbuild.ask_days'), 1, 3650);
          return days === null ? null : { field: 'last_purchase_days', max: days };
        }
        const days = Number(v.replace(/\D/g, ''));
        return v.startsWith('in') ? { field: 'last_purchase_days', max: days } : { field: 'last_purchase_days', min: days + 1 };
      }
      case 'purchases': {
        const v = await pick(t('segbuild.ask_purchases'), [[t('segbuild.never_bought'), '0'], ...[1, 3, 5, 10].map((k): [string, string] => [t('segbuild.at_least_purchases', { count: n(k) }), String(k)])]);
        if (v === null) return null;
        return v === '0' ? { field: 'purchases', max: 0 } : { field: 'purchases', min: Number(v) };
      }
      case 'spend': {
        for (;;) {
          const raw = await askText(conversation, ctx, t(choices.moneyUnit === 'toman' ? 'segbuild.ask_spend_toman' : 'segbuild.ask_spend_rial'), { cancelledKey: 'segbuild.step_cancelled', max: 40 });
          if (raw === null) return null;
          const parsed = parseMoney(raw, { bare: choices.moneyUnit });
          if (parsed.ok) return noted(ctx, { field: 'spend', min: parsed.value });
          await say(ctx, t('segbuild.spend_invalid'));
        }
      }
      case 'birthday_month': {
        const v = await pick(t('segbuild.ask_birthday'), Array.from({ length: 12 }, (_, i): [string, string] => [monthName(i + 1, ctx), String(i + 1)]), 3);
        return v === null ? null : { field: 'birthday_month', month: Number(v) };
      }
      case 'age': {
        const spans: [number | undefined, number | undefined][] = [[undefined, 24], [25, 34], [35, 44], [45, 54], [55, undefined]];
        const v = await pick(
          t('segbuild.ask_age'),
          spans.map(([min, max], i): [string, string] => [
            min === undefined ? t('segbuild.age_under', { age: n(max! + 1) }) : max === undefined ? t('segbuild.age_over', { age: n(min) }) : t('segbuild.age_between', { min: n(min), max: n(max) }),
            String(i),
          ]),
        );
        if (v === null) return null;
        const [min, max] = spans[Number(v)]!;
        return { field: 'age', ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
      }
      case 'gender': {
        const v = await pick(t('segbuild.ask_gender'), [[t('segbuild.female'), 'female'], [t('segbuild.male'), 'male']]);
        return v === null ? null : { field: 'gender', value: v as 'female' | 'male' };
      }
      case 'city': {
        const city = await askText(conversation, ctx, t('segbuild.ask_city'), { cancelledKey: 'segbuild.step_cancelled', max: 64 });
        return city === null ? null : noted(ctx, { field: 'city', value: city });
      }
      case 'interests': {
        const v = await pick(t('segbuild.ask_interest'), INTERESTS.map((i): [string, string] => [t(`profile.interest_${i}`), i]));
        return v === null ? null : { field: 'interests', any: [v as (typeof INTERESTS)[number]] };
      }
      case 'branch': {
        const v = await pick(t('segbuild.ask_branch'), choices.branches.map((b): [string, string] => [b.name, String(b.id)]));
        return v === null ? null : { field: 'branch', id: Number(v) };
      }
      case 'join_link': {
        if (choices.links.length === 0) {
          await say(ctx, t('segbuild.no_links'));
          return null;
        }
        const v = await pick(t('segbuild.ask_link'), choices.links.map((l): [string, string] => [l.name, `l${choices.links.indexOf(l)}`]));
        return v === null ? null : { field: 'join_link', slug: choices.links[Number(v.slice(1))]!.slug };
      }
      case 'platform': {
        const v = await pick(t('segbuild.ask_platform'), [[t('platforms.telegram'), 'telegram'], [t('platforms.bale'), 'bale']]);
        return v === null ? null : { field: 'platform', value: v as 'telegram' | 'bale' };
      }
    }
  }

  /**
   * A segment built with buttons: pick a condition, see how many members match, add another, save.
   * Conditions all hold together; a second tier or interest widens that condition ("gold or
   * platinum"), any other field replaces its earlier value. Given a saved segment's number, the
   * builder starts from its conditions and saving changes them (its name stays).
   */
  async function buildByButtons(conversation: SegmentConversation, ctx: ConversationContext, editing?: number) {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const choices = await conversation.external(() => segmentChoices(deps.db));
    let conditions: SegmentCondition[] = [];
    let title = t('segbuild.title');
    if (editing !== undefined) {
      const saved = await conversation.external(() => findSegment(deps.db, editing));
      if (!saved) return say(ctx, t('segedit.gone'));
      // The buttons build one group of conditions; a segment typed with "or" is edited by typing.
      if (saved.filter.groups.length > 1) return say(ctx, t('segedit.edit_typed', { name: saved.name }));
      conditions = saved.filter.groups[0] ?? [];
      title = t('segedit.edit_title', { name: saved.name });
    }
    for (;;) {
      const filter = filterOf(conditions);
      const count = await conversation.external(() => countSegment(deps.db, filter, deps.now()));
      const lines = conditions.length ? conditions.map((c) => `• ${describeCondition(c, choices, ctx)}`) : [t('segbuild.no_conditions')];
      const text = [title, '', ...lines, '', t('segbuild.count', { count: formatNumber(count, locale) }), t('segbuild.ask_next')].join('\n');
      const choice = await pickButton(conversation, ctx, text, [
        ...rows(FIELDS.map((f): [string, string] => [t(`segbuild.field_${f}`), f]), 3),
        [
          [t('campaigns.save'), 'save'],
          ...(conditions.length ? [[t('segbuild.undo'), 'undo'] as [string, string]] : []),
          [t('till.cancel'), 'cancel'],
        ],
      ]);
      if (choice === 'cancel') return say(ctx, t('segbuild.cancelled'));
      if (choice === 'undo') {
        conditions = conditions.slice(0, -1);
        continue;
      }
      if (choice === 'save' && editing !== undefined) {
        const updated = await conversation.external(() => attempt(() => updateSegmentFilter(deps.db, actor, editing, filter, deps.now())));
        if (!updated.ok) return say(ctx, t(updated.key, updated.params), { remove_keyboard: true });
        return say(ctx, t('segedit.edited', { name: updated.value.name, count: formatNumber(count, locale) }), { remove_keyboard: true });
      }
      if (choice === 'save') {
        const name = await askText(conversation, ctx, t('campaigns.ask_segment_name'), { cancelledKey: 'segbuild.step_cancelled', max: 64 });
        if (name === null) continue;
        const saved = await conversation.external(() => attempt(() => saveSegment(deps.db, actor, name, filter, deps.now())));
        if (!saved.ok) {
          await say(ctx, t(saved.key, saved.params), { remove_keyboard: true });
          continue;
        }
        return say(ctx, t('segbuild.saved', { name, count: formatNumber(count, locale) }), { remove_keyboard: true });
      }
      const field = FIELDS.find((f) => f === choice);
      if (!field) continue;
      const added = await askCondition(conversation, ctx, field, choices);
      if (!added) continue;
      const same = conditions.find((c) => c.field === added.field);
      if (same && same.field === 'tier' && added.field === 'tier') same.in = [...new Set([...same.in, ...added.in])];
      else if (same && same.field === 'interests' && added.field === 'interests') same.any = [...new Set([...same.any, ...added.any])];
      else conditions = [...conditions.filter((c) => c.field !== added.field), added];
    }
  }

  /** A saved segment's new name. */
  async function rename(conversation: SegmentConversation, ctx: ConversationContext, id: number) {
    const { t } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const saved = await conversation.external(async () => (await findSegment(deps.db, id))?.name ?? null);
    if (saved === null) return say(ctx, t('segedit.gone'));
    for (;;) {
      const name = await askText(conversation, ctx, t('segedit.ask_name', { name: saved }), { cancelledKey: 'segedit.cancelled', max: 64 });
      if (name === null) return;
      const renamed = await conversation.external(() => attempt(() => renameSegment(deps.db, actor, id, name, deps.now())));
      if (renamed.ok) return say(ctx, t('segedit.renamed', { name: renamed.value.name }), { remove_keyboard: true });
      if (renamed.key !== 'errors.segment_name_invalid') return say(ctx, t(renamed.key, renamed.params), { remove_keyboard: true });
      await say(ctx, t(renamed.key, renamed.params));
    }
  }

  return { buildByButtons, rename };
}
