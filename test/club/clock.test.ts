import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createBranch, addStaff } from '../../src/club/staff.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase, voidPurchase } from '../../src/club/purchases.ts';
import { adjustPoints, convertPointsToCredit } from '../../src/club/wallet.ts';
import { claimReward, createReward } from '../../src/club/rewards.ts';
import { decideRedemption, requestRedemption } from '../../src/club/redemptions.ts';
import { addTicketMessage, openTicket } from '../../src/club/tickets.ts';
import { createSurvey, publishSurvey, submitSurvey, surveyWithQuestions } from '../../src/club/surveys.ts';
import { saveSegment } from '../../src/club/segments.ts';
import { createCampaign, startCampaign } from '../../src/club/campaigns.ts';
import { createPool } from '../../src/club/vouchers.ts';
import { addOccasion } from '../../src/club/automations.ts';
import { createJoinLink } from '../../src/club/join-links.ts';
import { recordReferral, refuseReferral } from '../../src/club/referrals.ts';
import { setEarningRule } from '../../src/club/rules.ts';
import { tierProgress, updateTier } from '../../src/club/tiers.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const DAY = 86_400_000;
const TZ = 'Asia/Tehran';

/**
 * The club's clock is the only clock: with it a year ahead of the machine's and a year behind, every
 * row the domain writes carries the club's time, and windows measured from it (tiers) agree. The
 * database server's own clock (today) must appear nowhere. The offsets are relative to the real
 * date on purpose: whatever day the suite runs, the two clocks disagree by a year.
 */
describe.each([
  ['a year ahead', 366],
  ['a year behind', -366],
])(`the club clock %s of the database's (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, (_label, offsetDays) => {
  let handle: DatabaseHandle;
  // Rounded to the second: PostgreSQL keeps microseconds, JavaScript milliseconds.
  const now = new Date(Math.floor((Date.now() + offsetDays * DAY) / 1000) * 1000);
  const env = { now, timeZone: TZ };
  let seq = 0;
  const join = (ownerPhones: string[] = []) => {
    seq += 1;
    return joinClub(
      handle.db,
      { platform: 'telegram', userId: 8_800_000 + seq, chatId: 8_800_000 + seq },
      { phone: `+98915${String(seq).padStart(7, '0')}`, firstName: `C${seq}` },
      { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones, now },
    );
  };

  /** For each stamped column: how many rows, and how many of them are not at the club's `now`. */
  async function stampCensus(): Promise<Record<string, { rows: number; other: number }>> {
    const columns = await sql<{ table_name: string; column_name: string }>`
      select table_name, column_name from information_schema.columns
      where table_schema = current_schema() and data_type = 'timestamp with time zone'
        and column_name in ('created_at', 'updated_at', 'joined_at', 'last_active_at', 'completed_at')
        and table_name <> 'conversation_state'`.execute(handle.db);
    const census: Record<string, { rows: number; other: number }> = {};
    for (const { table_name, column_name } of columns.rows) {
      const { rows } = await sql<{ rows: number; other: number }>`
        select count(*)::int as rows, count(*) filter (where ${sql.ref(column_name)} <> ${now})::int as other
        from ${sql.table(table_name)}`.execute(handle.db);
      census[`${table_name}.${column_name}`] = rows[0]!;
    }
    return census;
  }

  beforeAll(async () => {
    handle = await testDatabase();
  });
  afterAll(() => handle.close());

  it('stamps every row the domain writes with the club clock, and measures windows from it', async () => {
    const before = await stampCensus();
    const owner = (await join([`+98915${String(seq + 1).padStart(7, '0')}`])).member;
    const branch = await createBranch(handle.db, owner.id, 'Clock branch', now);
    const cashier = (await join()).member;
    await addStaff(handle.db, { memberId: owner.id, role: 'owner' }, cashier.phone, 'cashier', branch.id, now);
    await setEarningRule(handle.db, owner.id, null, { rials_per_point: 10_000 }, now);
    await updateTier(handle.db, owner.id, 'silver', 'perks_en', 'Free coffee', now);

    const member = (await join()).member;
    const bought = await recordPurchase(handle.db, { memberId: member.id, branchId: branch.id, cashierMemberId: cashier.id, amountRials: 5_000_000, operationId: 'clock-1' }, env);
    expect(bought.points).toBeGreaterThan(0);
    const second = await recordPurchase(handle.db, { memberId: member.id, branchId: branch.id, cashierMemberId: cashier.id, amountRials: 1_000_000, operationId: 'clock-2' }, env);
    await voidPurchase(handle.db, second.purchase.id, owner.id, 'typo', env);
    await adjustPoints(handle.db, member.id, 20, 'goodwill', owner.id, 'clock-adjust', env);
    await convertPointsToCredit(handle.db, member.id, 10, 'clock-convert', env);
    const reward = await createReward(handle.db, owner.id, { titleFa: 'قهوه', titleEn: 'Coffee', pointsCost: 5, stock: null }, now);
    await claimReward(handle.db, member.id, reward.id, 'clock-claim', now);
    const redemption = await requestRedemption(handle.db, { memberId: member.id, branchId: branch.id, cashierMemberId: cashier.id, points: 5 }, now, 5);
    await decideRedemption(handle.db, redemption.id, member.id, true, now);

    const ticket = await openTicket(handle.db, { memberId: member.id, kind: 'complaint', category: 'service', text: 'Cold coffee' }, now);
    await addTicketMessage(handle.db, ticket.id, { memberId: owner.id, staff: true }, 'Sorry', now);
    const survey = await createSurvey(
      handle.db,
      owner.id,
      { titleFa: 'نظرسنجی', titleEn: 'Survey', rewardPoints: 5, audience: { kind: 'all' }, closesAt: null, questions: [{ kind: 'rating', textFa: 'چطور بود؟', textEn: 'How was it?', options: [], optional: false }] },
      now,
    );
    await publishSurvey(handle.db, survey.id, owner.id, now);
    const question = (await surveyWithQuestions(handle.db, survey.id))!.questions[0]!;
    await submitSurvey(handle.db, survey.id, member.id, { [String(question.id)]: 5 }, env);

    const segment = await saveSegment(handle.db, owner.id, 'Everyone', { groups: [] }, now);
    const { pool } = await createPool(handle.db, owner.id, { name: 'Clock pool', discount: { kind: 'percent', value: 10 }, validFrom: now, validTo: new Date(now.getTime() + 7 * DAY), perMemberLimit: 1, segmentId: null }, { generate: 3 }, now);
    const campaign = await createCampaign(handle.db, owner.id, { segmentId: segment.id, text: 'Hello {name}', photoFileId: null, button: null, voucherPoolId: pool.id }, now);
    await startCampaign(handle.db, campaign.id, now);
    await addOccasion(handle.db, owner.id, { name: 'Opening day', jalaliMonth: 7, jalaliDay: 15, message: 'Happy opening day', giftPoints: 0 }, now);
    await createJoinLink(handle.db, owner.id, 'clock-poster', 'Poster', branch.id, now);

    const friendAccount = { platform: 'telegram' as const, userId: 8_899_999 };
    const friend = (await join()).member;
    await recordReferral(handle.db, { code: member.referral_code, ...friendAccount }, friend, env);
    await refuseReferral(handle.db, { code: member.referral_code, platform: 'bale', userId: 77 }, 'already_member', friend.id, now);

    // Every row written above carries the club's time, to the second (rows the migrations seeded,
    // such as the built-in automations, were counted before and are left out).
    const after = await stampCensus();
    for (const [column, { other, rows }] of Object.entries(after)) {
      expect(`${column}: ${Math.max(0, other - (before[column]?.other ?? 0))} rows off the club clock`).toBe(`${column}: 0 rows off the club clock`);
      expect(rows).toBeGreaterThanOrEqual(before[column]?.rows ?? 0);
    }
    const seen = Object.entries(after).filter(([c, { rows }]) => rows > (before[c]?.rows ?? 0)).map(([c]) => c.split('.')[0]);
    // The check above looked at real rows of the tables that matter most.
    expect(seen).toEqual(expect.arrayContaining(['members', 'member_accounts', 'ledger_entries', 'purchases', 'audit_log', 'staff', 'branches', 'redemptions', 'reward_claims', 'tickets', 'ticket_messages', 'surveys', 'survey_responses', 'segments', 'campaigns', 'voucher_pools', 'automations', 'join_links', 'referrals']));

    // Tier windows are measured from the same clock: the purchase counts now, and not a window later.
    const fresh = (await handle.db.selectFrom('members').selectAll().where('id', '=', member.id).executeTakeFirstOrThrow());
    expect((await tierProgress(handle.db, fresh, now, 365)).earned).toBeGreaterThanOrEqual(50 + bought.points);
    expect((await tierProgress(handle.db, fresh, new Date(now.getTime() + 366 * DAY), 365)).earned).toBe(0);
    expect(await ledgerViolations(handle.db)).toEqual([]);
  });
});
