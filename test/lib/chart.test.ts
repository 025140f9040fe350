import { describe, expect, it } from 'vitest';
import { renderChart, renderPanels, type ChartSpec } from '../../src/lib/chart.ts';
import { neutraliseCell } from '../../src/lib/csv.ts';
import { pictureOf } from '../support/picture.ts';

const days = ['۱ آذر', '۲ آذر', '۳ آذر', '۴ آذر', '۵ آذر'];
const specs: ChartSpec[] = [
  { kind: 'bar', locale: 'fa', title: 'فروش روزانه', subtitle: '۱ آذر تا ۵ آذر', labels: days, series: [{ label: 'فروش', data: [120_000, 80_000, 0, 310_000, 150_000] }] },
  { kind: 'line', locale: 'en', title: 'Purchases', labels: days, series: [{ label: 'a', data: [1, 3, 2, 5, 4] }, { label: 'b', data: [2, 2, 2, 1, 0] }] },
  { kind: 'hbar', locale: 'fa', title: 'گروه‌ها', labels: ['قهرمانان', 'وفاداران', 'خفته'], series: [{ label: 'اعضا', data: [12, 40, 7] }] },
  { kind: 'doughnut', locale: 'fa', title: 'سطح', labels: ['برنزی', 'نقره‌ای'], series: [{ label: 'اعضا', data: [60, 40] }] },
  { kind: 'heatmap', locale: 'fa', title: 'بازگشت', rows: ['مهر', 'آبان'], cols: ['۰', '۱'], values: [[1, 0.4], [0.8, null]] },
];

describe('charts', () => {
  it.each(specs.map((s) => [s.kind, s] as const))('%s: a PNG of the asked size with a real drawing on it', async (_kind, spec) => {
    const c = pictureOf(await renderChart({ ...spec, width: 640, height: 360 }));
    expect([c.width, c.height]).toEqual([640, 360]);
    expect(c.colours).toBeGreaterThan(20); // anti-aliased text and coloured marks, not a blank page
    expect(c.inked).toBeGreaterThan(0.02);
  });

  it('panels stand side by side on one picture', async () => {
    const c = pictureOf(await renderPanels(specs.slice(0, 3), 2, { width: 400, height: 300 }));
    expect([c.width, c.height]).toEqual([800, 600]);
    expect(c.inked).toBeGreaterThan(0.03);
  });

  it('a cell a spreadsheet would run as a formula is neutralised; numbers are not', () => {
    for (const s of ['=1+1', '+98912', '-2', '@SUM(A1)', '\t=x', '\r=x']) expect(neutraliseCell(s)).toBe(`'${s}`);
    expect(neutraliseCell('Sara')).toBe('Sara');
    expect(neutraliseCell(-50)).toBe(-50);
  });
});
