import { readFileSync, writeFileSync } from 'node:fs';

const DAY_MS = 86_400_000;

/**
 * The playground club's clock: the wall clock plus an offset that "Fast-forward" grows. The offset
 * is kept in a file next to the data, so a restart never sends the club back in time (its rows
 * would then be stamped in the future).
 */
export class PlaygroundClock {
  private offsetMs = 0;

  constructor(private readonly file?: string) {
    if (!file) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { offsetMs?: unknown };
      if (typeof saved.offsetMs === 'number' && Number.isFinite(saved.offsetMs) && saved.offsetMs >= 0) this.offsetMs = saved.offsetMs;
    } catch {
      // No clock saved yet: the wall clock.
    }
  }

  readonly now = (): Date => new Date(Date.now() + this.offsetMs);

  get daysAhead() {
    return Math.floor(this.offsetMs / DAY_MS);
  }

  advance(days: number) {
    this.offsetMs += days * DAY_MS;
    if (this.file) writeFileSync(this.file, JSON.stringify({ offsetMs: this.offsetMs }));
  }
}
