import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { ClubError } from '../../src/club/errors.ts';
import { readSheet, type SheetRow } from '../../src/club/import/read.ts';

async function rows(bytes: Buffer, slow = false): Promise<SheetRow[]> {
  const out: SheetRow[] = [];
  for await (const row of readSheet(bytes)) {
    out.push(row);
    // A consumer that writes each batch before reading on (the import does), slower than the unzipping.
    if (slow) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return out;
}

describe('reading an uploaded sheet', () => {
  it('XLSX: the first sheet in the workbook order, cells as typed (shared strings, numbers, dates by their style)', async () => {
    const book = new ExcelJS.Workbook();
    const customers = book.addWorksheet('Customers');
    book.addWorksheet('Notes').addRow(['not this one']);
    customers.addRow(['phone', 'name', 'points', 'since']);
    customers.addRow(['09129970010', { richText: [{ text: 'Pa' }, { text: 'risa', font: { bold: true } }] }, 800, new Date(Date.UTC(2026, 10, 20))]);
    customers.getCell('D2').numFmt = 'yyyy-mm-dd';
    customers.addRow([]);
    customers.addRow(['09129970011', 'Kian', { formula: '1+1', result: 2 }, null]);
    const bytes = Buffer.from(await book.xlsx.writeBuffer());
    const expected = [
      { line: 1, cells: ['phone', 'name', 'points', 'since'] },
      { line: 2, cells: ['09129970010', 'Parisa', '800', '2026-11-20'] },
      { line: 4, cells: ['09129970011', 'Kian', '2'] },
    ];
    expect(await rows(bytes)).toEqual(expected);
    // As the import reads it back from the database (a Uint8Array), by a slow consumer, many times:
    // ExcelJS's one-pass reader lost the workbook part now and then in exactly this case.
    for (let i = 0; i < 20; i++) expect(await rows(new Uint8Array(bytes) as Buffer, true)).toEqual(expected);
  });

  it('a damaged XLSX is refused with the reason underneath kept', async () => {
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Customers').addRow(['phone']);
    const bytes = Buffer.from(await book.xlsx.writeBuffer());
    const error = await rows(bytes.subarray(0, bytes.length - 30)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClubError);
    expect(error).toMatchObject({ i18nKey: 'import.file_unreadable', params: { line: 0 } });
    expect(String((error as ClubError).cause)).toMatch(/ZIP/);
  });
});
