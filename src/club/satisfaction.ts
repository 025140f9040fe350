import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { ClubError } from './errors.ts';
import { addTicketMessageIn, openTicketIn, ticketStaffButtons } from './tickets.ts';
import { queueNotice, type Notice } from './notifications.ts';
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
 * Asks the checks that are due: each is marked asked and its question queued in the outbox in one
 * transaction, so a crash neither loses the question nor asks twice. A voided or disputed purchase
 * is never followed by "how was your visit?": its check is marked (so it is not looked at again)
 * but not asked. Returns how many were asked.
 */
export async function queueDueChecks(db: Db, now: Date, limit = 100): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('satisfaction_checks')
      .set({ sent_at: now })
      .where('purchase_id', 'in', (eb) => eb.selectFrom('satisfaction_checks').select('purchase_id').where('sent_at', 'is', null).where('due_at', '<=', now).orderBy('due_at').limit(limit))
      .where('sent_at', 'is', null)
      .returningAll()
      .execute();
    if (claimed.length === 0) return 0;
    const live = await trx
      .selectFrom('purchases')
      .innerJoin('branches', 'branches.id', 'purchases.branch_id')
      .select(['purchases.id', 'branches.name as branch'])
      .where('purchases.id', 'in', claimed.map((c) => c.purchase_id))
      .where('purchases.status', '=', 'recorded')
      .where((eb) => eb.not(eb.exists(eb.selectFrom('disputes').select('disputes.id').whereRef('disputes.purchase_id', '=', 'purchases.id'))))
      .execute();
    const branchOf = new Map(live.map((p) => [p.id, p.branch]));
    let asked = 0;
    for (const check of claimed) {
      const branch = branchOf.get(check.purchase_id);
      if (branch === undefined) continue;
      const notice: Notice = {
        kind: 'satisfaction',
        lines: [{ key: 'feedback.ask', params: { branch } }],
        buttons: [[1, 2, 3, 4, 5].map((n) => ({ label: { key: 'feedback.score_button', params: { n } }, data: `sat:${check.purchase_id}:${n}` }))],
      };
      await queueNotice(trx, check.member_id, notice, `satisfaction:${check.purchase_id}`, now);
      asked++;
    }
    return asked;
  });
}

/**
 * The member's score: once. A score of 1 or 2 opens a ticket so someone follows up; owners and
 * managers are told in the same transaction (through the outbox, each in their own language).
 */
export async function recordSatisfaction(db: Db, purchaseId: number, memberId: number, score: number, now: Date) {
  if (!Number.isInteger(score) || score < 1 || score > 5) throw new ClubError('errors.rating_invalid');
  return db.transaction().execute(async (trx) => {
    const scored = await trx
      .updateTable('satisfaction_checks')
      .set({ score })
      .where('purchase_id', '=', purchaseId)
      .where('member_id', '=', memberId)
      .where('score', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!scored) return { scored: false as const, ticketId: null };
    if (score > 2) return { scored: true as const, ticketId: null, branchId: scored.branch_id };
    const ticket = await openTicketIn(
      trx,
      { memberId, kind: 'low_score', category: 'service', text: `★ ${score}/5`, branchId: scored.branch_id, purchaseId },
      `★ ${score}/5`,
      now,
      (opened, name): Notice => ({ kind: 'low_score', lines: [{ key: 'feedback.low_to_staff', params: { id: opened.id, name, score } }], buttons: ticketStaffButtons(opened.id) }),
    );
    await trx.updateTable('satisfaction_checks').set({ ticket_id: ticket.id }).where('purchase_id', '=', purchaseId).execute();
    return { scored: true as const, ticketId: ticket.id, branchId: scored.branch_id };
  });
}

/** An optional comment after the score; on a low score it joins the ticket's thread (and managers hear of it, with it). */
export async function commentSatisfaction(db: Db, purchaseId: number, memberId: number, comment: string, now: Date) {
  const text = comment.trim();
  if (!text) throw new ClubError('errors.text_empty');
  if (text.length > 2000) throw new ClubError('errors.text_too_long', { max: 2000 });
  return db.transaction().execute(async (trx) => {
    const check = await trx
      .updateTable('satisfaction_checks')
      .set({ comment: text })
      .where('purchase_id', '=', purchaseId)
      .where('member_id', '=', memberId)
      .where('score', 'is not', null)
      .where('comment', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!check) throw new ClubError('errors.comment_not_expected');
    if (check.ticket_id !== null) await addTicketMessageIn(trx, check.ticket_id, { memberId, staff: false }, text, now);
    return check;
  });
}
