import { createRequire } from 'node:module';
import { createCanvas, GlobalFonts, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import { Chart, type ChartConfiguration } from 'chart.js/auto';
import type { Locale } from '../db/schema.ts';

/**
 * Report charts as PNG: Chart.js drawing on @napi-rs/canvas (Skia, shipped as a prebuilt npm
 * package: no system libraries), with the Vazirmatn font loaded from node_modules so a chart looks
 * the same on any machine. Persian charts read right to left: the category axis runs from the
 * right, the value axis stands on the right, digits are Persian. (Why this renderer and not
 * Vega-Lite + resvg: docs/benchmarks.md, "Chart renderers".)
 */
export const FONT_FAMILY = 'Vazirmatn';
const require = createRequire(import.meta.url);
for (const weight of ['Regular', 'Bold']) {
  GlobalFonts.registerFromPath(require.resolve(`vazirmatn/fonts/ttf/Vazirmatn-${weight}.ttf`), FONT_FAMILY);
}
Chart.defaults.font.family = FONT_FAMILY;
Chart.defaults.font.size = 14;
Chart.defaults.color = '#333';

export const PALETTE = ['#2f6fdf', '#e8833a', '#2aa876', '#d64550', '#8e5ad6', '#c7a22b', '#3bb3c3', '#7a7a7a'];

export interface SeriesChart {
  kind: 'bar' | 'line' | 'hbar' | 'stacked' | 'doughnut';
  title: string;
  subtitle?: string;
  labels: string[];
  /** null leaves a gap (a line over periods with nothing to measure). */
  series: { label: string; data: (number | null)[] }[];
  locale: Locale;
  /** How values read on the axis: plain numbers (compact when large) or shares 0..1 as percents. */
  format?: 'number' | 'percent';
  width?: number;
  height?: number;
}

export interface HeatmapChart {
  kind: 'heatmap';
  title: string;
  subtitle?: string;
  /** Row labels (cohorts), column labels (months since joining), values 0..1 or null (not yet). */
  rows: string[];
  cols: string[];
  values: (number | null)[][];
  locale: Locale;
  width?: number;
  height?: number;
}

export type ChartSpec = SeriesChart | HeatmapChart;

const numberFormats = {
  fa: { plain: new Intl.NumberFormat('fa-IR', { maximumFractionDigits: 1 }), compact: new Intl.NumberFormat('fa-IR', { notation: 'compact', maximumFractionDigits: 1 }), percent: new Intl.NumberFormat('fa-IR', { style: 'percent', maximumFractionDigits: 0 }) },
  en: { plain: new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }), compact: new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }), percent: new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 0 }) },
};

/**
 * Skia lays text out in a left-to-right paragraph: Persian text that starts or ends with digits
 * ("۱ آذر", "۳٫۵ میلیون") would have its numbers on the wrong side. Right-to-left marks around it
 * make the whole label one right-to-left run.
 */
export function rtlText(text: string, locale: Locale): string {
  return locale === 'fa' ? `\u200F${text}\u200F` : text;
}

export function formatTick(value: number, locale: Locale, format: 'number' | 'percent' = 'number'): string {
  const f = numberFormats[locale];
  if (format === 'percent') return f.percent.format(value);
  return Math.abs(value) >= 10_000 ? f.compact.format(value) : f.plain.format(value);
}

/** Draws the chart and returns the PNG bytes. */
export async function renderChart(spec: ChartSpec): Promise<Buffer> {
  const width = spec.width ?? 900;
  const height = spec.height ?? 500;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  if (spec.kind === 'heatmap') {
    drawHeatmap(ctx, spec, width, height);
    return canvas.encode('png');
  }
  const chart = drawSeries(canvas, spec);
  try {
    return await canvas.encode('png');
  } finally {
    // destroy() wipes the canvas, so only after encoding.
    chart.destroy();
  }
}

function drawSeries(canvas: Canvas, spec: SeriesChart): Chart {
  const rtl = spec.locale === 'fa';
  const tick = (v: number | string) => rtlText(formatTick(Number(v), spec.locale, spec.format), spec.locale);
  const text = (t: string) => rtlText(t, spec.locale);
  const horizontal = spec.kind === 'hbar';
  const doughnut = spec.kind === 'doughnut';
  const type = spec.kind === 'line' ? 'line' : doughnut ? 'doughnut' : 'bar';
  const many = spec.series.length > 1;
  const datasets = spec.series.map((s, i) => ({
    label: text(s.label),
    data: s.data,
    backgroundColor: doughnut ? spec.labels.map((_, j) => PALETTE[j % PALETTE.length]!) : PALETTE[i % PALETTE.length]!,
    borderColor: doughnut ? '#ffffff' : PALETTE[i % PALETTE.length]!,
    borderWidth: spec.kind === 'line' ? 3 : 1,
    pointRadius: spec.kind === 'line' && s.data.length > 40 ? 0 : 3,
    tension: 0.2,
  }));
  const categoryAxis = { reverse: rtl && !horizontal, ticks: { autoSkip: true, maxRotation: 0, font: { size: 13 } }, grid: { display: false }, stacked: spec.kind === 'stacked' };
  const valueAxis = {
    beginAtZero: true,
    position: horizontal ? ('bottom' as const) : rtl ? ('right' as const) : ('left' as const),
    reverse: rtl && horizontal,
    ticks: { callback: tick, font: { size: 13 } },
    stacked: spec.kind === 'stacked',
  };
  const config: ChartConfiguration = {
    type,
    data: { labels: spec.labels.map(text), datasets: datasets as never },
    options: {
      indexAxis: horizontal ? 'y' : 'x',
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      layout: { padding: 16 },
      plugins: {
        title: { display: true, text: text(spec.title), font: { size: 20, weight: 'bold' }, padding: { bottom: spec.subtitle ? 4 : 12 } },
        subtitle: { display: Boolean(spec.subtitle), text: text(spec.subtitle ?? ''), font: { size: 14 }, color: '#666', padding: { bottom: 12 } },
        legend: { display: many || doughnut, rtl, position: doughnut ? (rtl ? 'left' : 'right') : 'top' },
        tooltip: { enabled: false },
      },
      ...(doughnut ? {} : { scales: horizontal ? { y: { ...categoryAxis, position: rtl ? 'right' : 'left' }, x: valueAxis } : { x: categoryAxis, y: valueAxis } }),
    } as never,
  };
  // Chart.js draws on anything with getContext(): Skia's canvas takes the place of a browser's.
  // Chart.js sets the text direction through the canvas element's CSS (legend with rtl): Skia's
  // canvas has none, so it gets a do-nothing style; Skia shapes Persian right to left by itself.
  Object.assign(canvas, { style: { getPropertyValue: () => '', getPropertyPriority: () => '', setProperty: () => undefined, removeProperty: () => undefined } });
  return new Chart(canvas as unknown as ConstructorParameters<typeof Chart>[0], config);
}

/** Cohort retention: one row per joining month, one cell per month after, shaded by the share. */
function drawHeatmap(ctx: SKRSContext2D, spec: HeatmapChart, width: number, height: number) {
  const rtl = spec.locale === 'fa';
  const pad = 16;
  const titleH = spec.subtitle ? 70 : 50;
  const labelW = 130;
  const headH = 34;
  const cols = Math.max(1, spec.cols.length);
  const rows = Math.max(1, spec.rows.length);
  const cellW = (width - 2 * pad - labelW) / cols;
  const cellH = Math.min(44, (height - titleH - headH - pad) / rows);
  const gridLeft = rtl ? pad : pad + labelW;
  // In Persian the first column (month 0) stands at the right and the labels on the right edge.
  const cellX = (c: number) => (rtl ? gridLeft + (cols - 1 - c) * cellW : gridLeft + c * cellW);
  ctx.direction = rtl ? 'rtl' : 'ltr';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = '#333';
  ctx.font = `bold 20px ${FONT_FAMILY}`;
  const text = (t: string) => rtlText(t, spec.locale);
  ctx.fillText(text(spec.title), width / 2, pad + 14);
  if (spec.subtitle) {
    ctx.font = `14px ${FONT_FAMILY}`;
    ctx.fillStyle = '#666';
    ctx.fillText(text(spec.subtitle), width / 2, pad + 42);
  }
  ctx.font = `13px ${FONT_FAMILY}`;
  ctx.fillStyle = '#333';
  spec.cols.forEach((label, c) => ctx.fillText(text(label), cellX(c) + cellW / 2, titleH + headH / 2));
  spec.rows.forEach((label, r) => {
    const y = titleH + headH + r * cellH;
    ctx.fillStyle = '#333';
    ctx.textAlign = rtl ? 'right' : 'left';
    ctx.fillText(text(label), rtl ? width - pad : pad, y + cellH / 2);
    ctx.textAlign = 'center';
    spec.cols.forEach((_, c) => {
      const v = spec.values[r]?.[c] ?? null;
      if (v === null) return;
      // White to the palette's blue: lighter is fewer coming back.
      const shade = Math.max(0, Math.min(1, v));
      const mix = (from: number, to: number) => Math.round(from + (to - from) * shade);
      ctx.fillStyle = `rgb(${mix(235, 47)}, ${mix(242, 111)}, ${mix(252, 223)})`;
      ctx.fillRect(cellX(c) + 1, y + 1, cellW - 2, cellH - 2);
      ctx.fillStyle = shade > 0.45 ? '#ffffff' : '#222222';
      ctx.fillText(text(formatTick(v, spec.locale, 'percent')), cellX(c) + cellW / 2, y + cellH / 2);
    });
  });
}

/** Several charts side by side on one picture (`columns` across), each drawn as on its own. */
export async function renderPanels(specs: ChartSpec[], columns = 2, panel = { width: 800, height: 420 }): Promise<Buffer> {
  const { Image } = await import('@napi-rs/canvas');
  const cols = Math.min(columns, specs.length);
  const rows = Math.ceil(specs.length / cols);
  const canvas = createCanvas(panel.width * cols, panel.height * rows);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (const [i, spec] of specs.entries()) {
    const image = new Image();
    image.src = await renderChart({ ...spec, width: panel.width, height: panel.height });
    // In Persian the first panel stands at the top right.
    const col = specs[0]?.locale === 'fa' ? cols - 1 - (i % cols) : i % cols;
    ctx.drawImage(image, col * panel.width, Math.floor(i / cols) * panel.height);
  }
  return canvas.encode('png');
}
