import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Currency, Database, LedgerEntry } from '../db/schema.ts';
import { InsufficientBalance } from './errors.ts';

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
  /** When it happened: the club's clock, never the database's. */
  at: Date;
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
      created_at: input.at,
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
  const column = balanceColumn(input.currency);
  await trx
    .updateTable('members')
    .set({ [column]: sql`${sql.ref(column)} + ${input.amount}` })
    .where('id', '=', input.memberId)
    .execute();
  return { entry, duplicate: false };
}

const balanceColumn = (currency: Currency) => (currency === 'points' ? 'points_balance' : 'credit_balance');

export interface DebitInput {
  memberId: number;
  currency: Currency;
  amount: number;
  kind: string;
  reason: string;
  idempotencyKey: string;
  branchId?: number | null;
  actorMemberId?: number | null;
  meta?: Record<string, unknown> | null;
  /** Take what there is, up to `amount`, instead of refusing (negative rules, voids). */
  upTo?: boolean;
  /** Consume this lot before the others (a void takes back the purchase's own lot first). */
  preferLot?: number;
  /** When it happened: the club's clock, never the database's. */
  at: Date;
}

export interface DebitResult {
  entry: LedgerEntry | null;
  /** What was actually taken (less than asked only with `upTo`). */
  amount: number;
  duplicate: boolean;
}

/**
 * Takes points or credit from the member, consuming lots first-to-expire-first. Inside a
 * transaction; refuses (InsufficientBalance) rather than letting a balance or a lot go below zero.
 */
export async function debit(trx: Trx, input: DebitInput): Promise<DebitResult> {
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0) {
    throw new RangeError(`debit amount must be a positive integer, got ${input.amount}`);
  }
  const member = await lockMember(trx, input.memberId);
  const existing = await trx.selectFrom('ledger_entries').selectAll().where('idempotency_key', '=', input.idempotencyKey).executeTakeFirst();
  if (existing) return { entry: existing, amount: -existing.amount, duplicate: true };

  const balance = input.currency === 'points' ? member.points_balance : member.credit_balance;
  let amount = input.amount;
  if (amount > balance) {
    if (!input.upTo) throw new InsufficientBalance(input.currency, balance);
    amount = balance;
  }
  if (amount <= 0) return { entry: null, amount: 0, duplicate: false };

  const entry = await trx
    .insertInto('ledger_entries')
    .values({
      member_id: input.memberId,
      currency: input.currency,
      amount: -amount,
      kind: input.kind,
      reason: input.reason,
      idempotency_key: input.idempotencyKey,
      expires_at: null,
      branch_id: input.branchId ?? null,
      actor_member_id: input.actorMemberId ?? null,
      meta: input.meta ? JSON.stringify(input.meta) : null,
      created_at: input.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();

  const lots = await trx
    .selectFrom('ledger_lots')
    .select(['entry_id', 'remaining'])
    .where('member_id', '=', input.memberId)
    .where('currency', '=', input.currency)
    .where('remaining', '>', 0)
    .orderBy(sql`entry_id = ${input.preferLot ?? 0}`, 'desc')
    .orderBy(sql`expires_at asc nulls last`)
    .orderBy('entry_id')
    .execute();
  let left = amount;
  const allocations: { debit_entry_id: number; lot_entry_id: number; amount: number }[] = [];
  for (const lot of lots) {
    if (left === 0) break;
    const take = Math.min(lot.remaining, left);
    left -= take;
    allocations.push({ debit_entry_id: entry.id, lot_entry_id: lot.entry_id, amount: take });
  }
  if (left !== 0) throw new Error(`ledger lots of member ${input.memberId} do not cover the cached balance`);
  for (const a of allocations) {
    await trx.updateTable('ledger_lots').set({ remaining: sql`remaining - ${a.amount}` }).where('entry_id', '=', a.lot_entry_id).execute();
  }
  await trx.insertInto('ledger_allocations').values(allocations).execute();
  const column = balanceColumn(input.currency);
  await trx
    .updateTable('members')
    .set({ [column]: sql`${sql.ref(column)} - ${amount}` })
    .where('id', '=', input.memberId)
    .execute();
  return { entry, amount, duplicate: false };
}

/**
 * Expires every lot whose time has come: one 'expire' entry per lot, keyed by the lot, so a run
 * that is interrupted or repeated takes nothing twice. Returns the points expired.
 */
export async function expireLots(db: Db, now: Date, batchSize = 500): Promise<{ lots: number; points: number }> {
  let lots = 0;
  let points = 0;
  for (;;) {
    const due = await db
      .selectFrom('ledger_lots')
      .select('member_id')
      .distinct()
      .where('remaining', '>', 0)
      .where('expires_at', '<=', now)
      .limit(batchSize)
      .execute();
    if (due.length === 0) return { lots, points };
    for (const { member_id } of due) {
      await db.transaction().execute(async (trx) => {
        await lockMember(trx, member_id);
        const expired = await trx
          .selectFrom('ledger_lots')
          .select(['entry_id', 'remaining', 'currency'])
          .where('member_id', '=', member_id)
          .where('remaining', '>', 0)
          .where('expires_at', '<=', now)
          .execute();
        for (const lot of expired) {
          const entry = await trx
            .insertInto('ledger_entries')
            .values({
              member_id,
              currency: lot.currency,
              amount: -lot.remaining,
              kind: 'expire',
              reason: 'lot_expired',
              idempotency_key: `expire:${lot.entry_id}`,
              expires_at: null,
              branch_id: null,
              actor_member_id: null,
              meta: null,
              created_at: now,
            })
            .returning('id')
            .executeTakeFirstOrThrow();
          await trx.insertInto('ledger_allocations').values({ debit_entry_id: entry.id, lot_entry_id: lot.entry_id, amount: lot.remaining }).execute();
          await trx.updateTable('ledger_lots').set({ remaining: 0 }).where('entry_id', '=', lot.entry_id).execute();
          const column = balanceColumn(lot.currency);
          await trx
            .updateTable('members')
            .set({ [column]: sql`${sql.ref(column)} - ${lot.remaining}` })
            .where('id', '=', member_id)
            .execute();
          lots += 1;
          if (lot.currency === 'points') points += lot.remaining;
        }
      });
    }
  }
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

export interface BulkCredit {
  memberId: number;
  currency: Currency;
  amount: number;
  idempotencyKey: string;
  expiresAt: Date | null;
}

/**
 * credit() for many lots at once (opening balances of an import): the entries, their lots and the
 * cached balances in one statement, under the members' row locks taken in id order. A key already
 * recorded pays nothing. Returns how many lots were new.
 */
export async function creditMany(
  trx: Trx,
  lots: readonly BulkCredit[],
  common: { kind: string; reason: string; actorMemberId: number | null; at: Date },
): Promise<number> {
  if (lots.length === 0) return 0;
  for (const lot of lots) {
    if (!Number.isSafeInteger(lot.amount) || lot.amount <= 0) throw new RangeError(`credit amount must be a positive integer, got ${lot.amount}`);
  }
  const ids = [...new Set(lots.map((l) => l.memberId))].sort((a, b) => a - b);
  await sql`select id from members where id = any(${ids}::int8[]) order by id for update`.execute(trx);
  const rows = JSON.stringify(lots.map((l) => ({ member_id: l.memberId, currency: l.currency, amount: l.amount, key: l.idempotencyKey, expires_at: l.expiresAt })));
  const { rows: result } = await sql<{ n: number }>`
    with v as (
      select * from jsonb_to_recordset(${rows}::jsonb) as v(member_id int8, currency text, amount int8, key text, expires_at timestamptz)
    ), ins as (
      insert into ledger_entries (member_id, currency, amount, kind, reason, idempotency_key, expires_at, actor_member_id, created_at)
      select member_id, currency, amount, ${common.kind}, ${common.reason}, key, expires_at, ${common.actorMemberId}::int8, ${common.at}::timestamptz from v
      on conflict (idempotency_key) do nothing
      returning id, member_id, currency, amount, expires_at
    ), lots as (
      insert into ledger_lots (entry_id, member_id, currency, remaining, expires_at)
      select id, member_id, currency, amount, expires_at from ins
    ), sums as (
      select member_id,
        coalesce(sum(amount) filter (where currency = 'points'), 0) as p,
        coalesce(sum(amount) filter (where currency = 'credit'), 0) as c
      from ins group by member_id
    ), upd as (
      update members m set points_balance = m.points_balance + sums.p, credit_balance = m.credit_balance + sums.c
      from sums where m.id = sums.member_id
      returning 1
    )
    select count(*)::int as n from ins`.execute(trx);
  return result[0]!.n;
}
