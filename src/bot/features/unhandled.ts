import { ClubComposer } from '../composer.ts';
import type { Context } from '../context.ts';
import { SIGNUP } from '../conversations/signup.ts';
import type { ClubMenus } from '../menus/main.ts';
import { say } from '../ui.ts';

/** Last in line: stale buttons get a fresh menu, strangers are invited to join, the rest a hint. */
export function unhandledFeature(menus: ClubMenus) {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');

  composer.on('callback_query', async (ctx) => {
    await ctx.answerCallbackQuery({ text: ctx.t('menu.outdated') });
    if (ctx.member) await menus.showHome(ctx);
    else await say(ctx, ctx.t('errors.not_member'));
  });

  privateChat.on('message', async (ctx) => {
    if (!ctx.member) return ctx.conversation.enter(SIGNUP);
    if (ctx.message.text?.startsWith('/')) await say(ctx, ctx.t('errors.unknown_command'));
    else await say(ctx, ctx.t('errors.not_understood'));
    await menus.showHome(ctx);
  });

  return composer;
}
