import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { ClubError } from './errors.ts';
import { addTicketMessage, openTicket } from './tickets.ts';
import { settingsStore } from './settings.ts';

export const feedbackSettingsSchema = z.object({
  satisfactionEnabled: z.boolean().default(true),
  satisfactionDelayMinutes: z.number().int().min(0).max(7 * 24 * 60).default(120),
});
export type FeedbackSettings = z.infer<typeof feedbackSettingsSchema>;

const feedbackStore = settingsStore('feedback', feedbackSettingsSchema);
export const feedbackSettings = (db: Db) => feedbackStore.read(db);
export const saveFeedbackSettings = feedbackStore.save;

/** After a purchase: "how was your visit?" is asked once, after the configured delay. */
export async function scheduleSatisfactionCheck(db: Db, purchase: { id: number; member_id: number; branch_id: number }, now: Date) {
  const settings = await feedbackSettings(db);
  if (!settings.satisfactionEnabled) return false;
  const row = await db
    .insertInto('satisfaction_checks')
    .values({ purchase_id: purchase.id, member_id: purchase.member_id, branch_id: purchase.branch_id, due_at: new Date(now.getTime() + settings.satisfactionDelayMinutes * 60_000), sent_at: null, score: null, comment: null, ticket_id: null })
    .onConflict((oc) => oc.column('purchase_id').doNothing())
    .returning('purchase_id')
    .executeTakeFirst();
  return Boolean(row);
}

/**
 * Claims the checks that are due: marked sent before they go out, so a crash loses a question
 * rather than asking twice. A voided or disputed purchase is never followed by "how was your
 * visit?": its check is claimed (so it is not looked at again) but not returned.
 */
export async function claimDueChecks(db: Db, now: Date, limit = 100) {
  const claimed = await db
    .updateTable('satisfaction_checks')
    .set({ sent_at: now })
    .where('purchase_id', 'in', (eb) => eb.selectFrom('satisfaction_checks').select('purchase_id').where('sent_at', 'is', null).where('due_at', '<=', now).orderBy('due_at').limit(limit))
    .where('sent_at', 'is', null)
    .returningAll()
    .execute();
  if (claimed.length === 0) return claimed;
  const live = await db
    .selectFrom('purchases')
    .select('id')
    .where('id', 'in', claimed.map((c) => c.purchase_id))
    .where('status', '=', 'recorded')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('disputes').select('disputes.id').whereRef('disputes.purchase_id', '=', 'purchases.id'))))
    .execute();
  const ask = new Set(live.map((p) => p.id));
  return claimed.filter((c) => ask.has(c.purchase_id));
}

/** The member's score: once. A score of 1 or 2 opens a ticket so someone follows up. */
export async function recordSatisfaction(db: Db, purchaseId: number, memberId: number, score: number, now: Date) {
  if (!Number.isInteger(score) || score < 1 || score > 5) throw new ClubError('errors.rating_invalid');
  const scored = await db
    .updateTable('satisfaction_checks')
    .set({ score })
    .where('purchase_id', '=', purchaseId)
    .where('member_id', '=', memberId)
    .where('score', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!scored) return { scored: false as const, ticketId: null };
  if (score > 2) return { scored: true as const, ticketId: null, branchId: scored.branch_id };
  const ticket = await openTicket(
    db,
    { memberId, kind: 'low_score', category: 'service', text: `★ ${score}/5`, branchId: scored.branch_id, purchaseId },
    now,
  );
  await db.updateTable('satisfaction_checks').set({ ticket_id: ticket.id }).where('purchase_id', '=', purchaseId).execute();
  return { scored: true as const, ticketId: ticket.id, branchId: scored.branch_id };
}

/** An optional comment after the score; on a low score it joins the ticket's thread. */
export async function commentSatisfaction(db: Db, purchaseId: number, memberId: number, comment: string, now: Date) {
  const text = comment.trim();
  if (!text) throw new ClubError('errors.text_empty');
  if (text.length > 2000) throw new ClubError('errors.text_too_long', { max: 2000 });
  const check = await db
    .updateTable('satisfaction_checks')
    .set({ comment: text })
    .where('purchase_id', '=', purchaseId)
    .where('member_id', '=', memberId)
    .where('score', 'is not', null)
    .where('comment', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!check) throw new ClubError('errors.comment_not_expected');
  if (check.ticket_id !== null) await addTicketMessage(db, check.ticket_id, { memberId, staff: false }, text, now);
  return check;
}
