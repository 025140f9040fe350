import type { Conversation } from '@grammyjs/conversations';
import { InputFile } from 'grammy';
import QRCode from 'qrcode';
import { findMemberByPhone, registerWalkIn } from '../../club/members.ts';
import { staffAtTill } from '../../club/staff.ts';
import { displayPhone, normalizePhone } from '../../lib/phone.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { loadMember } from '../../club/members.ts';
import { staffView } from '../screens.ts';
import { say } from '../ui.ts';
import { askText } from './ask.ts';

export const WALK_IN = 'walk_in';
/** The deep-link payload of the invitation a walk-in customer takes home. */
export const WALK_IN_PAYLOAD = 'walkin';

type WalkInConversation = Conversation<Context, ConversationContext>;

/**
 * A cashier registers a customer who is not in the bot, by phone: the member is pre-registered
 * (purchases earn points now, kept until the person joins and shares this phone), the cashier
 * gets an invitation (QR and link) to show or hand over, and the member's till screen to record
 * the purchase at once.
 */
export function createWalkInConversation(deps: ClubDeps) {
  return async function walkIn(conversation: WalkInConversation, ctx: ConversationContext, given: string | null = null) {
    const { t } = ctx;
    const staff = await conversation.external(() => staffAtTill(deps.db, ctx.adapter.platform, ctx.from!.id));
    if (!staff) return say(ctx, t('errors.not_staff'));
    const opts = { cancelledKey: 'till.cancelled' };

    let phone = given ? normalizePhone(given) : null;
    for (let prompt = t('walkin.ask_phone'); phone === null; prompt = t('walkin.phone_invalid')) {
      const text = await askText(conversation, ctx, prompt, { ...opts, max: 32 });
      if (text === null) return;
      phone = normalizePhone(text);
    }
    const verified = phone;
    const existing = await conversation.external(async () => (await findMemberByPhone(deps.db, verified))?.id ?? null);
    if (existing === null) {
      const name = await askText(conversation, ctx, t('walkin.ask_name'), { ...opts, extra: [t('till.skip')], max: 64 });
      if (name === null) return;
      const firstName = ctx.isLabel(name, 'till.skip') ? null : name;
      await conversation.external(() => registerWalkIn(deps.db, { phone: verified, firstName, actorMemberId: staff.memberId, now: deps.now() }));
      const png = await conversation.external(async (outside) => {
        const link = ctx.adapter.deepLink(outside.me.username, WALK_IN_PAYLOAD);
        const image = await QRCode.toBuffer(link, { type: 'png', width: 480, margin: 2, errorCorrectionLevel: 'M' });
        return { link, image: image.toString('base64') };
      });
      const caption = ctx.adapter.render(t('walkin.invitation', { link: png.link, phone: displayPhone(verified, ctx.locale) }));
      await ctx.replyWithPhoto(new InputFile(Buffer.from(png.image, 'base64'), 'invitation.png'), {
        caption: caption.text,
        ...(caption.parse_mode ? { parse_mode: caption.parse_mode } : {}),
        reply_markup: { remove_keyboard: true },
      });
    } else {
      await say(ctx, t('walkin.already_member'), { remove_keyboard: true });
    }
    const view = await conversation.external(async () => {
      const member = await loadMember(deps.db, (await findMemberByPhone(deps.db, verified))!.id);
      return staffView(deps, member, ctx);
    });
    await say(ctx, view.html, view.keyboard);
  };
}
