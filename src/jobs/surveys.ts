import type { ClubDeps } from '../deps.ts';
import { queueInvitations } from '../club/surveys.ts';

/**
 * Moves pending survey invitations into the notification outbox at a steady rate (default 20 a
 * second), for at most `seconds`, so a survey to every member never crowds out receipts queued
 * meanwhile; the outbox sends them in each member's language at the platform's pace. Several
 * processes may run it at once: each claims its own rows.
 */
export async function dispatchSurveyInvitations(
  deps: Pick<ClubDeps, 'db' | 'notices' | 'now'>,
  options: { perSecond?: number; seconds?: number; shouldStop?: () => boolean } = {},
): Promise<number> {
  const perSecond = options.perSecond ?? 20;
  const deadline = Date.now() + (options.seconds ?? 50) * 1000;
  let queued = 0;
  while (Date.now() < deadline && !options.shouldStop?.()) {
    const started = Date.now();
    const batch = await queueInvitations(deps.db, perSecond, deps.now());
    if (batch === 0) break;
    deps.notices.kick();
    queued += batch;
    const wait = 1000 - (Date.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return queued;
}

/**
 * Runs the dispatch in the background when there may be work (after publishing, and every minute),
 * one run at a time per process, and lets the club wait for it to finish when it stops.
 */
export class SurveyDispatcher {
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(private readonly deps: Pick<ClubDeps, 'db' | 'notices' | 'now' | 'logger'>) {}

  kick() {
    if (this.stopped || this.running) return;
    this.running = dispatchSurveyInvitations(this.deps, { seconds: 45, shouldStop: () => this.stopped })
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'survey dispatch failed'))
      .finally(() => {
        this.running = null;
      });
  }

  async stop() {
    this.stopped = true;
    await this.running;
  }
}
