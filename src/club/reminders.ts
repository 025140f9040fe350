import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { queueNotice } from './notifications.ts';

/**
 * One reminder per lot, `days` before it expires, grouped into one message per member. The record
 * of the reminder and its notice in the outbox are one transaction: after a crash a reminder is
 * sent late, never lost and never twice.
 */
export async function queueExpiryWarnings(db: Db, now: Date, days: number): Promise<number> {
  const horizon = new Date(now.getTime() + days * 86_400_000);
  const lots = await db
    .selectFrom('ledger_lots')
    .select(['ledger_lots.entry_id', 'ledger_lots.member_id', 'ledger_lots.remaining', 'ledger_lots.expires_at'])
    .where('ledger_lots.currency', '=', 'points')
    .where('ledger_lots.remaining', '>', 0)
    .where('ledger_lots.expires_at', '>', now)
    .where('ledger_lots.expires_at', '<=', horizon)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('member_notices')
            .select(sql`1`.as('one'))
            .whereRef('member_notices.member_id', '=', 'ledger_lots.member_id')
            .where('member_notices.kind', '=', 'expiry')
            .whereRef('member_notices.key', '=', sql`ledger_lots.entry_id::text`),
        ),
      ),
    )
    .orderBy('ledger_lots.member_id')
    .execute();
  const byMember = new Map<number, { points: number; first: Date; lots: number[] }>();
  for (const lot of lots) {
    const entry = byMember.get(lot.member_id) ?? { points: 0, first: lot.expires_at!, lots: [] };
    entry.points += lot.remaining;
    if (lot.expires_at! < entry.first) entry.first = lot.expires_at!;
    entry.lots.push(lot.entry_id);
    byMember.set(lot.member_id, entry);
  }
  let warned = 0;
  for (const [memberId, warning] of byMember) {
    await db.transaction().execute(async (trx) => {
      const recorded = await trx
        .insertInto('member_notices')
        .values(warning.lots.map((id) => ({ member_id: memberId, kind: 'expiry', key: String(id), created_at: now })))
        .onConflict((oc) => oc.doNothing())
        .returning('key')
        .execute();
      // Another process warned about these lots meanwhile.
      if (recorded.length === 0) return;
      const notice = {
        kind: 'expiry',
        lines: [{ key: 'expiry.warning', params: { points: warning.points, date: { validUntil: warning.first.toISOString() } } }],
        buttons: [[{ label: { key: 'menu.rewards' }, data: 'rewards' }]],
      };
      await queueNotice(trx, memberId, notice, `expiry:${memberId}:${recorded.map((r) => r.key).sort().join(',').slice(0, 200)}`, now);
      warned++;
    });
  }
  return warned;
}
