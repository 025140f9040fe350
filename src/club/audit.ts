import type { Db } from '../db/database.ts';
import type { Trx } from './ledger.ts';

export interface AuditEntry {
  actor: number | null;
  action: string;
  payload: Record<string, unknown>;
  /** The club's clock (`deps.now()`), never the database's. */
  at: Date;
}

/** Appends to the audit log (append-only, like the ledger). */
export async function audit(db: Db | Trx, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ actor_member_id: entry.actor, action: entry.action, payload: JSON.stringify(entry.payload), created_at: entry.at })
    .execute();
}
