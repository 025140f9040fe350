import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type ExcelJS from 'exceljs';
import { ClubError } from '../errors.ts';
import { zipParts } from './zip.ts';

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
    throw new ClubError('import.file_unreadable', { line: line ?? 0 }, { cause: error });
  }
}

/** The parts of ExcelJS's streaming reader that it runs itself when it reads a ZIP from a stream. */
interface WorkbookParts {
  _parseRels(part: Readable): Promise<void>;
  _parseWorkbook(part: Readable): Promise<void>;
  _parseSharedStrings(part: Readable): AsyncIterable<unknown>;
  _parseStyles(part: Readable): Promise<void>;
  _parseWorksheet(part: AsyncIterable<unknown>, sheetNo: string): Iterable<{ eventType: string; value: ExcelJS.stream.xlsx.WorksheetReader }>;
  workbookRels?: { Id: string; Target: string }[];
  model?: { sheets?: { rId: string }[] };
}

/**
 * The first worksheet's rows. ExcelJS's reader, given a stream, unzips it in one pass and can lose
 * the parts after the first sheet when the sheet is slower to read than the rest is to unzip
 * (exceljs#3064: the ZIP stream reports its end while parts are still queued), so the workbook's
 * sheet list is never read: "Cannot read properties of undefined (reading 'sheets')", a file
 * read at one time and refused at the next. The file is in memory anyway: its parts are opened
 * through the ZIP directory (zipParts), the workbook, shared strings and styles read before the
 * sheet, whose rows are still read as a stream.
 */
async function* xlsxRows(bytes: Buffer): AsyncGenerator<SheetRow> {
  // Loaded on first use: most processes never read a sheet (issue 14: RSS and start-up).
  const { default: Excel } = await import('exceljs');
  try {
    const parts = zipParts(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    const open = (name: string) => parts.get(name)?.();
    const reader = new Excel.stream.xlsx.WorkbookReader(Readable.from([]), { sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit', entries: 'ignore' }) as unknown as WorkbookParts;
    const rels = open('xl/_rels/workbook.xml.rels');
    const workbook = open('xl/workbook.xml');
    if (!rels || !workbook) throw new Error('not a workbook: no xl/workbook.xml or its relationships');
    await reader._parseRels(rels);
    await reader._parseWorkbook(workbook);
    const strings = open('xl/sharedStrings.xml');
    if (strings) for await (const _ of reader._parseSharedStrings(strings));
    const styles = open('xl/styles.xml');
    if (styles) await reader._parseStyles(styles);
    // The first worksheet in the workbook's order: a workbook's other sheets are usually notes or pivots.
    const first = reader.model?.sheets?.[0];
    const target = reader.workbookRels?.find((r) => r.Id === first?.rId)?.Target ?? '';
    const path = target.startsWith('/') ? target.slice(1) : `xl/${target}`;
    const sheetNo = /^xl\/worksheets\/sheet(\d+)\.xml$/.exec(path)?.[1];
    const part = sheetNo ? open(path) : undefined;
    if (!sheetNo || !part) throw new Error(`no first worksheet (${target || 'none listed'})`);
    for (const { value: sheet } of reader._parseWorksheet(part, sheetNo)) {
      for await (const row of sheet as unknown as AsyncIterable<ExcelJS.Row>) {
        const values = (row.values as unknown[]).slice(1).map(cellText);
        if (values.some((v) => v !== '')) yield { line: row.number, cells: values };
      }
    }
  } catch (error) {
    if (error instanceof ClubError) throw error;
    throw new ClubError('import.file_unreadable', { line: 0 }, { cause: error });
  }
}

/** The rows of an uploaded CSV or XLSX file, read as a stream (a 100,000-line file is never held as rows). */
export function readSheet(bytes: Buffer): AsyncGenerator<SheetRow> {
  return isXlsx(bytes) ? xlsxRows(bytes) : csvRows(bytes);
}
