import type { Conversation } from '@grammyjs/conversations';
import { campaignTextMax, createCampaign, scheduleCampaign, setCampaignStatusMessage, startCampaign, type CampaignButton } from '../../club/campaigns.ts';
import { findMemberById } from '../../club/members.ts';
import { poolsWithFreeCodes } from '../../club/vouchers.ts';
import { renderCampaign } from '../../jobs/broadcast.ts';
import { countSegment, listSegments, loadSegment, parseSegment, saveSegment } from '../../club/segments.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDateTime, parseJalaliMoment } from '../../lib/jalali.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { askText, attempt, managerIdOf, pickButton } from './ask.ts';

export const SEGMENT_BUILD = 'segment_build';
export const BROADCAST = 'broadcast';

type CampaignConversation = Conversation<Context, ConversationContext>;

/** "1405/9/10 18:30" in the club's zone; null if it is not a real date with a time. */
export function parseJalaliDateTime(text: string, tz: string): Date | null {
  const moment = parseJalaliMoment(text, tz);
  return moment?.hasTime ? moment.at : null;
}

export function createCampaignConversations(deps: ClubDeps) {
  /** A segment in the small typed language, with the live count before saving. */
  async function buildSegment(conversation: CampaignConversation, ctx: ConversationContext) {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const name = await askText(conversation, ctx, t('campaigns.ask_segment_name'), { cancelledKey: 'campaigns.cancelled', max: 64 });
    if (name === null) return;
    for (;;) {
      const expression = await askText(conversation, ctx, t('campaigns.ask_segment_filter'), { cancelledKey: 'campaigns.cancelled', max: 500 });
      if (expression === null) return;
      const counted = await conversation.external(() => attempt(async () => countSegment(deps.db, parseSegment(expression), deps.now())));
      if (!counted.ok) {
        await say(ctx, t(counted.key, counted.params));
        continue;
      }
      const choice = await pickButton(conversation, ctx, t('campaigns.segment_count', { count: formatNumber(counted.value, locale) }), [
        [[t('campaigns.save'), 'save'], [t('campaigns.edit'), 'edit'], [t('till.cancel'), 'cancel']],
      ]);
      if (choice === 'cancel') return say(ctx, t('campaigns.cancelled'), { remove_keyboard: true });
      if (choice === 'edit') continue;
      const saved = await conversation.external(() => attempt(() => saveSegment(deps.db, actor, name, parseSegment(expression), deps.now())));
      return say(ctx, saved.ok ? t('campaigns.segment_saved', { name, count: formatNumber(counted.value, locale) }) : t(saved.key), { remove_keyboard: true });
    }
  }

  async function broadcast(conversation: CampaignConversation, ctx: ConversationContext) {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const segments = await conversation.external(() => listSegments(deps.db));
    const segmentChoice = await pickButton(conversation, ctx, t('campaigns.ask_segment'), [
      [[t('campaigns.all_members'), 'all']],
      ...segments.map((s): [string, string][] => [[s.name, `s${s.id}`]]),
      [[t('till.cancel'), 'cancel']],
    ]);
    if (segmentChoice === 'cancel') return say(ctx, t('campaigns.cancelled'));
    const segmentId = segmentChoice === 'all' ? null : Number(segmentChoice.slice(1));

    await say(ctx, t('campaigns.ask_message'));
    let text = '';
    let photo: string | null = null;
    while (!text) {
      const update = await conversation.wait();
      const sizes = update.message?.photo;
      const body = (update.message?.text ?? update.message?.caption ?? '').trim();
      if (sizes?.length && !body) await say(update, t('campaigns.caption_needed'));
      else if (body.length > campaignTextMax(Boolean(sizes?.length), false)) await say(update, t('errors.text_too_long', { max: formatNumber(campaignTextMax(Boolean(sizes?.length), false), locale) }));
      else if (body) {
        text = body;
        photo = sizes?.length ? sizes[sizes.length - 1]!.file_id : null;
      } else if (update.callbackQuery) await update.answerCallbackQuery({ text: t('till.finish_first') });
      else await say(update, t('campaigns.ask_message'));
    }

    let button: CampaignButton = null;
    const buttonChoice = await pickButton(conversation, ctx, t('campaigns.ask_button'), [[[t('campaigns.no_button'), 'none'], [t('campaigns.link_button'), 'url'], [t('campaigns.card_button'), 'card']]]);
    if (buttonChoice === 'card') button = { kind: 'card' };
    if (buttonChoice === 'url') {
      while (!button) {
        const raw = await askText(conversation, ctx, t('campaigns.ask_link'), { cancelledKey: 'campaigns.cancelled', max: 300 });
        if (raw === null) return;
        const [label, url] = raw.split('|').map((s) => s.trim());
        if (label && url && /^https:\/\/\S+$/.test(url) && label.length <= 40) button = { kind: 'url', text: label, url };
        else await say(ctx, t('campaigns.link_invalid'));
      }
    }

    const pools = await conversation.external(() => poolsWithFreeCodes(deps.db, deps.now()));
    let pool: (typeof pools)[number] | null = null;
    if (pools.length > 0) {
      const choice = await pickButton(conversation, ctx, t('campaigns.ask_voucher'), [
        [[t('campaigns.no_voucher'), 'none']],
        ...pools.map((p): [string, string][] => [[p.name, `v${p.id}`]]),
      ]);
      pool = pools.find((p) => `v${p.id}` === choice) ?? null;
    }
    if (pool && text.length > campaignTextMax(Boolean(photo), true)) {
      return say(ctx, t('errors.text_too_long', { max: formatNumber(campaignTextMax(Boolean(photo), true), locale) }));
    }

    const prepared = await conversation.external(async () => {
      const campaign = await createCampaign(deps.db, actor, { segmentId, text, photoFileId: photo, button, voucherPoolId: pool?.id ?? null }, deps.now());
      const recipients = await countSegment(deps.db, await loadSegment(deps.db, segmentId), deps.now());
      const sender = await findMemberById(deps.db, actor);
      return { id: campaign.id, recipients, senderName: sender?.first_name ?? '' };
    });
    // The preview is the message exactly as members receive it (here with the sender's name and a sample code).
    const preview = renderCampaign(deps, { text, button, photo_file_id: photo }, { first_name: prepared.senderName, locale, voucher_code: pool ? 'SAMPLE00' : null }, ctx.adapter);
    const other = { ...(preview.parse_mode ? { parse_mode: preview.parse_mode } : {}), ...(preview.keyboard ? { reply_markup: preview.keyboard } : {}) };
    await say(ctx, t('campaigns.preview_intro'), { remove_keyboard: true });
    if (photo) await ctx.replyWithPhoto(photo, { caption: preview.text, ...other });
    else await ctx.reply(preview.text, { ...other, link_preview_options: { is_disabled: true } });
    if (pool && pool.source === 'uploaded' && pool.free < prepared.recipients) {
      await say(ctx, t('campaigns.voucher_short', { free: formatNumber(pool.free, locale), recipients: formatNumber(prepared.recipients, locale) }));
    }

    const when = await pickButton(conversation, ctx, t('campaigns.confirm', { count: formatNumber(prepared.recipients, locale) }), [
      [[t('campaigns.send_now'), 'now'], [t('campaigns.schedule'), 'later']],
      [[t('till.cancel'), 'cancel']],
    ]);
    if (when === 'cancel') return say(ctx, t('campaigns.cancelled'));
    if (when === 'later') {
      for (;;) {
        const raw = await askText(conversation, ctx, t('campaigns.ask_time'), { cancelledKey: 'campaigns.cancelled', max: 40 });
        if (raw === null) return;
        const nowIso = await conversation.external(() => deps.now().toISOString());
        const at = parseJalaliDateTime(raw, deps.config.timeZone);
        if (!at || at.getTime() <= new Date(nowIso).getTime()) {
          await say(ctx, t('campaigns.time_invalid'));
          continue;
        }
        await conversation.external(() => scheduleCampaign(deps.db, prepared.id, at, { memberId: actor, now: deps.now() }));
        return say(ctx, t('campaigns.scheduled', { id: formatNumber(prepared.id, locale), when: formatDateTime(at, locale, deps.config.timeZone) }), { remove_keyboard: true });
      }
    }
    const status = await say(ctx, t('campaigns.starting', { id: formatNumber(prepared.id, locale) }));
    await conversation.external(async () => {
      await setCampaignStatusMessage(deps.db, prepared.id, { platform: ctx.adapter.platform, chatId: status.chat.id, messageId: status.message_id });
      await startCampaign(deps.db, prepared.id, deps.now());
      deps.broadcaster.kick(prepared.id);
    });
  }

  return { buildSegment, broadcast };
}
