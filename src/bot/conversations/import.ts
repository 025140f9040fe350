import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Logger } from 'pino';
import { ClubError } from '../../club/errors.ts';
import { MAX_IMPORT_BYTES, previewImport, type Preview } from '../../club/import/imports.ts';
import { staffAtTill } from '../../club/staff.ts';
import { formatMoney, formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext, Speech } from '../context.ts';
import { problemsFile } from '../import-report.ts';
import { say } from '../ui.ts';
import { attempt } from './ask.ts';
import { progressMessage } from '../progress.ts';
import { downloadFile } from '../http.ts';

export const IMPORT = 'import';

type ImportConversation = Conversation<Context, ConversationContext>;

/** The preview's buttons: import, the signup-bonus switch (the owner's choice), cancel. */
export function previewKeyboard(speech: Speech, importId: number, signupBonus: boolean): InlineKeyboardMarkup {
  const { t } = speech;
  return {
    inline_keyboard: [
      [{ text: t('import.confirm'), callback_data: `im:go:${importId}` }],
      [{ text: t(signupBonus ? 'import.bonus_on' : 'import.bonus_off'), callback_data: `im:b:${importId}:${signupBonus ? 0 : 1}` }],
      [{ text: t('till.cancel'), callback_data: `im:x:${importId}` }],
    ],
  };
}

type Summary = Omit<Preview, 'problems'> & { problemLines: number };

export function previewText(speech: Speech, p: Summary) {
  const { t, locale } = speech;
  const n = (v: number) => formatNumber(v, locale);
  const lines = [
    t(p.kind === 'members' ? 'import.preview_members' : 'import.preview_purchases', { rows: n(p.rows), valid: n(p.valid), problems: n(p.problemLines) }),
  ];
  if (p.kind === 'members' && p.valid > 0) lines.push(t('import.preview_existing', { existing: n(p.existing), new: n(p.valid - p.existing) }));
  // Money read from the file in both units: a column in Rials read as Toman shows at a glance.
  if (p.valid > 0 && (p.kind === 'purchases' || p.moneyRials > 0)) {
    lines.push(t(p.kind === 'members' ? 'import.preview_credit' : 'import.preview_amount', { money: formatMoney(p.moneyRials, locale) }));
  }
  if (p.unknown.length) lines.push(t('import.preview_unknown', { columns: p.unknown.join(locale === 'fa' ? '، ' : ', ') }));
  if (p.problemLines || p.unknown.length) lines.push(t('import.preview_see_file'));
  if (p.missing.length) lines.push(t('import.missing_columns', { columns: p.missing.map((f) => t(`import.field.${f}`)).join(locale === 'fa' ? '، ' : ', ') }));
  else if (p.id === null) lines.push(t('import.nothing_valid'));
  else lines.push('', t(p.kind === 'members' ? 'import.confirm_members' : 'import.confirm_purchases'));
  return lines.join('\n');
}

export function createImportConversation(deps: ClubDeps) {
  /** The owner sends a CSV or XLSX file; it is checked (with a progress message) and previewed. */
  return async function importFile(conversation: ImportConversation, ctx: ConversationContext) {
    const { t } = ctx;
    const owner = await conversation.external(() => staffAtTill(deps.db, ctx.adapter.platform, ctx.from!.id, ['owner']));
    if (!owner) return say(ctx, t('errors.owner_only'));
    const cancelKb = new Keyboard().text(t('till.cancel')).resized();
    await say(ctx, t('import.ask_file'), cancelKb);
    for (;;) {
      const update = await conversation.wait();
      if (update.callbackQuery) {
        await update.answerCallbackQuery({ text: t('till.finish_first') });
        continue;
      }
      if (ctx.isLabel(update.message?.text, 'till.cancel')) return say(update, t('import.cancelled'), { remove_keyboard: true });
      const document = update.message?.document;
      if (!document) {
        await say(update, t('import.ask_file'), cancelKb);
        continue;
      }
      if ((document.file_size ?? 0) > MAX_IMPORT_BYTES) {
        await say(update, t('import.file_too_big'), cancelKb);
        continue;
      }
      await say(update, t('import.reading'), { remove_keyboard: true });
      // The check runs once, outside the replay: the counts come back, the report goes out from here.
      const outcome = await conversation.external(async (outside) => {
        const bytes = await downloadFile(outside.api, document.file_id);
        if (!bytes) return { ok: false as const, key: 'import.download_failed', params: {} };
        const progress = await progressMessage(outside, (lines) => outside.t('import.progress_reading', { lines: formatNumber(lines, outside.locale) }));
        const checked = await attempt(() =>
          previewImport(deps.db, { fileName: document.file_name ?? 'import', bytes, actorMemberId: owner.memberId }, { now: deps.now(), timeZone: deps.config.timeZone, onProgress: progress.update }).catch((error: unknown) =>
            logUnreadable(deps.logger, error),
          ),
        );
        if (!checked.ok) {
          await progress.done(outside.t('import.progress_failed'));
          return checked;
        }
        const { problems, ...summary } = checked.value;
        await progress.done(outside.t('import.progress_read', { lines: formatNumber(summary.rows, outside.locale) }));
        if (problems.length || summary.unknown.length) {
          await outside.replyWithDocument(problemsFile(outside, problems, summary.unknown, `import-problems-${summary.id ?? 'x'}.csv`), {
            caption: outside.t('import.report_caption', { count: formatNumber(problems.length, outside.locale) }),
          });
        }
        return { ok: true as const, value: { ...summary, problemLines: problems.length } };
      });
      if (!outcome.ok) {
        await say(ctx, t(outcome.key, outcome.params), cancelKb);
        continue;
      }
      const summary = outcome.value;
      if (summary.id === null) {
        // A file the club cannot take as it is: the owner fixes it and sends it again, or cancels.
        await say(ctx, previewText(ctx, summary), cancelKb);
        continue;
      }
      return say(ctx, previewText(ctx, summary), previewKeyboard(ctx, summary.id, false));
    }
  };
}

/** A file the club could not read: the owner is told so, the log keeps why (the parser's own error). */
export function logUnreadable(logger: Logger, error: unknown): never {
  if (error instanceof ClubError && error.cause !== undefined) logger.warn({ err: error.cause, key: error.i18nKey, params: error.params }, 'import file could not be read');
  throw error;
}
