import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credit, expireLots } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase, voidPurchase } from '../../src/club/purchases.ts';
import { createBranch } from '../../src/club/staff.ts';
import { convertPointsToCredit } from '../../src/club/wallet.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const TZ = 'Asia/Tehran';
const DAY = 86_400_000;
const SLOT = sql`date_bin('15 minutes', created_at, timestamptz '2000-01-01 00:00:00+00')`;

/**
 * The summaries the reports read (migrations/20261129230000_report_summaries.ts) against the raw
 * tables, computed here the direct way, after joins, purchases, voids, conversions, expiries and
 * changes to members.
 */
describe(`report summaries agree with the raw tables (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await testDatabase();
  });
  afterAll(() => database?.close());

  async function disagreements() {
    const db = database.db;
    const { rows: sales } = await sql`
      (select ${SLOT} as slot, branch_id, count(*)::int8 as purchases, sum(amount_rials)::int8 as revenue from purchases where status = 'recorded' group by 1, 2
       except select slot, branch_id, purchases, revenue from (select slot, branch_id, sum(purchases)::int8 as purchases, sum(revenue)::int8 as revenue from report_sales group by 1, 2 having sum(purchases) <> 0) rs)
      union all
      (select slot, branch_id, purchases, revenue from (select slot, branch_id, sum(purchases)::int8 as purchases, sum(revenue)::int8 as revenue from report_sales group by 1, 2 having sum(purchases) <> 0) rs
       except select ${SLOT}, branch_id, count(*)::int8, sum(amount_rials)::int8 from purchases where status = 'recorded' group by 1, 2)`.execute(db);
    const ledgerSums = sql`select ${SLOT} as slot, coalesce(branch_id, 0) as branch_id, count(*)::int8 as entries,
      coalesce(sum(amount) filter (where currency = 'points' and amount > 0 and kind <> 'refund'), 0)::int8 as issued,
      coalesce(-sum(amount) filter (where currency = 'points' and kind in ('spend', 'convert')), 0)::int8 as redeemed,
      coalesce(-sum(amount) filter (where currency = 'points' and kind = 'expire'), 0)::int8 as expired,
      coalesce(sum(amount) filter (where currency = 'credit' and amount > 0), 0)::int8 as credit_in,
      coalesce(-sum(amount) filter (where currency = 'credit' and amount < 0), 0)::int8 as credit_out
      from ledger_entries group by 1, 2`;
    const { rows: ledger } = await sql`
      (${ledgerSums} except select * from (select slot, branch_id, sum(entries)::int8, sum(issued)::int8, sum(redeemed)::int8, sum(expired)::int8, sum(credit_in)::int8, sum(credit_out)::int8 from report_ledger group by 1, 2) rl) union all (select * from (select slot, branch_id, sum(entries)::int8, sum(issued)::int8, sum(redeemed)::int8, sum(expired)::int8, sum(credit_in)::int8, sum(credit_out)::int8 from report_ledger group by 1, 2) rl except ${ledgerSums})`.execute(db);
    const counts = sql`select d.dimension, d.value, count(*)::int8 as members from members m cross join lateral (values
      ('birth', coalesce(m.birth_date::text, '')), ('gender', coalesce(m.gender, 'unknown')),
      ('city', coalesce(nullif(trim(m.city), ''), '')), ('tier', m.tier_id::text)) d(dimension, value) group by 1, 2`;
    const { rows: members } = await sql`
      (${counts} except select * from (select dimension, value, sum(members)::int8 as members from report_member_counts group by 1, 2 having sum(members) <> 0) mc)
      union all (select * from (select dimension, value, sum(members)::int8 as members from report_member_counts group by 1, 2 having sum(members) <> 0) mc except ${counts})`.execute(db);
    // The members' cached purchase figures (migrations/20261122235000_member_stats.ts), which the
    // till keeps itself since 20261129233000_lighter_till.ts.
    const { rows: stats } = await sql`
      select m.id, m.purchase_count, m.spend_rials, m.last_purchase_at, s.n, s.spend, s.last from members m
      left join lateral (select count(*)::int8 as n, coalesce(sum(amount_rials), 0)::int8 as spend, max(created_at) as last
        from purchases p where p.member_id = m.id and p.status = 'recorded') s on true
      where m.purchase_count <> s.n or m.spend_rials <> s.spend or m.last_purchase_at is distinct from s.last`.execute(db);
    return { sales, ledger, members, stats };
  }

  it('after joins, purchases at two branches, a void, a conversion, an expiry and changed members', async () => {
    const db = database.db;
    const start = new Date('2025-10-01T08:00:00Z');
    const join = (i: number, extra: { gender?: 'female' | 'male'; birthDate?: string }) =>
      joinClub(db, { platform: 'telegram', userId: 9400 + i, chatId: 9400 + i }, { phone: `+98912000040${i}`, firstName: `M${i}`, locale: 'fa', ...extra }, { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: [], now: start });
    const cashier = (await join(0, {})).member.id;
    const a = (await join(1, { gender: 'female', birthDate: '1990-01-01' })).member.id;
    const b = (await join(2, { gender: 'male' })).member.id;
    const north = (await createBranch(db, cashier, 'North', start)).id;
    const buy = (memberId: number, branchId: number, amountRials: number, at: Date) =>
      recordPurchase(db, { memberId, branchId, cashierMemberId: cashier, amountRials, operationId: randomUUID() }, { now: at, timeZone: TZ });
    await buy(a, 1, 1_000_000, new Date(start.getTime() + DAY));
    await buy(a, north, 2_000_000, new Date(start.getTime() + DAY + 60_000)); // same slot, other branch
    await buy(b, 1, 3_000_000, new Date(start.getTime() + DAY + 120_000)); // same slot and branch as the first
    const voided = await buy(b, north, 9_000_000, new Date(start.getTime() + 2 * DAY));
    await voidPurchase(db, voided.purchase.id, cashier, 'wrong amount', { now: new Date(start.getTime() + 2 * DAY + 60_000), timeZone: TZ });
    await convertPointsToCredit(db, a, 100, randomUUID(), { now: new Date(start.getTime() + 3 * DAY), timeZone: TZ });
    // Paid partly with that credit: an earning and a credit spend in one slot.
    const withCredit = await recordPurchase(db, { memberId: a, branchId: north, cashierMemberId: cashier, amountRials: 3_000_000, creditToUse: 1_000, operationId: randomUUID() },
      { now: new Date(start.getTime() + 3 * DAY + 60_000), timeZone: TZ });
    expect(withCredit.purchase.credit_used).toBe(1_000);
    // The same purchase again (a retry) adds nothing.
    expect((await recordPurchase(db, { memberId: a, branchId: north, cashierMemberId: cashier, amountRials: 3_000_000, creditToUse: 1_000, operationId: 'again', receiptNo: 'R-1' },
      { now: new Date(start.getTime() + 3 * DAY + 90_000), timeZone: TZ })).duplicate).toBe(false);
    expect((await recordPurchase(db, { memberId: a, branchId: north, cashierMemberId: cashier, amountRials: 3_000_000, creditToUse: 1_000, operationId: 'again', receiptNo: 'R-1' },
      { now: new Date(start.getTime() + 3 * DAY + 90_000), timeZone: TZ })).duplicate).toBe(true);
    // Other writes after the till's, in its transaction, are still counted by the triggers: the till
    // leaves them nothing to skip.
    await db.transaction().execute(async (trx) => {
      const at = new Date(start.getTime() + 3 * DAY + 120_000);
      await recordPurchase(trx, { memberId: b, branchId: 1, cashierMemberId: cashier, amountRials: 700_000, operationId: randomUUID() }, { now: at, timeZone: TZ });
      await sql`insert into purchases (member_id, branch_id, cashier_member_id, amount_rials, idempotency_key, created_at)
        values (${b}, 1, ${cashier}, 400000, ${`raw-${randomUUID()}`}, ${at}), (${a}, ${north}, ${cashier}, 500000, ${`raw-${randomUUID()}`}, ${at})`.execute(trx);
      await credit(trx, { memberId: b, currency: 'points', amount: 7, kind: 'gift', reason: 'test', idempotencyKey: `gift-${randomUUID()}`, expiresAt: null, branchId: 1, actorMemberId: cashier, at });
    });
    await db.updateTable('members').set({ city: ' Shiraz ', gender: 'female' }).where('id', '=', b).execute();
    await db.updateTable('members').set({ birth_date: null, city: 'Tehran' }).where('id', '=', a).execute();
    await db.updateTable('members').set({ points_balance: sql`points_balance` }).execute(); // no counted column changes
    const expired = await expireLots(db, new Date(start.getTime() + 400 * DAY));
    expect(expired.lots).toBeGreaterThan(0);

    expect(await disagreements()).toEqual({ sales: [], ledger: [], members: [], stats: [] });
    const { rows } = await sql<{ n: number }>`select count(*)::int8 as n from (select slot, branch_id from report_sales where slot < ${new Date(start.getTime() + 2 * DAY)} group by 1, 2 having sum(purchases) <> 0) cells`.execute(db);
    expect(rows[0]!.n).toBe(2); // the three sales of the first day share a slot at two branches
  });
});
