import type { ClubDeps } from '../deps.ts';
import { announcementRef } from '../bot/announcements.ts';
import { drawLottery, dueLotteries, queueUntoldWinners, type DrawResult } from '../club/lotteries.ts';

/**
 * Draws one lottery (once, however often it is called). The result campaign (written for each
 * member in their language when sent) and the winners' notices are queued with the draw.
 */
export async function runDraw(deps: ClubDeps, lotteryId: number): Promise<DrawResult | null> {
  const env = {
    now: deps.now(),
    timeZone: deps.config.timeZone,
    defaults: { tierWindowDays: deps.config.tierWindowDays, validity: { mode: 'days' as const, days: deps.config.pointsValidityDays } },
  };
  const result = await drawLottery(deps.db, lotteryId, env, (lottery) => announcementRef('lottery_result', lottery.id));
  if (result?.campaignId) deps.broadcaster.kick(result.campaignId);
  if (result) deps.notices.kick();
  return result;
}

/** Every minute: lotteries whose period has ended are drawn (and winners drawn before notices were queued with the draw are told). */
export async function drawDueLotteries(deps: ClubDeps): Promise<void> {
  for (const id of await dueLotteries(deps.db, deps.now())) await runDraw(deps, id);
  if ((await queueUntoldWinners(deps.db, deps.now())) > 0) deps.notices.kick();
}
