/**
 * The club the till benches record purchases in (bench:ledger, ledger-profile, ledger-touches):
 * `members` members of the lowest tier, each with a Telegram chat (so every purchase queues its
 * receipt in the outbox, as in a real club); the first one is the cashier.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';
import type { PurchaseInput } from '../../src/club/purchases.ts';

export interface TillClub {
  branchId: number;
  /** Member ids; the first is the cashier, never a buyer (the till refuses one's own membership). */
  ids: number[];
}

export async function seedTillClub(db: Db, members: number, now: Date): Promise<TillClub> {
  const branch = await db.selectFrom('branches').select('id').executeTakeFirstOrThrow();
  await sql`
    insert into members (phone, first_name, referral_code, tier_id, joined_at, last_active_at)
    select '+98915' || lpad(g::text, 7, '0'), 'Bench', 'B' || g, (select id from tiers order by rank limit 1), ${now}, ${now}
    from generate_series(1, ${members}::int) g`.execute(db);
  await sql`insert into member_accounts (platform, user_id, member_id, chat_id, created_at) select 'telegram', id, id, id, ${now} from members`.execute(db);
  const ids = (await db.selectFrom('members').select('id').orderBy('id').execute()).map((r) => r.id);
  return { branchId: branch.id, ids };
}

/** A purchase by a random member (not the cashier) of 10,000–510,000 Toman. */
export function randomPurchase(club: TillClub): PurchaseInput {
  return {
    memberId: club.ids[1 + Math.floor(Math.random() * (club.ids.length - 1))]!,
    branchId: club.branchId,
    cashierMemberId: club.ids[0]!,
    amountRials: 100_000 + Math.floor(Math.random() * 5_000_000),
    operationId: randomUUID(),
  };
}
