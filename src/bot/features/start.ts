import { ClubComposer } from '../composer.ts';
import { findMemberById } from '../../club/members.ts';
import { isValidStartPayload, verifyCardToken } from '../../lib/card-token.ts';
import type { Context } from '../context.ts';
import { SIGNUP, type SignupStart } from '../conversations/signup.ts';
import { JOIN_LINK_PREFIX } from '../../club/join-links.ts';
import { REFERRAL_PREFIX, refuseReferral } from '../../club/referrals.ts';
import { CARD_PAYLOAD_PREFIX, type ClubMenus } from '../menus/main.ts';
import { showStaffView } from './till.ts';
import { say } from '../ui.ts';
import { INVITE_PREFIX } from '../../club/invites.ts';
import { noteInvitationOpened } from '../../club/invitation-opens.ts';
import { acceptInvite, inviteText } from './setup.ts';

/** /start (with or without a deep-link payload), /menu and /cancel. */
export function startFeature(menus: ClubMenus) {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');

  privateChat.command('start', async (ctx) => {
    const payload = ctx.match.trim();
    // Links the club makes use only Telegram's payload alphabet ([A-Za-z0-9_-], at most 64);
    // anything else was typed or mangled and is not looked up.
    if (payload !== '' && !isValidStartPayload(payload)) return say(ctx, ctx.t('errors.link_invalid'));
    if (payload.startsWith(CARD_PAYLOAD_PREFIX)) return cardScanned(ctx, payload.slice(CARD_PAYLOAD_PREFIX.length));
    const ref = payload.startsWith(REFERRAL_PREFIX) ? payload.slice(REFERRAL_PREFIX.length) : undefined;
    const link = payload.startsWith(JOIN_LINK_PREFIX) ? payload.slice(JOIN_LINK_PREFIX.length) : undefined;
    // A staff invitation: a member becomes staff now; a newcomer joins first (see signup).
    const invite = payload.startsWith(INVITE_PREFIX) ? payload.slice(INVITE_PREFIX.length) : undefined;
    if (ctx.member && invite) {
      await say(ctx, inviteText(ctx.t, await acceptInvite(ctx.deps, invite, ctx.member.id)));
      return menus.showHome(ctx);
    }
    if (ctx.member) {
      if (ref) {
        const refused = await refuseReferral(ctx.deps.db, { code: ref, platform: ctx.adapter.platform, userId: ctx.from!.id }, 'already_member', ctx.member.id, ctx.deps.now());
        if (refused) await say(ctx, ctx.t(refused.reason === 'self' ? 'referral.own_link' : 'referral.already_member'));
      }
      return menus.showHome(ctx);
    }
    // A newcomer arriving through an invitation: the funnel's "opened", whether or not they join.
    if (ref) await noteInvitationOpened(ctx.deps.db, { code: ref, platform: ctx.adapter.platform, userId: ctx.from!.id }, ctx.deps.now());
    const start: SignupStart = { ...(ref ? { ref } : {}), ...(link ? { link } : {}), ...(invite ? { invite } : {}) };
    await ctx.conversation.enter(SIGNUP, start);
  });

  privateChat.command('menu', async (ctx) => {
    if (ctx.member) return menus.showHome(ctx);
    await ctx.conversation.enter(SIGNUP);
  });

  // Conversations have been left by now (see conversations/interrupt.ts). The Cancel button of a
  // reply keyboard left on screen by a conversation that ended on another command does the same.
  const cancel = async (ctx: Context) => {
    if (!ctx.member) return say(ctx, ctx.t('signup.cancelled'), { remove_keyboard: true });
    await say(ctx, ctx.t('menu.cancelled'), { remove_keyboard: true });
    await menus.showHome(ctx);
  };
  privateChat.command('cancel', cancel);
  privateChat.filter((ctx) => ctx.message?.text === ctx.t('till.cancel'), cancel);

  // "Show my card" under a campaign message.
  composer.callbackQuery('mycard', async (ctx) => {
    await ctx.answerCallbackQuery();
    if (ctx.member) await menus.sendCard(ctx, ctx.member);
    else await say(ctx, ctx.t('errors.not_member'));
  });

  composer.callbackQuery('home', async (ctx) => {
    await ctx.answerCallbackQuery();
    await menus.showHome(ctx);
  });

  /**
   * A member card opened by the phone camera. Staff see the member with the till's buttons;
   * anyone else is told what the card is for. A forged or expired token shows nothing.
   */
  async function cardScanned(ctx: Context, token: string) {
    if (!ctx.role) {
      await say(ctx, ctx.t('card.scan_not_staff'));
      if (ctx.member) await menus.showHome(ctx);
      return;
    }
    const verified = verifyCardToken(token, ctx.deps.cardSecret, ctx.deps.now());
    if (!verified.ok) return say(ctx, ctx.t(verified.reason === 'expired' ? 'card.scan_expired' : 'card.scan_invalid'));
    const member = await findMemberById(ctx.deps.db, verified.memberId);
    if (!member) return say(ctx, ctx.t('card.scan_invalid'));
    await showStaffView(ctx, member);
  }

  return composer;
}
