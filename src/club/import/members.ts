import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { isUniqueViolation } from '../errors.ts';
import { creditMany, type BulkCredit, type Trx } from '../ledger.ts';
import { newReferralCode } from '../members.ts';
import type { ApplyEnv, Checked, LineProblems } from './imports.ts';
import type { MemberRow } from './validate.ts';

export interface MemberImportResult {
  created: number;
  /** Already members: only the blanks in their profile were filled from the file. */
  updated: number;
  unchanged: number;
  /** Opening balances paid now (one lot each for points and credit, keyed by phone). */
  lots: number;
}

export interface ApplyOptions {
  actorMemberId: number;
  /** Pre-registered people get the signup bonus when they join the bot. */
  signupBonus: boolean;
  importId: number;
}

/** The key of an opening balance: one per phone and currency, whatever file brings it. */
export const openingKey = (currency: 'points' | 'credit', phone: string) => `import:${currency}:${phone}`;

/**
 * Creates the members a batch names that the club does not have yet (pre-registered: no messenger
 * account until they join and share this phone), fills blanks in the profiles of those it has
 * (never overwriting what a member entered), and pays opening balances as lots.
 *
 * A new member is written once, opening balances included: one statement inserts the members with
 * their cached balances already set, and their ledger entries and lots, instead of inserting them
 * and then updating every row again (an update of a row inserted in the same transaction rewrites
 * all of the members' indexes and checks its foreign keys again: a fifth of a batch on PGlite).
 * A balance is only set where its key is not in the ledger yet (a phone that moved to another
 * member keeps its lot there); the entry is inserted without ON CONFLICT, so a key recorded
 * meanwhile by someone else fails the batch (`fast: false` then redoes it the general way) instead
 * of leaving a balance without its entry. Members the club already had get their lots through
 * creditMany (keyed, so a second import pays nothing).
 */
async function applyBatch(trx: Trx, rows: MemberRow[], opts: ApplyOptions, env: ApplyEnv, defaultTier: number, fast: boolean) {
  const expires = new Date(env.now.getTime() + env.pointsValidityDays * 86_400_000);
  const json = JSON.stringify(
    rows.map((r) => ({
      phone: r.phone,
      first_name: r.firstName,
      last_name: r.lastName,
      birth_date: r.birthDate,
      gender: r.gender,
      city: r.city,
      note: r.note,
      tier_id: r.tierId,
      joined_at: r.joinedAt,
      code: newReferralCode(),
      points: fast ? r.points : 0,
      credit: fast ? r.credit : 0,
      points_key: openingKey('points', r.phone),
      credit_key: openingKey('credit', r.phone),
    })),
  );
  const recordset = sql`jsonb_to_recordset(${json}::jsonb) as v(phone text, first_name text, last_name text, birth_date date, gender text, city text, note text, tier_id int4, joined_at timestamptz, code text, points int8, credit int8, points_key text, credit_key text)`;
  // A balance whose key is already in the ledger is not paid again (0: no entry, no lot).
  const opening = (amount: string, key: string) =>
    sql`case when v.${sql.raw(amount)} > 0 and not exists (select 1 from ledger_entries e where e.idempotency_key = v.${sql.raw(key)}) then v.${sql.raw(amount)} else 0 end`;
  const { rows: made } = await sql<{ created: number; lots: number }>`
    with v as (select * from ${recordset}),
    created as (
      insert into members (phone, first_name, last_name, birth_date, gender, city, note, referral_code, tier_id, joined_at, last_active_at, join_bonus_due, points_balance, credit_balance)
      select v.phone, coalesce(v.first_name, ''), v.last_name, v.birth_date, v.gender, v.city, v.note, v.code,
        coalesce(v.tier_id, ${defaultTier}), coalesce(v.joined_at, ${env.now}::timestamptz), coalesce(v.joined_at, ${env.now}::timestamptz), ${opts.signupBonus},
        ${opening('points', 'points_key')}, ${opening('credit', 'credit_key')}
      from v
      on conflict (phone) do nothing
      returning id, phone, points_balance, credit_balance
    ), entries as (
      insert into ledger_entries (member_id, currency, amount, kind, reason, idempotency_key, expires_at, actor_member_id, created_at)
      select c.id, x.currency, x.amount, 'opening', 'import', x.key, x.expires_at, ${opts.actorMemberId}::int8, ${env.now}::timestamptz
      from created c join v on v.phone = c.phone
      cross join lateral (values ('points', c.points_balance, v.points_key, ${expires}::timestamptz), ('credit', c.credit_balance, v.credit_key, null::timestamptz))
        as x(currency, amount, key, expires_at)
      where x.amount > 0
      returning id, member_id, currency, amount, expires_at
    ), lots as (
      insert into ledger_lots (entry_id, member_id, currency, remaining, expires_at)
      select id, member_id, currency, amount, expires_at from entries
    )
    select (select count(*) from created)::int as created, (select count(*) from entries)::int as lots`.execute(trx);
  const updated = await sql<{ id: number }>`
    update members m set
      first_name = case when m.first_name = '' and v.first_name is not null then v.first_name else m.first_name end,
      last_name = coalesce(m.last_name, v.last_name),
      birth_date = coalesce(m.birth_date, v.birth_date),
      gender = coalesce(m.gender, v.gender),
      city = coalesce(m.city, v.city),
      note = coalesce(m.note, v.note)
    from ${recordset}
    where m.phone = v.phone and (
      (m.first_name = '' and v.first_name is not null) or (m.last_name is null and v.last_name is not null)
      or (m.birth_date is null and v.birth_date is not null) or (m.gender is null and v.gender is not null)
      or (m.city is null and v.city is not null) or (m.note is null and v.note is not null))
    returning m.id`.execute(trx);

  // The rest: members the club already had (and, on the slow path, everybody).
  const created = made[0]!.created;
  let lots = made[0]!.lots;
  const withBalance = rows.filter((r) => r.points > 0 || r.credit > 0);
  if (withBalance.length && (!fast || created < rows.length)) {
    const { rows: ids } = await sql<{ id: number; phone: string }>`
      select id, phone from members where phone = any(${withBalance.map((r) => r.phone)}::text[])`.execute(trx);
    const idOf = new Map(ids.map((m) => [m.phone, m.id]));
    const credits: BulkCredit[] = [];
    for (const r of withBalance) {
      const memberId = idOf.get(r.phone)!;
      if (r.points > 0) credits.push({ memberId, currency: 'points', amount: r.points, idempotencyKey: openingKey('points', r.phone), expiresAt: expires });
      if (r.credit > 0) credits.push({ memberId, currency: 'credit', amount: r.credit, idempotencyKey: openingKey('credit', r.phone), expiresAt: null });
    }
    // On the fast path the new members' keys are recorded already: creditMany skips them.
    lots += await creditMany(trx, credits, { kind: 'opening', reason: 'import', actorMemberId: opts.actorMemberId, at: env.now });
  }
  return { created, updated: updated.rows.length, lots };
}

export async function applyMembers(db: Db, batches: AsyncIterable<Checked[]>, problems: LineProblems[], opts: ApplyOptions, env: ApplyEnv): Promise<MemberImportResult> {
  const tier = await db.selectFrom('tiers').select('id').orderBy('rank').limit(1).executeTakeFirstOrThrow();
  const total: MemberImportResult = { created: 0, updated: 0, unchanged: 0, lots: 0 };
  for await (const batch of batches) {
    const rows: MemberRow[] = [];
    for (const c of batch) {
      if (c.kind === 'problem') problems.push(c.line);
      else if (c.kind === 'members') rows.push(c.row);
    }
    if (!rows.length) continue;
    let fast = true;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await db.transaction().execute((trx) => applyBatch(trx, rows, opts, env, tier.id, fast));
        total.created += r.created;
        total.updated += r.updated;
        total.unchanged += rows.length - r.created - r.updated;
        total.lots += r.lots;
        break;
      } catch (error) {
        // A new referral code that happens to be taken (1 in ~10^6 per batch): the batch, which
        // wrote nothing, runs again with fresh codes.
        if (attempt < 3 && isUniqueViolation(error, 'members_referral_code_key')) continue;
        // An opening key recorded by another transaction since this one looked: the general way.
        if (fast && isUniqueViolation(error, 'ledger_entries_idempotency_key_key')) {
          fast = false;
          continue;
        }
        throw error;
      }
    }
  }
  return total;
}
