import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type ExcelJS from 'exceljs';
import { ClubError } from '../errors.ts';

/** One line of a sheet: its line number in the file (1 = the header) and its cells as text. */
export interface SheetRow {
  line: number;
  cells: string[];
}

/** An XLSX file is a ZIP: it starts with "PK". Anything else is read as CSV (or TSV, or ";"). */
export const isXlsx = (bytes: Buffer) => bytes.length > 4 && bytes[0] === 0x50 && bytes[1] === 0x4b;

const pad = (n: number) => String(n).padStart(2, '0');

/** A spreadsheet cell as the text a person would have typed (dates as YYYY-MM-DD [HH:MM]). */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) {
    const day = `${value.getUTCFullYear()}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())}`;
    const time = value.getUTCHours() || value.getUTCMinutes() ? ` ${pad(value.getUTCHours())}:${pad(value.getUTCMinutes())}` : '';
    return day + time;
  }
  if (typeof value === 'object') {
    const v = value as { richText?: { text: string }[]; result?: unknown; text?: unknown; error?: string };
    if (v.richText) return v.richText.map((r) => r.text).join('');
    if ('result' in v) return cellText(v.result);
    if (v.text !== undefined) return cellText(v.text);
    return '';
  }
  return String(value).trim();
}

async function* csvRows(bytes: Buffer): AsyncGenerator<SheetRow> {
  const parser = Readable.from([bytes]).pipe(
    parse({ bom: true, delimiter: [',', ';', '\t'], relax_column_count: true, skip_empty_lines: true, trim: true, info: true }),
  );
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      yield { line: info.lines, cells: record };
    }
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new ClubError('import.file_unreadable', { line: line ?? 0 });
  }
}

async function* xlsxRows(bytes: Buffer): AsyncGenerator<SheetRow> {
  // Loaded on first use: most processes never read a sheet (issue 14: RSS and start-up).
  const { default: Excel } = await import('exceljs');
  const reader = new Excel.stream.xlsx.WorkbookReader(Readable.from([bytes]), { sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit', entries: 'emit' });
  try {
    // The first worksheet only: a workbook's other sheets are usually notes or pivots.
    for await (const sheet of reader) {
      for await (const row of sheet as AsyncIterable<ExcelJS.Row>) {
        const values = (row.values as unknown[]).slice(1).map(cellText);
        if (values.some((v) => v !== '')) yield { line: row.number, cells: values };
      }
      break;
    }
  } catch (error) {
    if (error instanceof ClubError) throw error;
    throw new ClubError('import.file_unreadable', { line: 0 });
  }
}

/** The rows of an uploaded CSV or XLSX file, read as a stream (a 100,000-line file is never held as rows). */
export function readSheet(bytes: Buffer): AsyncGenerator<SheetRow> {
  return isXlsx(bytes) ? xlsxRows(bytes) : csvRows(bytes);
}
