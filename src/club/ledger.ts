import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Currency, Database, LedgerEntry } from '../db/schema.ts';

export type Trx = Transaction<Database>;

export interface CreditInput {
  memberId: number;
  currency: Currency;
  amount: number;
  /** What kind of movement: 'earn' counts toward tiers; later issues add more kinds. */
  kind: string;
  reason: string;
  /** One credit per real-world event ('signup:+98912...', 'purchase:<branch>:<receipt>'). */
  idempotencyKey: string;
  expiresAt: Date | null;
  branchId?: number | null;
  actorMemberId?: number | null;
  meta?: Record<string, unknown> | null;
}

export interface CreditResult {
  entry: LedgerEntry;
  /** True when the same idempotency key was already recorded: nothing new was paid. */
  duplicate: boolean;
}

/** Locks the member row; every balance change takes this lock first, so they serialise per member. */
export async function lockMember(trx: Trx, memberId: number) {
  return trx.selectFrom('members').selectAll().where('id', '=', memberId).forUpdate().executeTakeFirstOrThrow();
}

/**
 * Adds a lot to the member's points or credit. Must run inside a transaction; the entry, the lot
 * and the cached balance change together or not at all. A repeated idempotency key pays nothing
 * and returns the original entry.
 */
export async function credit(trx: Trx, input: CreditInput): Promise<CreditResult> {
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0) {
    throw new RangeError(`credit amount must be a positive integer, got ${input.amount}`);
  }
  await lockMember(trx, input.memberId);
  const entry = await trx
    .insertInto('ledger_entries')
    .values({
      member_id: input.memberId,
      currency: input.currency,
      amount: input.amount,
      kind: input.kind,
      reason: input.reason,
      idempotency_key: input.idempotencyKey,
      expires_at: input.expiresAt,
      branch_id: input.branchId ?? null,
      actor_member_id: input.actorMemberId ?? null,
      meta: input.meta ? JSON.stringify(input.meta) : null,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returningAll()
    .executeTakeFirst();

  if (!entry) {
    const original = await trx
      .selectFrom('ledger_entries')
      .selectAll()
      .where('idempotency_key', '=', input.idempotencyKey)
      .executeTakeFirstOrThrow();
    return { entry: original, duplicate: true };
  }

  await trx
    .insertInto('ledger_lots')
    .values({
      entry_id: entry.id,
      member_id: input.memberId,
      currency: input.currency,
      remaining: input.amount,
      expires_at: input.expiresAt,
    })
    .execute();
  const column = input.currency === 'points' ? 'points_balance' : 'credit_balance';
  await trx
    .updateTable('members')
    .set({ [column]: sql`${sql.ref(column)} + ${input.amount}` })
    .where('id', '=', input.memberId)
    .execute();
  return { entry, duplicate: false };
}

export interface LedgerViolation {
  memberId: number;
  currency: Currency;
  cached: number;
  ledger: number;
  lots: number;
}

/**
 * The ledger's invariants, for tests and health checks: the cached balance equals the sum of the
 * journal and the sum of what is left in the lots (a lot can never drop below zero: a CHECK
 * constraint refuses it).
 */
export async function ledgerViolations(db: Db, memberId?: number): Promise<LedgerViolation[]> {
  const rows = await sql<LedgerViolation>`
    select m.id as "memberId", c.currency,
           case when c.currency = 'points' then m.points_balance else m.credit_balance end as cached,
           coalesce((select sum(e.amount) from ledger_entries e
                     where e.member_id = m.id and e.currency = c.currency), 0)::int8 as ledger,
           coalesce((select sum(l.remaining) from ledger_lots l
                     where l.member_id = m.id and l.currency = c.currency), 0)::int8 as lots
    from members m cross join (values ('points'), ('credit')) as c(currency)
    where ${memberId === undefined ? sql`true` : sql`m.id = ${memberId}`}
  `.execute(db);
  return rows.rows.filter((r) => r.cached !== r.ledger || r.cached !== r.lots);
}
