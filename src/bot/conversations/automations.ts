import type { Conversation } from '@grammyjs/conversations';
import { addOccasion, isJalaliMonthDay, updateAutomation } from '../../club/automations.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { askText, attempt, managerIdOf } from './ask.ts';

export const AUTOMATION_EDIT = 'automation_edit';
export const AUTOMATION_NEW = 'automation_new';

export type AutomationField = 'message' | 'gift' | 'days';

type AutomationConversation = Conversation<Context, ConversationContext>;

const wholeNumber = (text: string, max: number) => {
  const n = Number(toLatinDigits(text).replace(/[,٬]/g, '').trim());
  return Number.isSafeInteger(n) && n >= 0 && n <= max ? n : null;
};

export function createAutomationConversations(deps: ClubDeps) {
  /** One setting of one automation: its message (or back to the built-in one), gift points, or days. */
  async function edit(conversation: AutomationConversation, ctx: ConversationContext, id: number, field: AutomationField) {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const opts = { cancelledKey: 'automations.cancelled' };
    for (let prompt = t(`automations.ask_${field}`); ; ) {
      const raw = await askText(conversation, ctx, prompt, { ...opts, max: 3000, ...(field === 'message' ? { extra: [t('automations.default_message')] } : {}) });
      if (raw === null) return;
      let patch;
      if (field === 'message') patch = { message: ctx.isLabel(raw, 'automations.default_message') ? null : raw };
      else {
        const n = wholeNumber(raw, field === 'gift' ? 1_000_000 : 3650);
        if (n === null) {
          prompt = t(field === 'gift' ? 'errors.automation_gift' : 'errors.automation_days');
          continue;
        }
        patch = field === 'gift' ? { gift_points: n } : { days: n };
      }
      const saved = await conversation.external(() => attempt(() => updateAutomation(deps.db, actor, id, patch, deps.now())));
      if (!saved.ok) {
        prompt = t(saved.key, saved.params);
        continue;
      }
      return say(ctx, t('automations.saved', { value: field === 'message' ? (patch.message ?? t('automations.default_message')) : formatNumber(Object.values(patch)[0] as number, locale) }) + '\n' + t('automations.back_hint'), {
        remove_keyboard: true,
      });
    }
  }

  /** A custom occasion: name, Jalali month/day, message, gift. */
  async function create(conversation: AutomationConversation, ctx: ConversationContext) {
    const { t } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const opts = { cancelledKey: 'automations.cancelled' };
    const name = await askText(conversation, ctx, t('automations.ask_name'), { ...opts, max: 64 });
    if (name === null) return;
    let date: [number, number] | null = null;
    for (let prompt = t('automations.ask_date'); !date; prompt = t('errors.automation_date')) {
      const raw = await askText(conversation, ctx, prompt, opts);
      if (raw === null) return;
      const m = /^(\d{1,2})\s*[/\-.]\s*(\d{1,2})$/.exec(toLatinDigits(raw).trim());
      if (m && isJalaliMonthDay(Number(m[1]), Number(m[2]))) date = [Number(m[1]), Number(m[2])];
    }
    const message = await askText(conversation, ctx, t('automations.ask_message'), { ...opts, max: 3000 });
    if (message === null) return;
    let gift: number | null = null;
    for (let prompt = t('automations.ask_gift'); gift === null; prompt = t('errors.automation_gift')) {
      const raw = await askText(conversation, ctx, prompt, { ...opts, extra: ['0', '50', '100'] });
      if (raw === null) return;
      gift = wholeNumber(raw, 1_000_000);
    }
    const added = await conversation.external(() => attempt(() => addOccasion(deps.db, actor, { name, jalaliMonth: date[0], jalaliDay: date[1], message, giftPoints: gift }, deps.now())));
    if (!added.ok) return say(ctx, t(added.key, added.params), { remove_keyboard: true });
    await say(ctx, t('automations.occasion_added', { name }) + '\n' + t('automations.back_hint'), { remove_keyboard: true });
  }

  return { edit, create };
}
