import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClubDeps } from '../../src/bot/context.ts';
import { createI18n } from '../../src/bot/i18n.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import { recordReferral, reviewReferral, saveReferralSettings, invitationStats, settlePendingReferrals } from '../../src/club/referrals.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const now = new Date('2026-11-22T08:00:00Z');
const env = { now, timeZone: 'Asia/Tehran' };
let n = 0;

describe(`referral rules (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let branchId: number;
  const join = async () => {
    const id = ++n;
    const { member } = await joinClub(handle.db, { platform: 'bale', userId: 5_000 + id, chatId: 5_000 + id }, { phone: `+98916${String(id).padStart(7, '0')}`, firstName: `F${id}` }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now });
    return member;
  };
  const points = async (id: number) => (await handle.db.selectFrom('members').select('points_balance').where('id', '=', id).executeTakeFirstOrThrow()).points_balance;

  beforeAll(async () => {
    handle = await testDatabase();
    branchId = (await handle.db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
  });
  afterAll(() => handle.close());

  it('pays the friend in points and the inviter at signup when the owner chooses so, once per friend', async () => {
    await saveReferralSettings(handle.db, { friendReward: 'points', friendPoints: 70, inviterWhen: 'signup', inviterPoints: 150 }, null, now);
    const inviter = await join();
    const friend = await join();
    const attempt = { code: inviter.referral_code, platform: 'bale' as const, userId: 5_000 + n };
    const out = await recordReferral(handle.db, attempt, friend, env);
    expect(out).toMatchObject({ friendPoints: 70, inviterPoints: 150, referral: { status: 'rewarded' } });
    await expect(recordReferral(handle.db, attempt, friend, env)).rejects.toThrow(); // one referral per friend
    expect(await points(inviter.id)).toBe(150);
    expect(await points(friend.id)).toBe(70);
    expect(await invitationStats(handle.db, inviter.id)).toEqual({ joined: 1, purchased: 0, pointsEarned: 150, pending: 0 });
    await saveReferralSettings(handle.db, { friendReward: 'voucher', inviterWhen: 'first_purchase', inviterPoints: 200 }, null, now);
  });

  it('holds referrals over the monthly cap, and the nightly job settles a purchase a crash left unsettled', async () => {
    await saveReferralSettings(handle.db, { dailyCap: 10, monthlyCap: 2 }, null, now);
    const inviter = await join();
    const statuses: string[] = [];
    const friends = [];
    for (let i = 0; i < 3; i++) {
      const friend = await join();
      friends.push(friend);
      const out = await recordReferral(handle.db, { code: inviter.referral_code, platform: 'bale', userId: 5_000 + n }, friend, env);
      statuses.push(out!.referral.status);
    }
    expect(statuses).toEqual(['pending', 'pending', 'pending_review']);

    // The first friend buys; the till's settle step never ran (a crash): the nightly job pays once.
    await recordPurchase(handle.db, { memberId: friends[0]!.id, branchId, cashierMemberId: inviter.id, amountRials: 700_000, operationId: randomUUID() }, env);
    const config = loadConfig({ BOT_TOKEN: '1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaa', LOG_LEVEL: 'silent' });
    const logger = pino({ level: 'silent' });
    const i18n = await createI18n();
    const deps: ClubDeps = { db: handle.db, config, logger, i18n, cardSecret: 's', now: () => now, surveyDispatcher: undefined as never, broadcaster: undefined as never, notices: undefined as never };
    expect(await settlePendingReferrals(deps.db, { now, timeZone: deps.config.timeZone })).toBe(1);
    expect(await settlePendingReferrals(deps.db, { now, timeZone: deps.config.timeZone })).toBe(0);
    expect(await points(inviter.id)).toBe(200);

    // The held one: its friend already bought enough, so approving pays at once.
    const held = await handle.db.selectFrom('referrals').select('id').where('referee_id', '=', friends[2]!.id).executeTakeFirstOrThrow();
    await recordPurchase(handle.db, { memberId: friends[2]!.id, branchId, cashierMemberId: inviter.id, amountRials: 900_000, operationId: randomUUID() }, env);
    const approved = await reviewReferral(handle.db, held.id, true, inviter.id, env);
    expect(approved).toMatchObject({ changed: true, inviterPoints: 200, referral: { status: 'rewarded' } });
    expect(await points(inviter.id)).toBe(400);
    expect(await ledgerViolations(handle.db)).toEqual([]);
  });
});
