import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InsufficientBalance } from '../../src/club/errors.ts';
import { applyEventRule } from '../../src/club/events.ts';
import { credit, debit, expireLots, ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import { decideCreditRequest, requestCreditSpend } from '../../src/club/credit-requests.ts';
import { previewPurchase, quotePurchase, recordPurchase, voidPurchase } from '../../src/club/purchases.ts';
import type { LoyaltyEnv } from '../../src/club/rules.ts';
import { createPool } from '../../src/club/vouchers.ts';
import { decideRedemption, requestRedemption } from '../../src/club/redemptions.ts';
import { clubStats } from '../../src/club/reports.ts';
import { lotExpiry, purchasePoints, saveLoyaltySettings } from '../../src/club/rules.ts';
import { earnedInWindow } from '../../src/club/tiers.ts';
import { adjustPoints, convertPointsToCredit } from '../../src/club/wallet.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const DAY = 86_400_000;
const t0 = new Date('2026-11-22T08:00:00Z');
const env = (now = t0): LoyaltyEnv => ({ now, timeZone: 'Asia/Tehran' });
let nextPhone = 0;

describe(`the loyalty engine (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let db: DatabaseHandle['db'];
  let branchId: number;
  let cashierId: number;

  async function newMember(bonus = 0) {
    const phone = `+98913${String(++nextPhone).padStart(7, '0')}`;
    const { member } = await joinClub(db, { platform: 'telegram', userId: 8_000_000 + nextPhone, chatId: 8_000_000 + nextPhone }, { phone, firstName: 'M' }, { signupBonusPoints: bonus, pointsValidityDays: 365, ownerPhones: [], now: t0 });
    return member.id;
  }
  const balance = async (id: number) => db.selectFrom('members').select(['points_balance', 'credit_balance', 'tier_id']).where('id', '=', id).executeTakeFirstOrThrow();
  const lotOf = async (key: string) => {
    const entry = await db.selectFrom('ledger_entries').select('id').where('idempotency_key', '=', key).executeTakeFirstOrThrow();
    return db.selectFrom('ledger_lots').selectAll().where('entry_id', '=', entry.id).executeTakeFirstOrThrow();
  };
  const purchase = (memberId: number, amountRials: number, extra: Partial<Parameters<typeof recordPurchase>[1]> = {}, now = t0) =>
    recordPurchase(db, { memberId, branchId, cashierMemberId: cashierId, amountRials, operationId: randomUUID(), ...extra }, env(now));

  beforeAll(async () => {
    handle = await testDatabase();
    db = handle.db;
    branchId = (await db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
    cashierId = await newMember();
  });
  afterAll(() => handle.close());

  it('spends lots first-to-expire-first and expires what is left, once', async () => {
    const id = await newMember();
    await db.transaction().execute(async (trx) => {
      await credit(trx, { memberId: id, currency: 'points', amount: 100, kind: 'earn', reason: 't', idempotencyKey: `a:${id}`, expiresAt: new Date(t0.getTime() + 10 * DAY), at: t0 });
      await credit(trx, { memberId: id, currency: 'points', amount: 50, kind: 'earn', reason: 't', idempotencyKey: `b:${id}`, expiresAt: new Date(t0.getTime() + 5 * DAY), at: t0 });
      await debit(trx, { memberId: id, currency: 'points', amount: 120, kind: 'spend', reason: 't', idempotencyKey: `spend:${id}`, at: t0 });
    });
    expect((await lotOf(`b:${id}`)).remaining).toBe(0);
    expect((await lotOf(`a:${id}`)).remaining).toBe(30);
    expect((await balance(id)).points_balance).toBe(30);

    const first = await expireLots(db, new Date(t0.getTime() + 11 * DAY));
    expect(first.points).toBeGreaterThanOrEqual(30);
    expect((await balance(id)).points_balance).toBe(0);
    const again = await expireLots(db, new Date(t0.getTime() + 11 * DAY));
    expect(again).toEqual({ lots: 0, points: 0 });
    const expiries = await db.selectFrom('ledger_entries').select('amount').where('member_id', '=', id).where('kind', '=', 'expire').execute();
    expect(expiries).toEqual([{ amount: -30 }]);
    expect(await ledgerViolations(db, id)).toEqual([]);
  });

  it('pays a retried credit or debit once and refuses to overdraw', async () => {
    const id = await newMember();
    const once = () => db.transaction().execute((trx) => credit(trx, { memberId: id, currency: 'points', amount: 40, kind: 'earn', reason: 't', idempotencyKey: `retry:${id}`, expiresAt: null, at: t0 }));
    expect((await once()).duplicate).toBe(false);
    expect((await once()).duplicate).toBe(true);
    const spend = () => db.transaction().execute((trx) => debit(trx, { memberId: id, currency: 'points', amount: 30, kind: 'spend', reason: 't', idempotencyKey: `retry-spend:${id}`, at: t0 }));
    await spend();
    expect((await spend()).duplicate).toBe(true);
    expect((await balance(id)).points_balance).toBe(10);
    await expect(db.transaction().execute((trx) => debit(trx, { memberId: id, currency: 'points', amount: 11, kind: 'spend', reason: 't', idempotencyKey: `over:${id}`, at: t0 }))).rejects.toBeInstanceOf(InsufficientBalance);
    // A negative rule takes what there is and never more.
    const taken = await db.transaction().execute((trx) => debit(trx, { memberId: id, currency: 'points', amount: 25, kind: 'penalty', reason: 'offers_opt_out', idempotencyKey: `neg:${id}`, upTo: true, at: t0 }));
    expect(taken.amount).toBe(10);
    expect((await balance(id)).points_balance).toBe(0);
    expect(await ledgerViolations(db, id)).toEqual([]);
  });

  it('earns 1 point per 10,000 Rials, once per receipt, with visit points capped per day', async () => {
    const id = await newMember();
    await db.updateTable('earning_rules').set({ visit_points: 5, visit_daily_cap: 1 }).where('branch_id', 'is', null).execute();
    try {
      const first = await purchase(id, 1_250_000, { receiptNo: 'R-100' });
      expect(first.points).toBe(125 + 5);
      const retry = await purchase(id, 1_250_000, { receiptNo: ' r-100 ' });
      expect(retry.duplicate).toBe(true);
      expect(retry.purchase.id).toBe(first.purchase.id);
      const second = await purchase(id, 99_999);
      expect(second.points).toBe(9); // no second visit bonus today
      expect((await balance(id)).points_balance).toBe(139);
      const tomorrow = await purchase(id, 10_000, {}, new Date(t0.getTime() + DAY));
      expect(tomorrow.points).toBe(1 + 5);
    } finally {
      await db.updateTable('earning_rules').set({ visit_points: 0, visit_daily_cap: 1 }).where('branch_id', 'is', null).execute();
    }
    expect(await ledgerViolations(db, id)).toEqual([]);
  });

  it('applies a branch rule over the club rule, the minimum purchase and the tier multiplier', async () => {
    const rule = { rials_per_point: 10_000, min_purchase: 500_000, visit_points: 0, visit_daily_cap: 1 };
    expect(purchasePoints(rule, 400_000, { earn_multiplier: '2' }, 0)).toMatchObject({ total: 0, belowMinimum: true });
    expect(purchasePoints(rule, 1_000_000, { earn_multiplier: '1.25' }, 0).total).toBe(125);
    expect(purchasePoints({ ...rule, min_purchase: 0 }, 30_000, { earn_multiplier: '1.25' }, 0).total).toBe(3); // 3.75 rounds down

    const branch = await db.insertInto('branches').values({ name: `Rule branch ${nextPhone}`, created_at: t0 }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('earning_rules').values({ branch_id: branch.id, rials_per_point: 5_000, updated_at: t0 }).execute();
    const id = await newMember();
    const there = await recordPurchase(db, { memberId: id, branchId: branch.id, cashierMemberId: cashierId, amountRials: 100_000, operationId: randomUUID() }, env());
    expect(there.points).toBe(20);
    expect((await purchase(id, 100_000)).points).toBe(10);
  });

  it('promotes at once on points earned in the window, and counts a void against it', async () => {
    const id = await newMember();
    const big = await purchase(id, 10_000_000); // 1000 points: Silver
    expect(big.promotedTo?.code).toBe('silver');
    // Silver takes 3% off (970,000 paid), and earns 97 x 1.25 on what was paid.
    const silver = await purchase(id, 1_000_000);
    expect(silver.points).toBe(121);
    expect(silver.purchase.tier_discount_rials).toBe(30_000);
    expect(await earnedInWindow(db, id, t0, 365)).toBe(1121);
    await voidPurchase(db, silver.purchase.id, cashierId, 'test', env());
    expect(await earnedInWindow(db, id, t0, 365)).toBe(1000);
  });

  it('promotes on a purchase that lifts points earned elsewhere over the threshold (the till reads the window only near it)', async () => {
    const id = await newMember(990); // a signup bonus: earned outside the till
    const earned = async () => (await db.selectFrom('members').select('earned_points').where('id', '=', id).executeTakeFirstOrThrow()).earned_points;
    expect(await earned()).toBe(990);
    const small = await purchase(id, 100_000); // 10 points: 1000 in the window
    expect(small.promotedTo?.code).toBe('silver');
    expect((await balance(id)).tier_id).toBe(small.promotedTo?.id);
    expect(await earned()).toBe(1000);
  });

  it('voids after partial spending: takes back what is left, records what was spent, refunds credit', async () => {
    const id = await newMember(50); // signup lot: 50, expires in a year
    await db.transaction().execute((trx) => credit(trx, { memberId: id, currency: 'credit', amount: 200_000, kind: 'convert', reason: 't', idempotencyKey: `cr:${id}`, expiresAt: null, at: t0 }));
    const sale = await purchase(id, 1_450_000, { creditToUse: 200_000 }); // 125 points on the 1,250,000 paid in money
    expect(sale.points).toBe(125);
    expect(sale.creditBalance).toBe(0);
    // The member spends 150: the purchase lot expires first? Both expire in a year; the signup lot is older.
    await db.transaction().execute((trx) => debit(trx, { memberId: id, currency: 'points', amount: 150, kind: 'spend', reason: 't', idempotencyKey: `sp:${id}`, at: t0 }));
    expect((await balance(id)).points_balance).toBe(25);

    const voided = await voidPurchase(db, sale.purchase.id, cashierId, 'wrong member', env());
    expect(voided).toMatchObject({ pointsTaken: 25, unrecovered: 100, creditRefunded: 200_000, duplicate: false });
    expect(voided.purchase).toMatchObject({ status: 'voided', unrecovered_points: 100, void_reason: 'wrong member' });
    expect(await balance(id)).toMatchObject({ points_balance: 0, credit_balance: 200_000 });
    expect((await voidPurchase(db, sale.purchase.id, cashierId, 'again', env())).duplicate).toBe(true);
    expect(await balance(id)).toMatchObject({ points_balance: 0, credit_balance: 200_000 });
    await expect(voidPurchase(db, sale.purchase.id, cashierId, '  ', env())).rejects.toMatchObject({ i18nKey: 'errors.reason_required' });
    expect(await ledgerViolations(db, id)).toEqual([]);
  });

  it('converts points to credit at the configured rate, once per operation', async () => {
    const id = await newMember(50);
    const op = randomUUID();
    const out = await convertPointsToCredit(db, id, 20, op, env());
    expect(out).toMatchObject({ points: 20, rials: 20_000, pointsBalance: 30, creditBalance: 20_000, duplicate: false });
    expect((await convertPointsToCredit(db, id, 20, op, env())).duplicate).toBe(true);
    expect(await balance(id)).toMatchObject({ points_balance: 30, credit_balance: 20_000 });
    await expect(convertPointsToCredit(db, id, 31, randomUUID(), env())).rejects.toBeInstanceOf(InsufficientBalance);
    await saveLoyaltySettings(db, { rialsPerPointCredit: 1500 }, null, t0);
    try {
      expect((await convertPointsToCredit(db, id, 10, randomUUID(), env())).rials).toBe(15_000);
    } finally {
      await saveLoyaltySettings(db, { rialsPerPointCredit: 1000 }, null, t0);
    }
  });

  it('spends points at the till only after the member approves, once, within the time limit', async () => {
    const id = await newMember(50);
    const r = await requestRedemption(db, { memberId: id, branchId, cashierMemberId: cashierId, points: 30 }, t0, 5);
    expect((await balance(id)).points_balance).toBe(50);
    const approved = await decideRedemption(db, r.id, id, true, new Date(t0.getTime() + 60_000));
    expect(approved).toMatchObject({ changed: true, pointsBalance: 20, redemption: { status: 'approved' } });
    const twice = await decideRedemption(db, r.id, id, true, new Date(t0.getTime() + 61_000));
    expect(twice).toMatchObject({ changed: false, pointsBalance: 20 });

    const late = await requestRedemption(db, { memberId: id, branchId, cashierMemberId: cashierId, points: 10 }, t0, 5);
    expect(await decideRedemption(db, late.id, id, true, new Date(t0.getTime() + 6 * 60_000))).toMatchObject({ changed: false, redemption: { status: 'expired' } });
    const declined = await requestRedemption(db, { memberId: id, branchId, cashierMemberId: cashierId, points: 10 }, t0, 5);
    expect(await decideRedemption(db, declined.id, id, false, t0)).toMatchObject({ changed: true, redemption: { status: 'declined' } });
    expect((await balance(id)).points_balance).toBe(20);
    await expect(requestRedemption(db, { memberId: id, branchId, cashierMemberId: cashierId, points: 21 }, t0, 5)).rejects.toBeInstanceOf(InsufficientBalance);
    // Somebody else cannot answer for the member.
    const other = await newMember();
    const mine = await requestRedemption(db, { memberId: id, branchId, cashierMemberId: cashierId, points: 5 }, t0, 5);
    await expect(decideRedemption(db, mine.id, other, true, t0)).rejects.toMatchObject({ i18nKey: 'errors.redemption_not_found' });
  });

  it('adjusts by hand only with a reason', async () => {
    const id = await newMember();
    await expect(adjustPoints(db, id, 10, ' ', cashierId, randomUUID(), env())).rejects.toMatchObject({ i18nKey: 'errors.reason_required' });
    expect((await adjustPoints(db, id, 10, 'goodwill', cashierId, randomUUID(), env())).points_balance).toBe(10);
    await expect(adjustPoints(db, id, -11, 'fix', cashierId, randomUUID(), env())).rejects.toBeInstanceOf(InsufficientBalance);
    expect((await adjustPoints(db, id, -4, 'fix', cashierId, randomUUID(), env())).points_balance).toBe(6);
  });

  it('expires lots at the end of the Jalali month or year in club time', () => {
    // 2026-11-22 is 1 Azar 1405; Azar ends with 30 Azar = 2026-12-21, so the lot lasts until Dey 1 00:00 Tehran.
    expect(lotExpiry(t0, { mode: 'jalali_month_end', days: 1 }, 'Asia/Tehran').toISOString()).toBe('2026-12-21T20:30:00.000Z');
    expect(lotExpiry(t0, { mode: 'jalali_year_end', days: 1 }, 'Asia/Tehran').toISOString()).toBe('2027-03-20T20:30:00.000Z');
    expect(lotExpiry(t0, { mode: 'days', days: 30 }, 'Asia/Tehran').toISOString()).toBe('2026-12-22T08:00:00.000Z');
  });

  it('64 concurrent purchases and redemptions on one member never overspend or double-pay', async () => {
    const id = await newMember(100);
    const tasks = Array.from({ length: 64 }, (_, i) =>
      i % 2 === 0
        ? purchase(id, 100_000, { receiptNo: `C-${(i / 2) % 8}` }) // 8 distinct receipts, each sent 4 times
        : (async () => {
            const r = await requestRedemption(db, { memberId: id, branchId, cashierMemberId: cashierId, points: 10 }, t0, 5).catch(() => null);
            return r ? decideRedemption(db, r.id, id, true, t0).catch((e: unknown) => e) : null;
          })(),
    );
    await Promise.all(tasks);
    const purchases = await db.selectFrom('purchases').select('id').where('member_id', '=', id).execute();
    expect(purchases).toHaveLength(8);
    const approved = await db.selectFrom('redemptions').select('id').where('member_id', '=', id).where('status', '=', 'approved').execute();
    expect((await balance(id)).points_balance).toBe(100 + 8 * 10 - approved.length * 10);
    expect((await balance(id)).points_balance).toBeGreaterThanOrEqual(0);
    expect(await ledgerViolations(db, id)).toEqual([]);
  });

  it('records exactly the points the preview promised, across rules, tiers, visits and credit', async () => {
    const silver = (await db.selectFrom('tiers').select('id').where('code', '=', 'silver').executeTakeFirstOrThrow()).id;
    const cases = [
      { rule: { rials_per_point: 10_000, min_purchase: 0, visit_points: 0, visit_daily_cap: 1 }, amounts: [9_999, 10_000, 1_234_567] },
      { rule: { rials_per_point: 7_000, min_purchase: 50_000, visit_points: 3, visit_daily_cap: 2 }, amounts: [49_999, 50_000, 777_777, 100_000] },
    ];
    for (const c of cases) {
      await db.updateTable('earning_rules').set(c.rule).where('branch_id', 'is', null).execute();
      for (const tier of [null, silver]) {
        const id = await newMember();
        if (tier) await db.updateTable('members').set({ tier_id: tier }).where('id', '=', id).execute();
        await db.transaction().execute((trx) => credit(trx, { memberId: id, currency: 'credit', amount: 30_000, kind: 'convert', reason: 't', idempotencyKey: `pv:${id}`, expiresAt: null, at: t0 }));
        for (const [i, amount] of c.amounts.entries()) {
          const creditToUse = i === 2 ? 30_000 : 0;
          const input = { memberId: id, branchId, cashierMemberId: cashierId, amountRials: amount, creditToUse };
          const preview = await previewPurchase(db, input, env());
          const recorded = await recordPurchase(db, { ...input, operationId: randomUUID() }, env());
          expect(recorded.points, JSON.stringify({ ...c.rule, amount, tier, i })).toBe(preview.total);
        }
      }
    }
    await db.updateTable('earning_rules').set({ rials_per_point: 10_000, min_purchase: 0, visit_points: 0, visit_daily_cap: 1 }).where('branch_id', 'is', null).execute();
  });

  it('takes off the tier discount and one voucher exactly as quoted, uses the code up once, and earns on what was paid', async () => {
    const gold = (await db.selectFrom('tiers').select('id').where('code', '=', 'gold').executeTakeFirstOrThrow()).id; // 5% off, 1.5x
    const id = await newMember();
    await db.updateTable('members').set({ tier_id: gold }).where('id', '=', id).execute();
    await db.transaction().execute((trx) => credit(trx, { memberId: id, currency: 'credit', amount: 100_000, kind: 'convert', reason: 't', idempotencyKey: `disc:${id}`, expiresAt: null, at: t0 }));
    const window = { validFrom: new Date(t0.getTime() - DAY), validTo: new Date(t0.getTime() + 30 * DAY), perMemberLimit: 1, segmentId: null };
    await createPool(db, cashierId, { name: 'Fixed', discount: { kind: 'rials', value: 50_000 }, ...window }, { upload: ['TILLFIX1'] }, t0);
    await createPool(db, cashierId, { name: 'Percent', discount: { kind: 'percent', value: 20 }, ...window }, { upload: ['TILLPCT1'] }, t0);
    const codeId = async (code: string) => (await db.selectFrom('voucher_codes').select('id').where('code', '=', code).executeTakeFirstOrThrow()).id;

    for (const [code, amount, expected] of [
      // 1,000,000 − 5% = 950,000 − 50,000 = 900,000; less 100,000 credit = 800,000 paid: 80 x 1.5 = 120 points.
      ['TILLFIX1', 1_000_000, { tierDiscount: 50_000, voucherDiscount: 50_000, net: 900_000, toPay: 800_000, points: 120 }],
      // 333,333 − 16,666 = 316,667 − 20% (63,333) = 253,334; no credit: 25 x 1.5 = 37 points.
      ['TILLPCT1', 333_333, { tierDiscount: 16_666, voucherDiscount: 63_333, net: 253_334, toPay: 253_334, points: 37 }],
    ] as const) {
      const input = { memberId: id, branchId, cashierMemberId: cashierId, amountRials: amount, voucherCodeId: await codeId(code), creditToUse: code === 'TILLFIX1' ? 100_000 : 0 };
      const quote = await quotePurchase(db, input, env());
      expect({ ...quote.totals, points: quote.points.total }).toMatchObject(expected);
      const recorded = await recordPurchase(db, { ...input, operationId: randomUUID() }, env());
      expect(recorded.points).toBe(expected.points);
      expect(recorded.purchase).toMatchObject({ tier_discount_rials: expected.tierDiscount, voucher_discount_rials: expected.voucherDiscount, voucher_code_id: input.voucherCodeId });
      // The code is used up: a second purchase with it is refused and records nothing.
      await expect(recordPurchase(db, { ...input, creditToUse: 0, operationId: randomUUID() }, env())).rejects.toMatchObject({ i18nKey: 'errors.voucher_used' });
    }
    expect(await balance(id)).toMatchObject({ points_balance: 157, credit_balance: 0 });
    expect(await ledgerViolations(db, id)).toEqual([]);
  });

  it('refuses a purchase by the member themself and amounts over the limit, naming it', async () => {
    const id = await newMember();
    await expect(recordPurchase(db, { memberId: id, branchId, cashierMemberId: id, amountRials: 10_000, operationId: randomUUID() }, env())).rejects.toMatchObject({ i18nKey: 'errors.own_purchase' });
    await expect(purchase(id, 10_000_000_001)).rejects.toMatchObject({ i18nKey: 'errors.amount_too_large', params: { max: 10_000_000_000 } });
    await expect(adjustPoints(db, id, 1_000_001, 'too much', cashierId, randomUUID(), env())).rejects.toMatchObject({ i18nKey: 'errors.adjust_too_large' });
    expect(await db.selectFrom('purchases').select('id').where('member_id', '=', id).execute()).toEqual([]);
  });

  it('refuses a branch or a cashier that does not exist, as their foreign keys did, and writes nothing', async () => {
    const id = await newMember();
    const missing = 2_000_000_000;
    // SQLSTATE 23503 (foreign_key_violation), raised by club_record_purchase itself now that the
    // keys on the shared branch and cashier rows are gone (migrations/20261130022000_till_fewer_locks.ts).
    await expect(purchase(id, 100_000, { branchId: missing })).rejects.toMatchObject({ code: '23503', message: expect.stringContaining(`branch ${missing}`) });
    await expect(purchase(id, 100_000, { cashierMemberId: missing })).rejects.toMatchObject({ code: '23503', message: expect.stringContaining(`cashier ${missing}`) });
    expect(await db.selectFrom('purchases').select('id').where('member_id', '=', id).execute()).toEqual([]);
    expect(await balance(id)).toMatchObject({ points_balance: 0, credit_balance: 0 });
    expect(await ledgerViolations(db, id)).toEqual([]);
    expect((await purchase(id, 100_000)).duplicate).toBe(false);
  });

  it('spends credit at the till only after the member approves, once, within the time limit', async () => {
    const staff = await newMember();
    await db.insertInto('staff').values({ member_id: staff, role: 'cashier', branch_id: branchId, created_at: t0 }).execute();
    const id = await newMember();
    await db.transaction().execute((trx) => credit(trx, { memberId: id, currency: 'credit', amount: 80_000, kind: 'convert', reason: 't', idempotencyKey: `crq:${id}`, expiresAt: null, at: t0 }));
    const ask = (creditToUse: number) => requestCreditSpend(db, { memberId: id, branchId, cashierMemberId: staff, amountRials: 500_000, creditToUse, toPay: 500_000 - creditToUse, operationId: randomUUID() }, t0, 5);
    await expect(ask(90_000)).rejects.toMatchObject({ i18nKey: 'errors.insufficient_credit' });

    const approved = await ask(50_000);
    expect(await balance(id)).toMatchObject({ credit_balance: 80_000 });
    const first = await decideCreditRequest(db, approved.id, id, true, env(new Date(t0.getTime() + 60_000)));
    expect(first).toMatchObject({ changed: true, request: { status: 'approved' }, creditBalance: 30_000 });
    expect(first.outcome?.purchase).toMatchObject({ amount_rials: 500_000, credit_used: 50_000, points_earned: 45 });
    const again = await decideCreditRequest(db, approved.id, id, true, env(new Date(t0.getTime() + 60_000)));
    expect(again).toMatchObject({ changed: false, outcome: null, creditBalance: 30_000 });

    const declined = await ask(10_000);
    expect(await decideCreditRequest(db, declined.id, id, false, env())).toMatchObject({ changed: true, request: { status: 'declined' } });
    expect(await decideCreditRequest(db, declined.id, id, true, env())).toMatchObject({ changed: false, request: { status: 'declined' } });
    const late = await ask(10_000);
    expect(await decideCreditRequest(db, late.id, id, true, env(new Date(t0.getTime() + 5 * 60_000)))).toMatchObject({ changed: false, request: { status: 'expired' } });
    // Another member cannot answer for them.
    await expect(decideCreditRequest(db, late.id, staff, true, env())).rejects.toMatchObject({ i18nKey: 'errors.redemption_not_found' });
    // A cashier removed before the member answers moves nothing.
    const orphan = await ask(10_000);
    await db.deleteFrom('staff').where('member_id', '=', staff).execute();
    expect(await decideCreditRequest(db, orphan.id, id, true, env())).toMatchObject({ changed: true, request: { status: 'failed', error: 'errors.not_staff' } });
    expect(await balance(id)).toMatchObject({ credit_balance: 30_000 });
    expect(await ledgerViolations(db, id)).toEqual([]);
  });

  it('applies event rules once per occasion; a negative rule never overdraws', async () => {
    const id = await newMember(30);
    expect(await applyEventRule(db, id, 'survey_answered', 'survey-1', env())).toEqual({ points: 20, duplicate: false });
    expect(await applyEventRule(db, id, 'survey_answered', 'survey-1', env())).toEqual({ points: 0, duplicate: true });
    expect((await balance(id)).points_balance).toBe(50);
    const events = { profile_completion: 100, survey_answered: 20, offers_opt_out: -80 };
    await saveLoyaltySettings(db, { events }, null, t0);
    try {
      expect(await applyEventRule(db, id, 'offers_opt_out', String(id), env())).toEqual({ points: -50, duplicate: false });
      expect(await applyEventRule(db, id, 'offers_opt_out', String(id), env())).toEqual({ points: 0, duplicate: true });
      expect((await balance(id)).points_balance).toBe(0);
    } finally {
      await saveLoyaltySettings(db, { events: { ...events, offers_opt_out: 0 } }, null, t0);
    }
    expect(await ledgerViolations(db, id)).toEqual([]);
  });

  it('reports members, points, liability, sales and tiers', async () => {
    const stats = await clubStats(db, t0, 'Asia/Tehran', 1000);
    const members = await db.selectFrom('members').select(['points_balance']).execute();
    const outstanding = members.reduce((s, m) => s + m.points_balance, 0);
    expect(stats.members).toBe(members.length);
    expect(stats.outstandingPoints).toBe(outstanding);
    expect(stats.liabilityRials).toBe(outstanding * 1000);
    expect(stats.purchases.d30).toBeGreaterThan(5);
    expect(stats.tiers.reduce((s, t) => s + t.members, 0)).toBe(members.length);
    expect(stats.pointsExpired30d).toBeGreaterThanOrEqual(0);
  });
});
