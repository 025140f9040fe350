import { ClubComposer } from '../composer.ts';
import type { Context } from '../context.ts';
import { WALK_IN } from '../conversations/walk-in.ts';
import { staffOnly } from './staff.ts';

/** Registering a walk-in customer at the till: /walkin, or the button under "member not found". */
export function walkInFeature() {
  const composer = new ClubComposer<Context>();
  composer.chatType('private').command('walkin', staffOnly('owner', 'manager', 'cashier'), (ctx) => ctx.conversation.enter(WALK_IN, ctx.match.trim() || null));
  composer.callbackQuery(/^wi:(\+?\d{8,16})?$/, async (ctx) => {
    if (!ctx.role) return ctx.answerCallbackQuery({ text: ctx.t('errors.not_staff'), show_alert: true });
    await ctx.answerCallbackQuery();
    await ctx.conversation.enter(WALK_IN, ctx.match[1] ?? null);
  });
  return composer;
}
