import { InputFile } from 'grammy';
import type { LineProblems } from '../club/import/imports.ts';
import { toCsv } from '../lib/csv.ts';
import type { Speech } from './context.ts';

/**
 * The validation report: one row per problem, by line, in the owner's language (CSV, formula-safe,
 * with a BOM so Excel reads Persian). Unknown columns come first, as line 1 (the header).
 */
export function problemsFile(speech: Speech, problems: readonly LineProblems[], unknown: readonly string[], name: string): InputFile {
  const { t } = speech;
  const rows: unknown[][] = [[t('import.report.line'), t('import.report.column'), t('import.report.value'), t('import.report.problem')]];
  for (const column of unknown) rows.push([1, column, '', t('import.problem.unknown_column')]);
  for (const { line, problems: list } of problems) {
    for (const p of list) {
      rows.push([line, p.field ? t(`import.field.${p.field}`) : '', p.code === 'repeated' ? '' : (p.value ?? ''), t(`import.problem.${p.code}`, { line: p.value ?? '', defaultValue: p.code })]);
    }
  }
  return new InputFile(Buffer.from(toCsv(rows), 'utf8'), name);
}
