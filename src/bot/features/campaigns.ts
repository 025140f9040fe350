import { Composer } from 'grammy';
import { campaignResults, setCampaignStatus } from '../../club/campaigns.ts';
import { countSegment, segmentFilterSchema } from '../../club/segments.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import type { Context } from '../context.ts';
import { BROADCAST, SEGMENT_BUILD } from '../conversations/campaigns.ts';
import { say } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';

export function campaignsFeature() {
  const composer = new Composer<Context>();
  const managers = staffOnly('owner', 'manager');
  const privateChat = composer.chatType('private');

  privateChat.command('broadcast', managers, (ctx) => ctx.conversation.enter(BROADCAST));

  privateChat.command('segments', managers, async (ctx) => {
    if (ctx.match.trim() === 'add') return ctx.conversation.enter(SEGMENT_BUILD);
    const segments = await ctx.deps.db.selectFrom('segments').selectAll().orderBy('id').execute();
    const lines = [];
    for (const s of segments) {
      const count = await countSegment(ctx.deps.db, segmentFilterSchema.parse(s.filter), ctx.deps.now());
      lines.push(ctx.t('campaigns.segment_row', { id: formatNumber(s.id, ctx.locale), name: s.name, count: formatNumber(count, ctx.locale) }));
    }
    await say(ctx, [ctx.t('campaigns.segments_title'), '', ...(lines.length ? lines : [ctx.t('growth.none')]), '', ctx.t('campaigns.segments_usage')].join('\n'));
  });

  const listCampaigns = async (ctx: Context) => {
    const recent = await ctx.deps.db.selectFrom('campaigns').select('id').orderBy('id', 'desc').limit(5).execute();
    if (recent.length === 0) return say(ctx, ctx.t('campaigns.none'));
    const n = (v: number) => formatNumber(v, ctx.locale);
    const lines = [];
    for (const { id } of recent) {
      const r = await campaignResults(ctx.deps.db, id);
      lines.push(
        ctx.t('campaigns.result_row', {
          id: n(id),
          status: ctx.t(`campaigns.status_${r.campaign.status}`),
          sent: n(r.progress.sent),
          blocked: n(r.progress.blocked),
          failed: n(r.progress.failed + r.progress.lost),
          buyers: n(r.buyers),
          revenue: formatRials(r.revenue, ctx.locale),
        }),
      );
    }
    await say(ctx, [ctx.t('campaigns.results_title'), '', ...lines].join('\n'));
  };
  privateChat.command('campaigns', managers, listCampaigns);
  opens(composer, 'campaigns', MANAGERS, listCampaigns);
  opens(composer, 'broadcast', MANAGERS, (ctx) => ctx.conversation.enter(BROADCAST));

  composer.callbackQuery(/^cp:(pause|resume|cancel):(\d+)$/, async (ctx) => {
    if (ctx.role !== 'owner' && ctx.role !== 'manager') return ctx.answerCallbackQuery({ text: ctx.t('errors.manager_only'), show_alert: true });
    const id = Number(ctx.match[2]);
    const to = ctx.match[1] === 'pause' ? 'paused' : ctx.match[1] === 'resume' ? 'sending' : 'cancelled';
    const updated = await setCampaignStatus(ctx.deps.db, id, to, { memberId: ctx.member!.id, now: ctx.deps.now() });
    await ctx.answerCallbackQuery({ text: ctx.t(updated ? `campaigns.now_${to}` : 'campaigns.no_change') });
    if (updated && to === 'sending') ctx.deps.broadcaster.kick(id);
  });

  return composer;
}
