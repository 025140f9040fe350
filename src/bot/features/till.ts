import { ClubComposer } from '../composer.ts';
import { normalizePhone } from '../../lib/phone.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import type { Context } from '../context.ts';
import { PURCHASE, REWARD_CODE, SPEND } from '../conversations/till.ts';
import { VOUCHER_CHECK } from '../conversations/vouchers.ts';
import { staffView } from '../screens.ts';
import { say } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { findMemberById, findMemberByPhone } from '../../club/members.ts';
import type { Member } from '../../db/schema.ts';

/** Finds a member by phone number (any form) or member number. */
export async function findMemberByQuery(ctx: Context, query: string): Promise<Member | undefined> {
  const text = toLatinDigits(query).trim();
  const phone = normalizePhone(text);
  if (phone) return findMemberByPhone(ctx.deps.db, phone);
  if (/^\d{1,12}$/.test(text)) return findMemberById(ctx.deps.db, Number(text));
  return undefined;
}

export async function showStaffView(ctx: Context, member: Member) {
  const view = await staffView(ctx.deps, member, ctx);
  await say(ctx, view.html, view.keyboard);
}

/** The till: a staff view of a member and the actions on it. */
export function tillFeature() {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');
  const anyStaff = staffOnly('owner', 'manager', 'cashier');

  privateChat.command('member', anyStaff, async (ctx) => {
    const query = ctx.match.trim();
    if (!query) return say(ctx, ctx.t('till.member_usage'));
    const member = await findMemberByQuery(ctx, query);
    if (!member) {
      // A phone the club does not know: the cashier can register the customer right here.
      const phone = normalizePhone(toLatinDigits(query));
      return say(ctx, ctx.t('errors.member_not_found'), phone ? { inline_keyboard: [[{ text: ctx.t('walkin.register'), callback_data: `wi:${phone}` }]] } : undefined);
    }
    await showStaffView(ctx, member);
  });

  privateChat.command('code', anyStaff, (ctx) => ctx.conversation.enter(REWARD_CODE));

  composer.callbackQuery(/^till:([pcsrv]):(\d+)$/, async (ctx) => {
    if (!ctx.role) {
      await ctx.answerCallbackQuery({ text: ctx.t('errors.not_staff'), show_alert: true });
      return;
    }
    await ctx.answerCallbackQuery();
    const [, action, id] = ctx.match;
    const memberId = Number(id);
    if (action === 'p') await ctx.conversation.enter(PURCHASE, memberId, false);
    else if (action === 'c') await ctx.conversation.enter(PURCHASE, memberId, true);
    else if (action === 's') await ctx.conversation.enter(SPEND, memberId);
    else if (action === 'v') await ctx.conversation.enter(VOUCHER_CHECK, memberId);
    else await ctx.conversation.enter(REWARD_CODE);
  });

  return composer;
}
