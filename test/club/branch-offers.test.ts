import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClubError } from '../../src/club/errors.ts';
import { createLottery, ticketList, type LotteryInput } from '../../src/club/lotteries.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import { claimReward, confirmRewardCode, createReward } from '../../src/club/rewards.ts';
import { createBranch } from '../../src/club/staff.ts';
import { checkVoucher, createPool, redeemVoucher } from '../../src/club/vouchers.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

/** The refusal's key and parameters, or 'ok'. */
async function refusal(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ClubError) return { key: error.i18nKey, ...error.params };
    throw error;
  }
  return 'ok';
}

describe(`offers limited to one branch (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let owner: number;
  let member: number;
  let first: number;
  let second: number;
  const t0 = new Date('2026-12-01T08:00:00Z');
  const day = (n: number) => new Date(t0.getTime() + n * 86_400_000);
  const env = (now: Date) => ({ now, timeZone: 'Asia/Tehran' });

  beforeAll(async () => {
    handle = await testDatabase();
    const join = async (n: number, name: string) =>
      (
        await joinClub(
          handle.db,
          { platform: 'telegram', userId: 6_800_000 + n, chatId: 6_800_000 + n },
          { phone: `+98912680000${n}`, firstName: name },
          { signupBonusPoints: 1000, pointsValidityDays: 365, ownerPhones: ['+989126800001'], now: day(-5) },
        )
      ).member.id;
    owner = await join(1, 'Owner');
    member = await join(2, 'Ava');
    first = (await handle.db.selectFrom('branches').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
    second = (await createBranch(handle.db, owner, 'Tajrish', day(-5))).id;
  });
  afterAll(() => handle.close());

  it('a reward for branch 2 is refused at branch 1 with the branch named, and handed over at branch 2', async () => {
    const reward = await createReward(handle.db, owner, { titleFa: 'قهوه', titleEn: 'Coffee', pointsCost: 100, stock: null, branchId: second }, t0);
    expect(reward.branch_id).toBe(second);
    const { claim } = await claimReward(handle.db, member, reward.id, 'claim-1', t0);
    expect(await refusal(() => confirmRewardCode(handle.db, claim.code, owner, first, t0))).toEqual({ key: 'branch_offers.reward_refused', branch: 'Tajrish' });
    const still = await handle.db.selectFrom('reward_claims').select('status').where('id', '=', claim.id).executeTakeFirstOrThrow();
    expect(still.status).not.toBe('confirmed');
    const confirmed = await confirmRewardCode(handle.db, claim.code, owner, second, t0);
    expect(confirmed.claim).toMatchObject({ status: 'confirmed', branch_id: second });

    // A reward for every branch is handed over anywhere.
    const anywhere = await createReward(handle.db, owner, { titleFa: 'چای', titleEn: 'Tea', pointsCost: 100, stock: null }, t0);
    const tea = await claimReward(handle.db, member, anywhere.id, 'claim-2', t0);
    expect(await refusal(() => confirmRewardCode(handle.db, tea.claim.code, owner, first, t0))).toBe('ok');
  });

  it('a voucher pool for branch 2 is refused at branch 1 (check, redeem, and a purchase), and redeemed at branch 2', async () => {
    const input = { name: 'North', discount: { kind: 'percent' as const, value: 10 }, validFrom: day(-1), validTo: day(30), perMemberLimit: 5, segmentId: null, branchId: second };
    const { pool } = await createPool(handle.db, owner, input, { upload: ['NORTH001', 'NORTH002'] }, t0);
    expect(pool.branch_id).toBe(second);
    const refused = { key: 'branch_offers.voucher_refused', branch: 'Tajrish' };
    expect(await refusal(() => checkVoucher(handle.db, 'NORTH001', member, t0, first))).toEqual(refused);
    expect(await refusal(() => redeemVoucher(handle.db, { code: 'NORTH001', memberId: member, staffMemberId: owner, branchId: first, now: t0 }))).toEqual(refused);
    const code = await handle.db.selectFrom('voucher_codes').select('id').where('code', '=', 'NORTH002').executeTakeFirstOrThrow();
    const purchase = { memberId: member, branchId: first, cashierMemberId: owner, amountRials: 100_000, voucherCodeId: code.id, operationId: 'north-purchase' };
    expect(await refusal(() => recordPurchase(handle.db, purchase, env(t0)))).toEqual(refused);
    expect(await handle.db.selectFrom('purchases').select('id').where('member_id', '=', member).execute()).toEqual([]);

    expect(await refusal(() => checkVoucher(handle.db, 'NORTH001', member, t0, second))).toBe('ok');
    const redeemed = await redeemVoucher(handle.db, { code: 'NORTH001', memberId: member, staffMemberId: owner, branchId: second, now: t0 });
    expect(redeemed.code).toMatchObject({ redeemed_branch_id: second });
    expect(await refusal(() => recordPurchase(handle.db, { ...purchase, branchId: second }, env(t0)))).toBe('ok');
  });

  it('a lottery for branch 2 counts only purchases (and their points) at branch 2', async () => {
    const base: LotteryInput = {
      title: 'Tajrish night',
      prizes: [{ title: 'Cake', count: 1 }],
      startsAt: day(1),
      endsAt: day(10),
      minTierId: null,
      optedInOnly: false,
      segmentId: null,
      ticketMode: 'purchase',
      pointsPerTicket: 1,
      uniqueWinners: true,
      excludeLast: 0,
    };
    const perPurchase = (await createLottery(handle.db, owner, { ...base, branchId: second }, t0)).lottery;
    const everywhere = (await createLottery(handle.db, owner, base, t0)).lottery;
    const byPoints = (await createLottery(handle.db, owner, { ...base, ticketMode: 'points', branchId: second }, t0)).lottery;
    const buy = (branchId: number, n: number) =>
      recordPurchase(handle.db, { memberId: member, branchId, cashierMemberId: owner, amountRials: 1_000_000, operationId: `lottery-${n}` }, env(day(2)));
    await buy(first, 1);
    await buy(first, 2);
    expect(await ticketList(handle.db, perPurchase, day(3))).toEqual([]);
    expect(await ticketList(handle.db, byPoints, day(3))).toEqual([]);
    await buy(second, 3);
    expect(await ticketList(handle.db, perPurchase, day(3))).toEqual([{ member, tickets: 1 }]);
    expect(await ticketList(handle.db, everywhere, day(3))).toEqual([{ member, tickets: 3 }]);
    const earned = await handle.db.selectFrom('ledger_entries').select('amount').where('member_id', '=', member).where('kind', '=', 'earn').where('branch_id', '=', second).where('created_at', '>=', day(1)).execute();
    expect(earned.length).toBe(1);
    expect(await ticketList(handle.db, byPoints, day(3))).toEqual([{ member, tickets: earned[0]!.amount }]);
  });
});
