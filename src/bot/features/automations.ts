import { listSegments } from '../../club/segments.ts';
import { ClubComposer } from '../composer.ts';
import { automationAudience, findAutomation, greetingKey, listAutomations, occasionDate, previewAutomation, updateAutomation } from '../../club/automations.ts';
import type { Automation } from '../../db/schema.ts';
import { formatNumber } from '../../lib/format.ts';
import { escapeHtml } from '../../lib/html.ts';
import { formatDate, todayIso } from '../../lib/jalali.ts';
import type { Context } from '../context.ts';
import { AUTOMATION_EDIT, AUTOMATION_NEW, type AutomationField } from '../conversations/automations.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';
import { runningPools } from '../../club/vouchers.ts';

const BUILT_IN = ['birthday', 'winback', 'nowruz', 'yalda'];

function automationName(ctx: Context, a: Automation) {
  return BUILT_IN.includes(a.name) ? ctx.t(`automations.name_${a.name}`) : a.name;
}

/** One line: on or off, when it fires, the gift. */
function summary(ctx: Context, a: Automation) {
  const n = (v: number) => formatNumber(v, ctx.locale);
  const when =
    a.kind === 'birthday'
      ? ctx.t('automations.when_birthday', { days: n(a.days) })
      : a.kind === 'winback'
        ? ctx.t('automations.when_winback', { days: n(a.days) })
        : ctx.t('automations.when_occasion', { date: formatDate(occasionDate(todayIso(ctx.deps.now(), ctx.deps.config.timeZone), a.jalali_month!, a.jalali_day!), ctx.locale, ctx.deps.config.timeZone) });
  return ctx.t('automations.row', {
    state: a.enabled ? '✅' : '⏸',
    name: automationName(ctx, a),
    when,
    gift: a.gift_points > 0 ? ctx.t('automations.gift', { points: n(a.gift_points) }) : ctx.t('automations.no_gift'),
  });
}

async function listScreen(ctx: Context) {
  const all = await listAutomations(ctx.deps.db);
  const html = [ctx.t('automations.title'), '', ...all.map((a) => summary(ctx, a)), '', ctx.t('automations.help')].join('\n');
  const keyboard = {
    inline_keyboard: [
      ...all.map((a) => [{ text: `${a.enabled ? '✅' : '⏸'} ${automationName(ctx, a)}`, callback_data: `au:s:${a.id}` }]),
      [{ text: ctx.t('automations.add_occasion'), callback_data: 'au:new' }],
    ],
  };
  return { html, keyboard };
}

/** One automation: its settings, its message, and who would receive it today. */
async function detailScreen(ctx: Context, a: Automation) {
  const now = ctx.deps.now();
  const preview = await previewAutomation(ctx.deps.db, a, { today: todayIso(now, ctx.deps.config.timeZone), now, timeZone: ctx.deps.config.timeZone });
  const audience = await automationAudience(ctx.deps.db, a);
  const html = [
    summary(ctx, a),
    ctx.t('automations.audience', { segment: audience.segment ?? ctx.t('campaigns.all_members'), voucher: audience.pool ?? ctx.t('campaigns.no_voucher') }),
    '',
    // The greeting is already HTML (the name escaped in it): escaping it again would show `&amp;`.
    ctx.t('automations.message_is', {
      message: a.message !== null ? escapeHtml(a.message) : ctx.t(greetingKey(a), { name: ctx.member?.first_name ?? '', points: formatNumber(a.gift_points, ctx.locale) }),
      interpolation: { escapeValue: false },
    }),
    '',
    ctx.t('automations.preview', { count: formatNumber(preview.count, ctx.locale), names: preview.names.join('، ') || '—' }),
  ].join('\n');
  const keyboard = {
    inline_keyboard: [
      [{ text: ctx.t(a.enabled ? 'automations.turn_off' : 'automations.turn_on'), callback_data: `au:t:${a.id}` }],
      [
        { text: ctx.t('automations.edit_message'), callback_data: `au:e:${a.id}:message` },
        { text: ctx.t('automations.edit_gift'), callback_data: `au:e:${a.id}:gift` },
      ],
      ...(a.kind === 'occasion' ? [] : [[{ text: ctx.t(`automations.edit_days_${a.kind}`), callback_data: `au:e:${a.id}:days` }]]),
      [
        { text: ctx.t('automations.edit_segment'), callback_data: `au:p:${a.id}:segment` },
        { text: ctx.t('automations.edit_voucher'), callback_data: `au:p:${a.id}:voucher` },
      ],
      [{ text: ctx.t('automations.back'), callback_data: 'au:l' }],
    ],
  };
  return { html, keyboard };
}

export function automationsFeature() {
  const composer = new ClubComposer<Context>();
  const managers = staffOnly('owner', 'manager');

  const showList = async (ctx: Context) => {
    const screen = await listScreen(ctx);
    await say(ctx, screen.html, screen.keyboard);
  };
  composer.chatType('private').command('automations', managers, showList);
  opens(composer, 'automations', MANAGERS, showList);

  const managerPress = composer.filter((ctx) => ctx.callbackQuery?.data?.startsWith('au:') === true);
  managerPress.use(async (ctx, next) => {
    if (ctx.role === 'owner' || ctx.role === 'manager') return next();
    await ctx.answerCallbackQuery({ text: ctx.t('errors.manager_only'), show_alert: true });
  });

  managerPress.callbackQuery('au:l', async (ctx) => {
    await ctx.answerCallbackQuery();
    const screen = await listScreen(ctx);
    await showScreen(ctx, screen.html, screen.keyboard);
  });

  managerPress.callbackQuery(/^au:([st]):(\d+)$/, async (ctx) => {
    const id = Number(ctx.match[2]);
    let a = await findAutomation(ctx.deps.db, id);
    if (!a) return ctx.answerCallbackQuery({ text: ctx.t('errors.automation_not_found'), show_alert: true });
    if (ctx.match[1] === 't') {
      a = await updateAutomation(ctx.deps.db, ctx.member!.id, id, { enabled: !a.enabled }, ctx.deps.now());
      await ctx.answerCallbackQuery({ text: ctx.t(a.enabled ? 'automations.now_on' : 'automations.now_off') });
    } else await ctx.answerCallbackQuery();
    const screen = await detailScreen(ctx, a);
    await showScreen(ctx, screen.html, screen.keyboard);
  });

  managerPress.callbackQuery(/^au:e:(\d+):(message|gift|days)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    await ctx.conversation.enter(AUTOMATION_EDIT, Number(ctx.match[1]), ctx.match[2] as AutomationField);
  });

  // Who it is for, and which voucher pool gives each recipient a code: chosen from buttons.
  managerPress.callbackQuery(/^au:p:(\d+):(segment|voucher)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const [, id, what] = ctx.match;
    const options =
      what === 'segment'
        ? await listSegments(ctx.deps.db, 10)
        : await runningPools(ctx.deps.db, ctx.deps.now());
    const none = what === 'segment' ? ctx.t('campaigns.all_members') : ctx.t('campaigns.no_voucher');
    await showScreen(ctx, ctx.t(what === 'segment' ? 'automations.pick_segment' : 'automations.pick_voucher'), {
      inline_keyboard: [
        [{ text: none, callback_data: `au:set:${id}:${what === 'segment' ? 's' : 'v'}:0` }],
        ...options.map((o) => [{ text: o.name, callback_data: `au:set:${id}:${what === 'segment' ? 's' : 'v'}:${o.id}` }]),
        [{ text: ctx.t('automations.back'), callback_data: `au:s:${id}` }],
      ],
    });
  });

  managerPress.callbackQuery(/^au:set:(\d+):([sv]):(\d+)$/, async (ctx) => {
    const [, id, what, value] = ctx.match;
    const chosen = Number(value) || null;
    const a = await updateAutomation(ctx.deps.db, ctx.member!.id, Number(id), what === 's' ? { segment_id: chosen } : { voucher_pool_id: chosen }, ctx.deps.now());
    await ctx.answerCallbackQuery({ text: ctx.t('automations.updated') });
    const screen = await detailScreen(ctx, a);
    await showScreen(ctx, screen.html, screen.keyboard);
  });

  managerPress.callbackQuery('au:new', async (ctx) => {
    await ctx.answerCallbackQuery();
    await ctx.conversation.enter(AUTOMATION_NEW);
  });

  return composer;
}
