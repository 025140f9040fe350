import type { ClubDeps } from '../bot/context.ts';
import { claimDueChecks } from '../club/satisfaction.ts';
import { formatNumber } from '../lib/format.ts';

/** Asks "how was your visit?" for every purchase whose delay has passed. */
export async function sendDueSatisfactionChecks(deps: ClubDeps, now = deps.now()): Promise<number> {
  const due = await claimDueChecks(deps.db, now);
  if (due.length === 0) return 0;
  const branches = new Map((await deps.db.selectFrom('branches').select(['id', 'name']).execute()).map((b) => [b.id, b.name]));
  for (const check of due) {
    await deps.notifier.notify(check.member_id, ({ t, locale }) => ({
      html: t('feedback.ask', { branch: branches.get(check.branch_id) ?? '' }),
      keyboard: { inline_keyboard: [[1, 2, 3, 4, 5].map((n) => ({ text: `${formatNumber(n, locale)}⭐`, callback_data: `sat:${check.purchase_id}:${n}` }))] },
    }));
  }
  return due.length;
}
