import { describe, expect, it } from 'vitest';
import { tillDates } from '../../src/club/purchases.ts';
import { lotExpiry } from '../../src/club/rules.ts';
import { todayIso } from '../../src/lib/jalali.ts';
import { zonedMidnight } from '../../src/lib/zoned.ts';

describe('the till keeps its calendar dates until the next local midnight', () => {
  // Every 37 minutes over a Jalali year's turn and a daylight-saving change, forwards then backwards
  // (an injected clock may go back): the kept dates are always the ones worked out afresh.
  for (const tz of ['Asia/Tehran', 'Europe/Berlin']) {
    it(`in ${tz}`, () => {
      const start = Date.parse('2026-03-15T00:00:00Z');
      const instants = Array.from({ length: 1_200 }, (_, i) => new Date(start + i * 37 * 60_000));
      for (const now of [...instants, ...instants.reverse()]) {
        const kept = tillDates(now, tz);
        expect([kept.dayStart, kept.monthEnd, kept.yearEnd].map((d) => d.toISOString())).toEqual(
          [zonedMidnight(todayIso(now, tz), tz), lotExpiry(now, { mode: 'jalali_month_end', days: 1 }, tz), lotExpiry(now, { mode: 'jalali_year_end', days: 1 }, tz)].map((d) => d.toISOString()),
        );
        // What the till's statement is sent: the same three instants.
        expect(kept.params).toEqual([kept.dayStart, kept.monthEnd, kept.yearEnd].map((d) => d.toISOString()));
      }
    });
  }
});
