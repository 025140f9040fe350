import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClubComposer } from '../composer.ts';
import { InlineKeyboard, InputFile } from 'grammy';
import { ledgerExport, LEDGER_COLUMNS, memberExport, MEMBER_COLUMNS } from '../../club/analytics/export.ts';
import { customPeriod, periodCode, periodFor, periodFromCode, PERIOD_KEYS, type Period } from '../../club/analytics/period.ts';
import { RFM_GROUPS, rfmFilter, rfmThresholds } from '../../club/analytics/rfm.ts';
import { reportSettings } from '../../club/analytics/weekly.ts';
import { ClubError } from '../../club/errors.ts';
import { ALL_MEMBERS, countSegment, listSegments, loadSegment, saveSegment } from '../../club/segments.ts';
import { listBranches } from '../../club/staff.ts';
import { parseWholeNumber } from '../../lib/amount.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDate } from '../../lib/jalali.ts';
import { writeTable, type Cell, type TableFormat } from '../../lib/table-files.ts';
import type { Context } from '../context.ts';
import { escapeHtml } from '../i18n.ts';
import { buildReport, REPORT_KINDS, type ReportKind } from '../reports/views.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';
import { branchById } from '../../club/staff.ts';

// Button data carries the whole choice (report, branch, period), so any old button still works:
// rp:<action>:<report>:<branch or 0>:<period code>.
const KIND_CODES: Record<ReportKind, string> = { sales: 's', members: 'm', loyalty: 'l', rfm: 'r', cohorts: 'h', referrals: 'i', campaigns: 'k', feedback: 'n' };
const kindOf = (code: string) => (Object.entries(KIND_CODES).find(([, c]) => c === code)?.[0] ?? 'sales') as ReportKind;

interface Choice {
  kind: ReportKind;
  branchId: number | null;
  period: string;
}
const data = (action: string, c: Choice) => `rp:${action}:${KIND_CODES[c.kind]}:${c.branchId ?? 0}:${c.period}`;
const CHOICE = /^rp:(v|g|x|c):([smlrhikn]):(\d+):([a-z0-9-]+)$/;

async function menu(ctx: Context, choice: Choice) {
  const { t } = ctx;
  const branches = await listBranches(ctx.deps.db);
  const keyboard = new InlineKeyboard();
  for (const [i, kind] of REPORT_KINDS.entries()) {
    keyboard.text(`${choice.kind === kind ? '✅ ' : ''}${t(`reports.kind_${kind}`)}`, data('v', { ...choice, kind }));
    if (i % 3 === 2) keyboard.row();
  }
  keyboard.row();
  if (branches.length > 1) {
    keyboard.text(`${choice.branchId === null ? '✅ ' : ''}${t('reports.branch_all')}`, data('v', { ...choice, branchId: null }));
    for (const b of branches.slice(0, 5)) keyboard.text(`${choice.branchId === b.id ? '✅ ' : ''}${b.name}`, data('v', { ...choice, branchId: b.id }));
    keyboard.row();
  }
  if (choice.period.startsWith('c')) keyboard.text(t('reports.period_custom_go'), data('g', choice)).row();
  for (const [i, key] of PERIOD_KEYS.entries()) {
    keyboard.text(t(`reports.period_${key}`), data('g', { ...choice, period: periodCode(key) }));
    if (i % 2 === 1) keyboard.row();
  }
  keyboard.text(t('reports.period_custom'), 'rp:dates').row();
  keyboard.text(t('reports.export_members'), 'rp:em:xlsx').text(t('reports.export_ledger'), data('x', { ...choice, kind: 'loyalty' }).replace(/^rp:x:l/, 'rp:el:l')).row();
  if (ctx.role === 'owner') {
    const { weekly } = await reportSettings.read(ctx.deps.db);
    keyboard.text(t(weekly ? 'reports.weekly_on' : 'reports.weekly_off'), 'rp:wk');
  }
  const branch = branches.find((b) => b.id === choice.branchId)?.name ?? t('reports.branch_all');
  await showScreen(ctx, t('reports.menu', { report: t(`reports.kind_${choice.kind}`), branch: escapeHtml(branch) }), keyboard);
}

function parseChoice(match: RegExpMatchArray): Choice {
  return { kind: kindOf(match[2]!), branchId: Number(match[3]) || null, period: match[4]! };
}

function scopeOf(ctx: Context, choice: Choice): { period: Period; branchId: number | null } {
  return { period: periodFromCode(choice.period, ctx.deps.now(), ctx.deps.config.timeZone), branchId: choice.branchId };
}

async function branchName(ctx: Context, branchId: number | null) {
  if (branchId === null) return null;
  const b = await branchById(ctx.deps.db, branchId);
  return b?.name ?? null;
}

/** A report for the staff panel or /report: the chart, its caption and the table behind it. */
export async function reportFor(ctx: Context, choice: Choice) {
  return buildReport(choice.kind, scopeOf(ctx, choice), { db: ctx.deps.db, now: ctx.deps.now(), timeZone: ctx.deps.config.timeZone, branchName: await branchName(ctx, choice.branchId) }, ctx);
}

/** Writes rows to a temporary file, sends it as a document, and removes it. */
async function sendTable(ctx: Context, format: TableFormat, name: string, header: string[], pages: Iterable<Cell[][]> | AsyncIterable<Cell[][]>) {
  await ctx.replyWithChatAction('upload_document').catch(() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'bashgah-report-'));
  const path = join(dir, `${name}.${format}`);
  try {
    const count = await writeTable(path, format, name, header, pages);
    await ctx.replyWithDocument(new InputFile(path, `${name}.${format}`), { caption: ctx.t('reports.file_caption', { count: formatNumber(count, ctx.locale) }) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function reportsFeature() {
  const composer = new ClubComposer<Context>();
  const managers = staffOnly('owner', 'manager');
  const privateChat = composer.chatType('private');

  opens(composer, 'reports', MANAGERS, (ctx) => menu(ctx, { kind: 'sales', branchId: null, period: periodCode('month') }));

  // The panel's "Export": every member, a saved segment, or this month's ledger, as XLSX (the command takes CSV and dates too).
  opens(composer, 'export', MANAGERS, async (ctx) => {
    const segments = await listSegments(ctx.deps.db, 6);
    const keyboard = new InlineKeyboard().text(ctx.t('reports.export_members'), 'rp:em:xlsx').text(ctx.t('reports.export_ledger'), `rp:el:l:0:${periodCode('month')}`).row();
    for (const [i, s] of segments.entries()) {
      keyboard.text(ctx.t('reports.export_segment', { name: s.name.slice(0, 40) }), `rp:es:${s.id}`);
      if (i % 2 === 1) keyboard.row();
    }
    await say(ctx, ctx.t('reports.export_help'), keyboard);
  });

  privateChat.command('report', managers, async (ctx) => {
    const dates = toLatinDigits(ctx.match.trim()).split(/\s+/).filter(Boolean);
    if (dates.length === 0) return menu(ctx, { kind: 'sales', branchId: null, period: periodCode('month') });
    if (dates.length !== 2) return say(ctx, ctx.t('reports.dates_help'));
    try {
      const period = customPeriod(dates[0]!, dates[1]!, ctx.deps.config.timeZone);
      await menu(ctx, { kind: 'sales', branchId: null, period: periodCode(period) });
    } catch (error) {
      if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, error.params));
      throw error;
    }
  });

  // Members (all, or a saved segment by its number) and the ledger (this month, or two dates).
  privateChat.command('export', managers, async (ctx) => {
    const [what, ...rest] = toLatinDigits(ctx.match.trim()).split(/\s+/).filter(Boolean);
    const format: TableFormat = rest.includes('csv') ? 'csv' : 'xlsx';
    const args = rest.filter((a) => a !== 'csv' && a !== 'xlsx');
    try {
      if (what === 'members') {
        // A segment by its number; anything else typed there is answered with the help, not tried.
        const segmentId = args[0] === undefined ? null : parseWholeNumber(args[0], { min: 1, max: 2_147_483_647 });
        if (args[0] !== undefined && segmentId === null) return await say(ctx, ctx.t('reports.export_help'));
        const filter = await loadSegment(ctx.deps.db, segmentId);
        return await sendTable(ctx, format, 'members', [...MEMBER_COLUMNS], memberExport(ctx.deps.db, filter, ctx.deps.now()));
      }
      if (what === 'ledger') {
        const tz = ctx.deps.config.timeZone;
        const period = args.length === 2 ? customPeriod(args[0]!, args[1]!, tz) : periodFor('month', ctx.deps.now(), tz);
        return await sendTable(ctx, format, 'ledger', [...LEDGER_COLUMNS], ledgerExport(ctx.deps.db, period, null));
      }
    } catch (error) {
      if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, error.params));
      throw error;
    }
    await say(ctx, ctx.t('reports.export_help'));
  });

  composer.callbackQuery(/^rp:/, async (ctx, next) => {
    if (ctx.role === 'owner' || ctx.role === 'manager') return next();
    await ctx.answerCallbackQuery({ text: ctx.t('errors.manager_only'), show_alert: true });
  });

  composer.callbackQuery(CHOICE, async (ctx) => {
    const action = ctx.match[1]!;
    const choice = parseChoice(ctx.match as RegExpMatchArray);
    await ctx.answerCallbackQuery();
    if (action === 'v') return menu(ctx, choice);
    try {
      if (action === 'g') await ctx.replyWithChatAction('upload_photo').catch(() => undefined);
      const view = await reportFor(ctx, choice);
      if (action === 'x' || action === 'c') {
        return await sendTable(ctx, action === 'x' ? 'xlsx' : 'csv', `report-${choice.kind}`, view.table.header, [view.table.rows]);
      }
      const keyboard = new InlineKeyboard().text(ctx.t('reports.download_xlsx'), data('x', choice)).text(ctx.t('reports.download_csv'), data('c', choice)).row();
      for (const [i, g] of (view.rfm ?? []).entries()) {
        if (g.members === 0) continue;
        keyboard.text(ctx.t('reports.make_segment', { group: ctx.t(`reports.rfm_${g.group}`) }), `rp:seg:${i}`);
        if (i % 2 === 1) keyboard.row();
      }
      const caption = ctx.adapter.render([`<b>${ctx.t(`reports.kind_${choice.kind}`)}</b>`, ...view.summary].join('\n'));
      await ctx.replyWithPhoto(new InputFile(view.png, `report-${choice.kind}.png`), {
        caption: caption.text,
        ...(caption.parse_mode ? { parse_mode: caption.parse_mode } : {}),
        reply_markup: keyboard,
      });
    } catch (error) {
      if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, error.params));
      throw error;
    }
  });

  composer.callbackQuery('rp:dates', async (ctx) => {
    await ctx.answerCallbackQuery();
    await say(ctx, ctx.t('reports.dates_help'));
  });

  // "Make a segment" under the RFM chart: the group with today's thresholds, saved for /broadcast.
  composer.callbackQuery(/^rp:seg:(\d)$/, async (ctx) => {
    const group = RFM_GROUPS[Number(ctx.match[1])];
    if (!group) return ctx.answerCallbackQuery();
    await ctx.answerCallbackQuery();
    const now = ctx.deps.now();
    const filter = rfmFilter(group, await rfmThresholds(ctx.deps.db, now));
    const name = `${ctx.t(`reports.rfm_${group}`)} · ${formatDate(now, ctx.locale, ctx.deps.config.timeZone)}`.slice(0, 64);
    const segment = await saveSegment(ctx.deps.db, ctx.member!.id, name, filter, now);
    const count = await countSegment(ctx.deps.db, filter, now);
    await say(ctx, ctx.t('reports.segment_saved', { name: escapeHtml(segment.name), id: formatNumber(segment.id, ctx.locale), count: formatNumber(count, ctx.locale) }));
  });

  composer.callbackQuery('rp:em:xlsx', async (ctx) => {
    await ctx.answerCallbackQuery();
    await sendTable(ctx, 'xlsx', 'members', [...MEMBER_COLUMNS], memberExport(ctx.deps.db, ALL_MEMBERS, ctx.deps.now()));
  });

  composer.callbackQuery(/^rp:es:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    try {
      const filter = await loadSegment(ctx.deps.db, Number(ctx.match[1]));
      await sendTable(ctx, 'xlsx', 'members', [...MEMBER_COLUMNS], memberExport(ctx.deps.db, filter, ctx.deps.now()));
    } catch (error) {
      if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, error.params));
      throw error;
    }
  });

  composer.callbackQuery(/^rp:el:l:(\d+):([a-z0-9-]+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const period = periodFromCode(ctx.match[2]!, ctx.deps.now(), ctx.deps.config.timeZone);
    await sendTable(ctx, 'xlsx', 'ledger', [...LEDGER_COLUMNS], ledgerExport(ctx.deps.db, period, Number(ctx.match[1]) || null));
  });

  composer.callbackQuery('rp:wk', async (ctx) => {
    if (ctx.role !== 'owner') return ctx.answerCallbackQuery({ text: ctx.t('reports.owner_only'), show_alert: true });
    const { weekly } = await reportSettings.read(ctx.deps.db);
    await reportSettings.save(ctx.deps.db, { weekly: !weekly }, ctx.member!.id, ctx.deps.now());
    await ctx.answerCallbackQuery({ text: ctx.t(weekly ? 'reports.weekly_now_off' : 'reports.weekly_now_on') });
    await menu(ctx, { kind: 'sales', branchId: null, period: periodCode('month') });
  });

  return composer;
}
