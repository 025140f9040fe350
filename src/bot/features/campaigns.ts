import { Composer } from 'grammy';
import { campaignResults, recentCampaigns, setCampaignStatus } from '../../club/campaigns.ts';
import { countSegment, listSegments, loadSegment } from '../../club/segments.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import { formatDateTime } from '../../lib/jalali.ts';
import { CAMPAIGN_EDIT } from '../conversations/campaign-edit.ts';
import { SEGMENT_BUTTONS } from '../conversations/segments.ts';
import type { Context } from '../context.ts';
import { BROADCAST, SEGMENT_BUILD } from '../conversations/campaigns.ts';
import { say } from '../ui.ts';
import { staffOnly } from './staff.ts';

/** Saved segments with their live counts, and buttons to build one with buttons or in the typed language. */
async function showSegments(ctx: Context) {
  const segments = await listSegments(ctx.deps.db, 20);
  const lines = [];
  for (const s of segments) {
    const count = await countSegment(ctx.deps.db, await loadSegment(ctx.deps.db, s.id), ctx.deps.now());
    lines.push(ctx.t('campaigns.segment_row', { id: formatNumber(s.id, ctx.locale), name: s.name, count: formatNumber(count, ctx.locale) }));
  }
  await say(ctx, [ctx.t('campaigns.segments_title'), '', ...(lines.length ? lines : [ctx.t('growth.none')]), '', ctx.t('segbuild.usage')].join('\n'), {
    inline_keyboard: [[{ text: ctx.t('segbuild.new_buttons'), callback_data: 'seg:new' }], [{ text: ctx.t('segbuild.new_typed'), callback_data: 'seg:text' }]],
  });
}

/** Each recent campaign: its text, who it is for, its schedule, reach and voucher uses; a scheduled one can be changed or cancelled. */
async function showCampaigns(ctx: Context) {
  const campaigns = await recentCampaigns(ctx.deps.db, 8);
  if (campaigns.length === 0) return say(ctx, ctx.t('campaigns.none'));
  const n = (v: number) => formatNumber(v, ctx.locale);
  const tz = ctx.deps.config.timeZone;
  const blocks = [];
  for (const c of campaigns) {
    const r = await campaignResults(ctx.deps.db, c.id);
    const excerpt = c.text.length > 80 ? `${c.text.slice(0, 80)}…` : c.text;
    const when =
      c.status === 'scheduled' && c.scheduledAt ? ctx.t('campaignlist.when_scheduled', { when: formatDateTime(c.scheduledAt, ctx.locale, tz) })
      : c.startedAt ? ctx.t('campaignlist.when_started', { when: formatDateTime(c.startedAt, ctx.locale, tz) })
      : ctx.t('campaignlist.when_never');
    blocks.push(
      [
        ctx.t('campaigns.result_row', {
          id: n(c.id),
          status: ctx.t(`campaigns.status_${c.status}`),
          sent: n(r.progress.sent),
          blocked: n(r.progress.blocked),
          failed: n(r.progress.failed + r.progress.lost),
          buyers: n(r.buyers),
          revenue: formatRials(r.revenue, ctx.locale),
        }),
        ctx.t('campaignlist.details', { segment: c.segment ? ctx.t('campaignlist.segment', { name: c.segment }) : ctx.t('campaigns.all_members'), when }),
        ctx.t('campaignlist.text', { text: excerpt }),
        ...(c.pool ? [ctx.t('campaignlist.vouchers', { pool: c.pool, used: n(c.vouchersUsed), given: n(c.vouchersGiven) })] : []),
      ].join('\n'),
    );
  }
  const buttons = campaigns
    .filter((c) => c.status === 'scheduled')
    .map((c) => [
      { text: ctx.t('campaignlist.cancel', { id: n(c.id) }), callback_data: `cpl:x:${c.id}` },
      { text: ctx.t('campaignlist.change_time', { id: n(c.id) }), callback_data: `cpl:t:${c.id}` },
      { text: ctx.t('campaignlist.change_text', { id: n(c.id) }), callback_data: `cpl:m:${c.id}` },
    ]);
  await say(ctx, [ctx.t('campaigns.results_title'), '', blocks.join('\n\n')].join('\n'), buttons.length ? { inline_keyboard: buttons } : undefined);
}

export function campaignsFeature() {
  const composer = new Composer<Context>();
  const managers = staffOnly('owner', 'manager');
  const privateChat = composer.chatType('private');

  privateChat.command('broadcast', managers, (ctx) => ctx.conversation.enter(BROADCAST));

  privateChat.command('segments', managers, async (ctx) => {
    if (ctx.match.trim() === 'add') return ctx.conversation.enter(SEGMENT_BUILD);
    await showSegments(ctx);
  });
  privateChat.command('campaigns', managers, (ctx) => showCampaigns(ctx));

  // The staff panel's buttons (open:<name>) and the buttons under the two lists.
  const managerPress = (handler: (ctx: Context & { match: RegExpMatchArray | string }) => Promise<unknown>) => async (ctx: Context & { match: RegExpMatchArray | string }) => {
    if (ctx.role !== 'owner' && ctx.role !== 'manager') return ctx.answerCallbackQuery({ text: ctx.t('errors.manager_only'), show_alert: true });
    await ctx.answerCallbackQuery();
    await handler(ctx);
  };
  composer.callbackQuery('open:segments', managerPress((ctx) => showSegments(ctx)));
  composer.callbackQuery('open:campaigns', managerPress((ctx) => showCampaigns(ctx)));
  composer.callbackQuery('seg:new', managerPress((ctx) => ctx.conversation.enter(SEGMENT_BUTTONS)));
  composer.callbackQuery('seg:text', managerPress((ctx) => ctx.conversation.enter(SEGMENT_BUILD)));
  composer.callbackQuery(/^cpl:x:(\d+)$/, managerPress(async (ctx) => {
    const id = Number(ctx.match[1]);
    const cancelled = await setCampaignStatus(ctx.deps.db, id, 'cancelled', { memberId: ctx.member!.id, now: ctx.deps.now() });
    await say(ctx, ctx.t(cancelled ? 'campaignlist.cancelled' : 'campaigns.no_change', { id: formatNumber(id, ctx.locale) }));
    await showCampaigns(ctx);
  }));
  composer.callbackQuery(/^cpl:([tm]):(\d+)$/, managerPress((ctx) => ctx.conversation.enter(CAMPAIGN_EDIT, Number(ctx.match[2]), ctx.match[1] === 't' ? 'time' : 'text')));

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
