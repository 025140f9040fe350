import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../src/lib/csv.ts';

describe('the CSV files the club writes', () => {
  it.each(['=1+1', '+98912', '-2+3', '@SUM(A1)', '\t=cmd', '\r=cmd', '=HYPERLINK("http://evil.example","win")'])('neutralises %j, which a spreadsheet would run', (cell) => {
    expect(csvCell(cell)).toBe(`'${cell}`);
  });

  it('leaves other text, numbers and empty cells alone', () => {
    expect(csvCell('More cakes, please')).toBe('More cakes, please');
    expect(csvCell('نان = خوب')).toBe('نان = خوب');
    expect(csvCell(-5)).toBe(-5);
    expect(csvCell(12n)).toBe(12n);
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(new Date('2026-11-22T10:00:00Z'))).toBe('2026-11-22T10:00:00.000Z');
  });

  it('writes a BOM, quotes what needs it, and reads back as written (neutralised)', () => {
    const csv = toCsv([
      ['member', 'answer'],
      [7, 'Tom & Jerry, "friends"\nline two'],
      [8, '=1+1'],
    ]);
    expect(csv.startsWith('\ufeffmember,answer\n')).toBe(true);
    expect(parse(csv.slice(1))).toEqual([
      ['member', 'answer'],
      ['7', 'Tom & Jerry, "friends"\nline two'],
      ['8', "'=1+1"],
    ]);
  });
});
