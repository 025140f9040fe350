import type { ClubDeps } from '../deps.ts';
import { queueDueChecks } from '../club/satisfaction.ts';

/** Asks "how was your visit?" for every purchase whose delay has passed (queued in the outbox). */
export async function sendDueSatisfactionChecks(deps: ClubDeps, now = deps.now()): Promise<number> {
  const asked = await queueDueChecks(deps.db, now);
  if (asked > 0) deps.notices.kick();
  return asked;
}
