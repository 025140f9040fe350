import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { stringify } from 'csv-stringify';
import { looksLikeFormula, neutraliseCell } from './csv.ts';

export type Cell = string | number | boolean | Date | null;
export type TableFormat = 'xlsx' | 'csv';

/** Rows at once, or pages of rows as they are read (exports): either is written without holding the file. */
type Rows = Iterable<Cell[][]> | AsyncIterable<Cell[][]>;

/**
 * Writes a table to `path` as XLSX (exceljs' streaming writer) or CSV (UTF-8 with a BOM, so Excel
 * reads Persian text), every text cell inert against formula injection. Returns the row count.
 *
 * In CSV a cell is only text, so one that starts like a formula gets the leading apostrophe. In XLSX
 * a text cell is stored as a string and never run; an apostrophe there would be a visible part of
 * the value (a phone "'+98912…"), so such a cell keeps its text and gets the Text number format
 * ('@'), which keeps it text when someone edits it in the spreadsheet.
 */
export async function writeTable(path: string, format: TableFormat, sheet: string, header: string[], pages: Rows): Promise<number> {
  let count = 0;
  if (format === 'xlsx') {
    // Loaded on first use: most processes never write a sheet (issue 14: RSS and start-up).
    const { default: ExcelJS } = await import('exceljs');
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useStyles: true, useSharedStrings: false });
    const ws = workbook.addWorksheet(sheet.slice(0, 31), { views: [{ rightToLeft: /[\u0600-\u06ff]/.test(sheet + header.join('')) }] });
    const addRow = (cells: readonly Cell[]) => {
      const row = ws.addRow([...cells]);
      cells.forEach((value, i) => {
        if (looksLikeFormula(value)) row.getCell(i + 1).numFmt = '@';
      });
      return row;
    };
    const head = addRow(header);
    head.font = { bold: true };
    head.commit();
    for await (const rows of pages) {
      for (const row of rows) {
        addRow(row).commit();
        count++;
      }
    }
    ws.commit();
    await workbook.commit();
    return count;
  }
  const out = createWriteStream(path);
  const csv = stringify({ cast: { date: (d) => d.toISOString(), boolean: (b) => (b ? 'true' : 'false') } });
  csv.pipe(out);
  out.write('\ufeff');
  const write = async (row: Cell[]) => {
    if (!csv.write(row.map(neutraliseCell))) await once(csv, 'drain');
  };
  await write(header);
  for await (const rows of pages) {
    for (const row of rows) {
      await write(row);
      count++;
    }
  }
  csv.end();
  await once(out, 'finish');
  return count;
}
