/**
 * Chart renderer comparison (docs/benchmarks.md, "Chart renderers"): the same Persian bar chart
 * drawn by Chart.js on @napi-rs/canvas and by Vega-Lite -> SVG -> @resvg/resvg-js, both with the
 * bundled Vazirmatn font and no system fonts. Writes the PNGs to --out (default /tmp) to look at,
 * and prints ms per chart (median of N after a warm-up).
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { renderChart, FONT_FAMILY } from '../../src/lib/chart.ts';

const require = createRequire(import.meta.url);
const fontPath = require.resolve('vazirmatn/fonts/ttf/Vazirmatn-Regular.ttf');
const boldPath = require.resolve('vazirmatn/fonts/ttf/Vazirmatn-Bold.ttf');
const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1]! : '/tmp';
const runs = 30;

const labels = ['شنبه', 'یکشنبه', 'دوشنبه', 'سه‌شنبه', 'چهارشنبه', 'پنجشنبه', 'جمعه'];
const values = [12, 19, 7, 15, 22, 30, 9];
const title = 'فروش بر اساس روز هفته (میلیون تومان)';

async function chartJs() {
  return renderChart({ kind: 'bar', title, labels, series: [{ label: 'فروش', data: values }], width: 800, height: 450, locale: 'fa' });
}

async function vegaLiteResvg() {
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 720,
    height: 340,
    title: { text: title, font: FONT_FAMILY, fontSize: 18 },
    data: { values: labels.map((l, i) => ({ day: l, value: values[i] })) },
    mark: 'bar',
    encoding: {
      x: { field: 'day', type: 'nominal', sort: null, scale: { reverse: true }, axis: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY, labelAngle: 0, title: 'روز' } },
      y: { field: 'value', type: 'quantitative', axis: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY, title: 'فروش', format: 'd' } },
    },
    config: { background: 'white', font: FONT_FAMILY },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { font: { fontFiles: [fontPath, boldPath], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY } }).render().asPng();
  return Buffer.from(png);
}

async function time(name: string, draw: () => Promise<Buffer>) {
  const first = await draw();
  writeFileSync(join(out, `renderer-${name}.png`), first);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await draw();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  console.log(`${name}: median ${ms[runs >> 1]!.toFixed(1)} ms, p90 ${ms[Math.floor(runs * 0.9)]!.toFixed(1)} ms, ${first.length} bytes`);
}

await time('chartjs-napi-canvas', chartJs);
await time('vegalite-resvg', vegaLiteResvg);
