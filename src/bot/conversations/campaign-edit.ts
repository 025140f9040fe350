import type { Conversation } from '@grammyjs/conversations';
import { editCampaignText, rescheduleCampaign } from '../../club/campaigns.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDateTime } from '../../lib/jalali.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { askText, attempt, managerIdOf } from './ask.ts';
import { parseJalaliDateTime } from './campaigns.ts';

export const CAMPAIGN_EDIT = 'campaign_edit';

/** Changes a scheduled campaign's time or text (entered with the campaign id and what to change). */
export function createCampaignEditConversation(deps: ClubDeps) {
  return async function campaignEdit(conversation: Conversation<Context, ConversationContext>, ctx: ConversationContext, campaignId: number, what: 'time' | 'text') {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const id = formatNumber(campaignId, locale);
    for (;;) {
      const raw = await askText(conversation, ctx, t(what === 'time' ? 'campaignlist.ask_time' : 'campaignlist.ask_text', { id }), { cancelledKey: 'campaignlist.edit_cancelled', max: what === 'time' ? 40 : 4096 });
      if (raw === null) return;
      if (what === 'time') {
        const nowIso = await conversation.external(() => deps.now().toISOString());
        const at = parseJalaliDateTime(raw, deps.config.timeZone);
        if (!at || at.getTime() <= new Date(nowIso).getTime()) {
          await say(ctx, t('campaigns.time_invalid'));
          continue;
        }
        const done = await conversation.external(() => attempt(() => rescheduleCampaign(deps.db, campaignId, at, { memberId: actor, now: deps.now() })));
        return say(ctx, done.ok ? t('campaignlist.rescheduled', { id, when: formatDateTime(at, locale, deps.config.timeZone) }) : t(done.key, done.params), { remove_keyboard: true });
      }
      const done = await conversation.external(() => attempt(() => editCampaignText(deps.db, campaignId, raw, { memberId: actor, now: deps.now() })));
      if (!done.ok && done.key === 'errors.text_too_long') {
        await say(ctx, t(done.key, { max: formatNumber(Number(done.params.max), locale) }));
        continue;
      }
      return say(ctx, done.ok ? t('campaignlist.text_changed', { id }) : t(done.key, done.params), { remove_keyboard: true });
    }
  };
}
