import type { ChartSpec } from '../../lib/chart.ts';

export type { ChartSpec };

// The chart renderer (canvas and Chart.js, ~35 MB of RSS and a slower start) is loaded with the
// first chart a process draws, not by every club process (issue 14).
type Charts = typeof import('../../lib/chart.ts');
export const renderChart: Charts['renderChart'] = async (...args) => (await import('../../lib/chart.ts')).renderChart(...args);
export const renderPanels: Charts['renderPanels'] = async (...args) => (await import('../../lib/chart.ts')).renderPanels(...args);
