import { ClubComposer } from '../composer.ts';
import { campaignResults, recentCampaigns, setCampaignStatus } from '../../club/campaigns.ts';
import { countSegment, deleteSegment, findSegment, listSegments, loadSegment, segmentChoices, segmentUses, type SegmentUse } from '../../club/segments.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import { formatDateTime } from '../../lib/jalali.ts';
import { CAMPAIGN_EDIT } from '../conversations/campaign-edit.ts';
import { describeCondition, SEGMENT_BUTTONS, SEGMENT_RENAME } from '../conversations/segments.ts';
import type { Context } from '../context.ts';
import { BROADCAST, SEGMENT_BUILD } from '../conversations/campaigns.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';

/** Saved segments with their live counts, a button to open each, and buttons to build one with buttons or in the typed language. */
async function showSegments(ctx: Context) {
  const segments = await listSegments(ctx.deps.db, 20);
  const lines = [];
  for (const s of segments) {
    const count = await countSegment(ctx.deps.db, await loadSegment(ctx.deps.db, s.id), ctx.deps.now());
    lines.push(ctx.t('campaigns.segment_row', { id: formatNumber(s.id, ctx.locale), name: s.name, count: formatNumber(count, ctx.locale) }));
  }
  const open = segments.map((s) => ({ text: ctx.t('segedit.open', { name: s.name }), callback_data: `seg:v:${s.id}` }));
  await say(ctx, [ctx.t('campaigns.segments_title'), '', ...(lines.length ? lines : [ctx.t('growth.none')]), '', ctx.t('segbuild.usage')].join('\n'), {
    inline_keyboard: [
      ...Array.from({ length: Math.ceil(open.length / 2) }, (_, i) => open.slice(i * 2, i * 2 + 2)),
      [{ text: ctx.t('segbuild.new_buttons'), callback_data: 'seg:new' }],
      [{ text: ctx.t('segbuild.new_typed'), callback_data: 'seg:text' }],
    ],
  });
}

/** How a use of a segment is named on its screen and in a refusal. */
function useLine(ctx: Context, use: SegmentUse) {
  return use.kind === 'campaign' ? ctx.t('segedit.use_campaign', { id: formatNumber(use.id, ctx.locale) }) : ctx.t(`segedit.use_${use.kind}`, { name: use.name });
}

/** One segment: its conditions in words, its members, what still uses it; rename, edit, delete. */
async function showSegment(ctx: Context, id: number) {
  const { t, locale, deps } = ctx;
  const segment = await findSegment(deps.db, id);
  if (!segment) return showScreen(ctx, t('segedit.gone'), { inline_keyboard: [[{ text: t('segedit.back'), callback_data: 'open:segments' }]] });
  const [choices, count, uses] = await Promise.all([segmentChoices(deps.db), countSegment(deps.db, segment.filter, deps.now()), segmentUses(deps.db, id, deps.now())]);
  const groups = segment.filter.groups.filter((g) => g.length > 0).map((g) => g.map((c) => `• ${describeCondition(c, choices, ctx)}`).join('\n'));
  const lines = [
    t('segedit.title', { name: segment.name, id: formatNumber(id, locale) }),
    '',
    t('segedit.conditions'),
    groups.length ? groups.join(`\n${t('segedit.or')}\n`) : `• ${t('segedit.all')}`,
    '',
    t('segbuild.count', { count: formatNumber(count, locale) }),
    '',
    ...(uses.length ? [t('segedit.used_by'), ...uses.map((u) => useLine(ctx, u))] : [t('segedit.not_used')]),
  ];
  await showScreen(ctx, lines.join('\n'), {
    inline_keyboard: [
      [
        { text: t('segedit.rename'), callback_data: `seg:rn:${id}` },
        { text: t('segedit.edit'), callback_data: `seg:ed:${id}` },
      ],
      [{ text: t('segedit.delete'), callback_data: `seg:rm:${id}` }],
      [{ text: t('segedit.back'), callback_data: 'open:segments' }],
    ],
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
  const composer = new ClubComposer<Context>();
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
  composer.callbackQuery(/^seg:v:(\d+)$/, managerPress((ctx) => showSegment(ctx, Number(ctx.match[1]))));
  composer.callbackQuery(/^seg:rn:(\d+)$/, managerPress((ctx) => ctx.conversation.enter(SEGMENT_RENAME, Number(ctx.match[1]))));
  composer.callbackQuery(/^seg:ed:(\d+)$/, managerPress((ctx) => ctx.conversation.enter(SEGMENT_BUTTONS, Number(ctx.match[1]))));
  // Delete asks first, and says plainly what still uses the segment instead of deleting it.
  composer.callbackQuery(/^seg:rm:(\d+)$/, managerPress(async (ctx) => {
    const id = Number(ctx.match[1]);
    const segment = await findSegment(ctx.deps.db, id);
    if (!segment) return showSegment(ctx, id);
    const uses = await segmentUses(ctx.deps.db, id, ctx.deps.now());
    const back = { text: ctx.t('segedit.back'), callback_data: `seg:v:${id}` };
    if (uses.length) return showScreen(ctx, ctx.t('segedit.in_use', { name: segment.name, uses: uses.map((u) => useLine(ctx, u)).join('\n') }), { inline_keyboard: [[back]] });
    await showScreen(ctx, ctx.t('segedit.confirm_delete', { name: segment.name }), {
      inline_keyboard: [[{ text: ctx.t('segedit.delete_yes'), callback_data: `seg:rm!:${id}` }, { text: ctx.t('segedit.delete_no'), callback_data: `seg:v:${id}` }]],
    });
  }));
  composer.callbackQuery(/^seg:rm!:(\d+)$/, managerPress(async (ctx) => {
    const id = Number(ctx.match[1]);
    const segment = await findSegment(ctx.deps.db, id);
    if (!segment) return showSegment(ctx, id);
    // Checked again as it is deleted: something may have started using it since the question.
    const out = await deleteSegment(ctx.deps.db, ctx.member!.id, id, ctx.deps.now());
    const back = [[{ text: ctx.t('segedit.back'), callback_data: 'open:segments' }]];
    if (!out.deleted) return showScreen(ctx, ctx.t('segedit.in_use', { name: segment.name, uses: out.uses.map((u) => useLine(ctx, u)).join('\n') }), { inline_keyboard: [[{ text: ctx.t('segedit.back'), callback_data: `seg:v:${id}` }]] });
    await showScreen(ctx, ctx.t('segedit.deleted', { name: segment.name }), { inline_keyboard: back });
  }));
  composer.callbackQuery(/^cpl:x:(\d+)$/, managerPress(async (ctx) => {
    const id = Number(ctx.match[1]);
    const cancelled = await setCampaignStatus(ctx.deps.db, id, 'cancelled', { memberId: ctx.member!.id, now: ctx.deps.now() });
    await say(ctx, ctx.t(cancelled ? 'campaignlist.cancelled' : 'campaigns.no_change', { id: formatNumber(id, ctx.locale) }));
    await showCampaigns(ctx);
  }));
  composer.callbackQuery(/^cpl:([tm]):(\d+)$/, managerPress((ctx) => ctx.conversation.enter(CAMPAIGN_EDIT, Number(ctx.match[2]), ctx.match[1] === 't' ? 'time' : 'text')));
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
