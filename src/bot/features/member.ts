import { ClubComposer } from '../composer.ts';
import type { Context } from '../context.ts';
import { SIGNUP } from '../conversations/signup.ts';
import type { ClubMenus } from '../menus/main.ts';
import { formatDate } from '../../lib/jalali.ts';
import { memberNumber } from '../screens.ts';
import { say } from '../ui.ts';
import { helpText } from '../panel/help.ts';

/** Shortcuts to the member's screens, /help and /whoami. */
export function memberFeature(menus: ClubMenus) {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');

  privateChat.command('help', (ctx) => say(ctx, helpText(ctx, ctx.role)));

  privateChat.command(['points', 'card'], async (ctx) => {
    if (!ctx.member) return ctx.conversation.enter(SIGNUP);
    if (ctx.message.text.startsWith('/card')) return menus.sendCard(ctx, ctx.member);
    return menus.showPoints(ctx, ctx.member);
  });

  privateChat.command('whoami', async (ctx) => {
    if (!ctx.member) return say(ctx, ctx.t('whoami.not_member'));
    await say(
      ctx,
      ctx.t('whoami.body', {
        name: ctx.member.first_name,
        number: memberNumber(ctx.member, ctx.locale),
        role: ctx.t(`roles.${ctx.role ?? 'member'}`),
        platform: ctx.t(`platforms.${ctx.adapter.platform}`),
        since: formatDate(ctx.member.joined_at, ctx.locale, ctx.deps.config.timeZone),
      }),
    );
  });

  return composer;
}
