import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import { probablyMeant, usualAmount } from '../../club/usual-amount.ts';
import { formatMoney } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext, Speech } from '../context.ts';
import { askText } from './ask.ts';

type Sp = Pick<Speech, 't' | 'locale'>;

/**
 * An amount about 10× above or below what this branch usually sees asks "did you mean …?" before
 * anything else. Returns the amount to use, 0 to ask for the amount again, or null when cancelled.
 */
export async function checkUsualAmount(conversation: Conversation<Context, ConversationContext>, ctx: ConversationContext, deps: ClubDeps, branchId: number, amount: number): Promise<number | null> {
  const meant = await conversation.external(async () => probablyMeant(amount, await usualAmount(deps.db, branchId)));
  if (meant === null) return amount;
  const { t } = ctx;
  const useMeant = (sp: Sp) => sp.t('till_check.use', { amount: formatMoney(meant, sp.locale) });
  const keepTyped = (sp: Sp) => sp.t('till_check.keep', { amount: formatMoney(amount, sp.locale) });
  const kb = new Keyboard().text(useMeant(ctx)).row().text(keepTyped(ctx)).row().text(t('till_check.retype')).text(t('till.cancel')).resized();
  for (let prompt = t('till_check.did_you_mean', { typed: formatMoney(amount, ctx.locale), meant: formatMoney(meant, ctx.locale) }); ; prompt = t('till.use_buttons')) {
    const text = await askText(conversation, ctx, prompt, { keyboard: kb, cancelledKey: 'till.cancelled' });
    if (text === null) return null;
    if (ctx.isLabel(text, useMeant)) return meant;
    if (ctx.isLabel(text, keepTyped)) return amount;
    if (ctx.isLabel(text, 'till_check.retype')) return 0;
  }
}

/** Under "purchase recorded": the next customer (the till's find/scan screen) or the menu. */
export function afterPurchaseButtons(t: Speech['t']) {
  return { inline_keyboard: [[{ text: t('till_check.next_customer'), callback_data: 'open:till' }, { text: t('menu.main'), callback_data: 'home' }]] };
}
