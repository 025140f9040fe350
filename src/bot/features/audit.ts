import { ClubComposer } from '../composer.ts';
import type { InlineKeyboardButton } from 'grammy/types';
import { AUDIT_GROUPS, auditActors, isAuditGroup, listAudit, type AuditFilter, type AuditRow } from '../../club/audit.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDateTime } from '../../lib/jalali.ts';
import type { Context } from '../context.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { OWNERS, opens } from '../panel/open.ts';

/** Payload fields worth a word in the list, in this order (the rest stays in the database). */
const FIELDS = ['member_id', 'purchase_id', 'campaign_id', 'segment_id', 'survey_id', 'ticket_id', 'pool_id', 'role', 'amount', 'points', 'code', 'reason'] as const;

/**
 * Callback data: `au:l:<actor|0>:<group|->:<before id|0>` lists a page; `au:a:<group|->` picks a
 * staff member, `au:g:<actor|0>` picks a group of actions. Ids only, far below 64 bytes.
 */
const listData = (f: AuditFilter) => `au:l:${f.actor ?? 0}:${f.group ?? '-'}:${f.before ?? 0}`;

function describe(ctx: Context, row: AuditRow) {
  const n = (v: number) => formatNumber(v, ctx.locale);
  const key = `audit.action.${row.action.replace(/\./g, '_')}`;
  const action = ctx.deps.i18n.exists(key, { lng: ctx.locale }) ? ctx.t(key) : row.action;
  const details = FIELDS.filter((f) => row.payload[f] !== undefined && row.payload[f] !== null).map((f) => {
    const value = row.payload[f];
    const shown = typeof value === 'number' ? n(value) : f === 'role' ? ctx.t(`roles.${String(value)}`) : String(value).slice(0, 60);
    return ctx.t(`audit.field.${f}`, { value: shown });
  });
  return ctx.t('audit.row', {
    when: formatDateTime(row.createdAt, ctx.locale, ctx.deps.config.timeZone),
    who: row.actorName ?? ctx.t('audit.system'),
    action,
    details: details.length ? ` · ${details.join(' · ')}` : '',
  });
}

async function showPage(ctx: Context, filter: AuditFilter, fresh: boolean) {
  const { rows, more } = await listAudit(ctx.deps.db, filter);
  const actorName = filter.actor === null ? null : ((await auditActors(ctx.deps.db, 1000)).find((a) => a.id === filter.actor)?.name ?? ctx.t('audit.field.member_id', { value: formatNumber(filter.actor, ctx.locale) }));
  const scope = [
    actorName ? ctx.t('audit.filter_actor', { name: actorName }) : null,
    filter.group ? ctx.t('audit.filter_group', { group: ctx.t(`audit.group.${filter.group}`) }) : null,
  ].filter(Boolean);
  const html = [ctx.t('audit.title'), ...(scope.length ? [scope.join(' · ')] : []), '', ...(rows.length ? rows.map((r) => describe(ctx, r)) : [ctx.t('audit.none')])].join('\n');
  const nav: InlineKeyboardButton[] = [];
  if (filter.before !== null) nav.push({ text: ctx.t('audit.newest'), callback_data: listData({ ...filter, before: null }) });
  if (more) nav.push({ text: ctx.t('audit.older'), callback_data: listData({ ...filter, before: rows.at(-1)!.id }) });
  const keyboard = {
    inline_keyboard: [
      ...(nav.length ? [nav] : []),
      [
        { text: ctx.t('audit.by_actor'), callback_data: `au:a:${filter.group ?? '-'}` },
        { text: ctx.t('audit.by_group'), callback_data: `au:g:${filter.actor ?? 0}` },
      ],
      ...(filter.actor !== null || filter.group !== null ? [[{ text: ctx.t('audit.clear'), callback_data: listData({ actor: null, group: null, before: null }) }]] : []),
    ],
  };
  if (fresh) await say(ctx, html, keyboard);
  else await showScreen(ctx, html, keyboard);
}

/** /audit: the owners' read of who did what, newest first, by staff member and by kind of action. */
export function auditFeature() {
  const composer = new ClubComposer<Context>();
  const owners = staffOnly('owner');

  composer.chatType('private').command('audit', owners, (ctx) => showPage(ctx, { actor: null, group: null, before: null }, true));
  opens(composer, 'audit', OWNERS, (ctx) => showPage(ctx, { actor: null, group: null, before: null }, true));

  composer.callbackQuery(/^au:/, async (ctx, next) => {
    if (ctx.role !== 'owner') return ctx.answerCallbackQuery({ text: ctx.t('errors.owner_only'), show_alert: true });
    await ctx.answerCallbackQuery();
    return next();
  });

  composer.callbackQuery(/^au:l:(\d+):([a-z]+|-):(\d+)$/, async (ctx) => {
    const [, actor, group, before] = ctx.match;
    if (group !== '-' && !isAuditGroup(group!)) return;
    await showPage(ctx, { actor: Number(actor) || null, group: group === '-' ? null : (group as AuditFilter['group']), before: Number(before) || null }, false);
  });

  composer.callbackQuery(/^au:a:([a-z]+|-)$/, async (ctx) => {
    const group = ctx.match[1]!;
    const actors = await auditActors(ctx.deps.db);
    const buttons = actors.map((a) => ({ text: a.name, callback_data: `au:l:${a.id}:${group}:0` }));
    const rows: InlineKeyboardButton[][] = [];
    for (let i = 0; i < buttons.length; i += 2) rows.push(buttons.slice(i, i + 2));
    await showScreen(ctx, ctx.t('audit.pick_actor'), { inline_keyboard: [...rows, [{ text: ctx.t('audit.everyone'), callback_data: `au:l:0:${group}:0` }]] });
  });

  composer.callbackQuery(/^au:g:(\d+)$/, async (ctx) => {
    const actor = ctx.match[1]!;
    const groups = Object.keys(AUDIT_GROUPS).map((g) => ({ text: ctx.t(`audit.group.${g}`), callback_data: `au:l:${actor}:${g}:0` }));
    const rows: InlineKeyboardButton[][] = [];
    for (let i = 0; i < groups.length; i += 2) rows.push(groups.slice(i, i + 2));
    await showScreen(ctx, ctx.t('audit.pick_group'), { inline_keyboard: [...rows, [{ text: ctx.t('audit.all_actions'), callback_data: `au:l:${actor}:-:0` }]] });
  });

  return composer;
}
