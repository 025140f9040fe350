import { ClubComposer } from '../composer.ts';
import { applyImport, loadImport, setImportSignupBonus, type ImportResult } from '../../club/import/imports.ts';
import { formatNumber } from '../../lib/format.ts';
import type { Context } from '../context.ts';
import { IMPORT, logUnreadable, previewKeyboard } from '../conversations/import.ts';
import { problemsFile } from '../import-report.ts';
import { progressMessage } from '../progress.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';

function resultText(ctx: Context, r: ImportResult, kind: 'members' | 'purchases') {
  const n = (v: number | undefined) => formatNumber(v ?? 0, ctx.locale);
  const counts = r as unknown as Record<string, number>;
  const key = kind === 'members' ? 'import.done_members' : 'import.done_purchases';
  const lines = [ctx.t(key, Object.fromEntries(Object.entries(counts).filter(([, v]) => typeof v === 'number').map(([k, v]) => [k, n(v)])))];
  if (r.problems.length) lines.push(ctx.t('import.done_problems', { count: n(r.problems.length) }));
  return lines.join('\n');
}

/** Customers in: /import and the panel's "Import" (owners only), and the preview's buttons. */
export function importFeature() {
  const composer = new ClubComposer<Context>();
  const owners = staffOnly('owner');

  composer.chatType('private').command('import', owners, (ctx) => ctx.conversation.enter(IMPORT));

  composer.callbackQuery('open:import', async (ctx) => {
    if (ctx.role !== 'owner') return ctx.answerCallbackQuery({ text: ctx.t('errors.owner_only'), show_alert: true });
    await ctx.answerCallbackQuery();
    await ctx.conversation.enter(IMPORT);
  });

  composer.callbackQuery(/^im:b:(\d+):([01])$/, async (ctx) => {
    if (ctx.role !== 'owner') return ctx.answerCallbackQuery({ text: ctx.t('errors.owner_only'), show_alert: true });
    const id = Number(ctx.match[1]);
    const on = ctx.match[2] === '1';
    await setImportSignupBonus(ctx.deps.db, id, on);
    await ctx.answerCallbackQuery({ text: ctx.t(on ? 'import.bonus_on' : 'import.bonus_off') });
    // Only the switch changes: the preview's text stays (on Bale, whose keyboard edits are unreliable, it comes anew).
    if (ctx.adapter.editsKeyboards) await ctx.editMessageReplyMarkup({ reply_markup: previewKeyboard(ctx, id, on) }).catch(() => undefined);
    else await say(ctx, ctx.t('import.preview_again'), previewKeyboard(ctx, id, on));
  });

  composer.callbackQuery(/^im:x:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    await showScreen(ctx, ctx.t('import.cancelled'), { inline_keyboard: [] });
  });

  composer.callbackQuery(/^im:go:(\d+)$/, async (ctx) => {
    if (ctx.role !== 'owner' || !ctx.member) return ctx.answerCallbackQuery({ text: ctx.t('errors.owner_only'), show_alert: true });
    const imp = await loadImport(ctx.deps.db, Number(ctx.match[1]));
    if (!imp) return ctx.answerCallbackQuery({ text: ctx.t('import.not_found'), show_alert: true });
    await ctx.answerCallbackQuery();
    // The buttons go away at once, so a second press cannot start the same import twice.
    await showScreen(ctx, ctx.t('import.applying', { file: imp.file_name }), { inline_keyboard: [] });
    const progress = await progressMessage(ctx, (lines) => ctx.t('import.progress_applying', { lines: formatNumber(lines, ctx.locale), total: formatNumber(imp.rows, ctx.locale) }));
    const result = await applyImport(ctx.deps.db, imp.id, ctx.member.id, {
      now: ctx.deps.now(),
      timeZone: ctx.deps.config.timeZone,
      pointsValidityDays: ctx.deps.config.pointsValidityDays,
      onProgress: progress.update,
    }).catch((error: unknown) => logUnreadable(ctx.deps.logger, error));
    await progress.done(ctx.t('import.progress_applied', { lines: formatNumber(imp.rows, ctx.locale) }));
    if (result.alreadyApplied) return say(ctx, ctx.t('import.already_applied'));
    await say(ctx, resultText(ctx, result, imp.kind));
    if (result.problems.length) {
      await ctx.replyWithDocument(problemsFile(ctx, result.problems, [], `import-result-${imp.id}.csv`), {
        caption: ctx.t('import.report_caption', { count: formatNumber(result.problems.length, ctx.locale) }),
      });
    }
  });

  return composer;
}
