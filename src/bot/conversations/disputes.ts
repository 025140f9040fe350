import type { Conversation } from '@grammyjs/conversations';
import { dismissDispute, findDispute, MAX_DISPUTE_REASON } from '../../club/disputes.ts';
import { formatMoney, formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { askText, attempt, managerIdOf } from './ask.ts';

export const DISPUTE_DISMISS = 'dispute_dismiss';

type DisputeConversation = Conversation<Context, ConversationContext>;

/** A manager dismisses a dispute: the reason is required, and the member reads it. */
export function createDisputeConversations(deps: ClubDeps) {
  async function dismiss(conversation: DisputeConversation, ctx: ConversationContext, disputeId: number) {
    const { t, locale } = ctx;
    const found = await conversation.external(async () => ({ actor: await managerIdOf(deps.db, ctx), dispute: await findDispute(deps.db, disputeId) }));
    if (found.actor === null) return say(ctx, t('errors.manager_only'));
    const d = found.dispute;
    if (!d) return say(ctx, t('errors.dispute_not_found'));
    if (d.status !== 'open') return say(ctx, t('errors.dispute_decided'));
    const reason = await askText(
      conversation,
      ctx,
      t('disputes.ask_dismiss_reason', { id: formatNumber(d.purchaseId, locale), name: d.firstName, amount: formatMoney(d.amountRials, locale) }),
      { cancelledKey: 'till.cancelled', max: MAX_DISPUTE_REASON },
    );
    if (reason === null) return;
    const result = await conversation.external(async () => {
      const out = await attempt(() => dismissDispute(deps.db, disputeId, found.actor!, reason, deps.now()));
      // The member's notice was queued with the decision.
      if (out.ok) deps.notices.kick();
      return out.ok ? { ok: true as const } : out;
    });
    if (!result.ok) return say(ctx, t(result.key, result.params), { remove_keyboard: true });
    await say(ctx, t('disputes.dismissed', { id: formatNumber(d.purchaseId, locale), name: d.firstName }), { remove_keyboard: true });
  }

  return { dismiss };
}
