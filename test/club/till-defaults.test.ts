import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const DAY = 86_400_000;
const t0 = new Date('2026-11-22T08:00:00Z');

// recordPurchase keeps the last loyalty defaults it was given (parsed once): different defaults
// on the next purchase, and the first ones again after them, must each still be the ones applied.
describe(`the till applies the loyalty defaults of each purchase (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await testDatabase();
  });
  afterAll(() => handle.close());

  it('a lot lasts the validity the purchase was recorded under', async () => {
    const { db } = handle;
    const branchId = (await db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
    const join = async (n: number) =>
      (await joinClub(db, { platform: 'telegram', userId: 9_100_000 + n, chatId: 9_100_000 + n }, { phone: `+98914${String(n).padStart(7, '0')}`, firstName: 'M' }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: t0 })).member.id;
    const cashierId = await join(1);
    const memberId = await join(2);
    const expiries: number[] = [];
    for (const days of [30, 90, 30, undefined]) {
      const defaults = days === undefined ? undefined : { validity: { mode: 'days' as const, days } };
      const { purchase } = await recordPurchase(db, { memberId, branchId, cashierMemberId: cashierId, amountRials: 1_000_000, operationId: randomUUID() }, { now: t0, timeZone: 'Asia/Tehran', ...(defaults ? { defaults } : {}) });
      const entry = await db.selectFrom('ledger_entries').select('id').where('idempotency_key', '=', `purchase:${purchase.id}`).executeTakeFirstOrThrow();
      const lot = await db.selectFrom('ledger_lots').select('expires_at').where('entry_id', '=', entry.id).executeTakeFirstOrThrow();
      expiries.push((lot.expires_at!.getTime() - t0.getTime()) / DAY);
    }
    // No defaults at all: the schema's own (365 days).
    expect(expiries).toEqual([30, 90, 30, 365]);
  });
});
