import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignConversions } from '../../src/club/analytics/campaign-conversions.ts';
import { averageScore, feedbackReport, npsOf } from '../../src/club/analytics/feedback.ts';
import { periodFor } from '../../src/club/analytics/period.ts';
import { referralFunnel } from '../../src/club/analytics/referral-funnel.ts';
import { catchUpCampaignAttribution } from '../../src/club/analytics/campaign-attribution.ts';
import { claimOutbox, createCampaign, markLostRows, markOutbox, startCampaign, unclaimOutbox } from '../../src/club/campaigns.ts';
import { applyPurchases } from '../../src/club/import/purchases.ts';
import { noteInvitationOpened } from '../../src/club/invitation-opens.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase, voidPurchase } from '../../src/club/purchases.ts';
import { recordReferral, refuseReferral, settleReferralPurchase } from '../../src/club/referrals.ts';
import { queueDueChecks, recordSatisfaction, scheduleSatisfactionCheck } from '../../src/club/satisfaction.ts';
import { createBranch } from '../../src/club/staff.ts';
import { createSurvey, publishSurvey, submitSurvey } from '../../src/club/surveys.ts';
import { addTicketMessage, closeTicket, openTicket, rateTicket } from '../../src/club/tickets.ts';
import { createPool, redeemVoucher } from '../../src/club/vouchers.ts';
import type { DatabaseHandle, Db } from '../../src/db/database.ts';
import type { Member } from '../../src/db/schema.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const TZ = 'Asia/Tehran';
// Sunday 8 Azar 1405, noon in Tehran: "this month" is 1–8 Azar (22–29 November), one bucket a day.
const now = new Date('2026-11-29T08:30:00Z');
const month = periodFor('month', now, TZ);
const at = (iso: string) => new Date(iso);
const env = (iso: string) => ({ now: at(iso), timeZone: TZ });
const DAYS = ['2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'];

/** A small club of its own per describe: members by name, joined through the real signup. */
function club() {
  const ids: Record<string, Member> = {};
  let database: DatabaseHandle;
  let next = 0;
  const join = async (key: string, joined: string) => {
    next++;
    const { member } = await joinClub(
      database.db,
      { platform: 'telegram', userId: 8800 + next, chatId: 8800 + next },
      { phone: `+98912880${String(next).padStart(4, '0')}`, firstName: key, locale: 'en' },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: at(joined) },
    );
    ids[key] = member;
    return member;
  };
  const buy = async (key: string, amountRials: number, when: string, branchId = 1) =>
    (await recordPurchase(database.db, { memberId: ids[key]!.id, branchId, cashierMemberId: ids.O!.id, amountRials, operationId: randomUUID() }, env(when))).purchase;
  return {
    ids,
    join,
    buy,
    get db() {
      return database.db;
    },
    async open() {
      database = await testDatabase();
      await join('O', '2026-10-01T08:00:00Z');
    },
    close: () => database?.close(),
  };
}

describe(`engagement reports over hand-made clubs (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  describe('invitation funnel', () => {
    const c = club();
    beforeAll(async () => {
      await c.open();
      const inviter = await c.join('I', '2026-10-01T08:00:00Z');
      const link = (userId: number) => ({ code: inviter.referral_code, platform: 'telegram' as const, userId });
      // Before the period: a friend who joined on 19 November is not in this month's funnel.
      await noteInvitationOpened(c.db, link(8801 + 2), at('2026-11-19T08:00:00Z'));
      await recordReferral(c.db, link(8801 + 2), await c.join('F0', '2026-11-19T08:10:00Z'), env('2026-11-19T08:10:00Z'));
      // F1 opens the link on 23 November (twice), joins, and buys above the minimum: the inviter is rewarded.
      expect(await noteInvitationOpened(c.db, link(8801 + 3), at('2026-11-23T08:00:00Z'))).toBe(true);
      expect(await noteInvitationOpened(c.db, link(8801 + 3), at('2026-11-23T09:00:00Z'))).toBe(false);
      await recordReferral(c.db, link(8801 + 3), await c.join('F1', '2026-11-23T08:05:00Z'), env('2026-11-23T08:05:00Z'));
      const p1 = await c.buy('F1', 1_000_000, '2026-11-24T08:00:00Z');
      expect((await settleReferralPurchase(c.db, c.ids.F1!.id, p1.id, env('2026-11-24T08:00:00Z')))?.inviterPoints).toBe(200);
      // F2 opens and joins on 25 November and buys below the minimum: bought, not rewarded.
      await noteInvitationOpened(c.db, link(8801 + 4), at('2026-11-25T07:00:00Z'));
      await recordReferral(c.db, link(8801 + 4), await c.join('F2', '2026-11-25T07:10:00Z'), env('2026-11-25T07:10:00Z'));
      const p2 = await c.buy('F2', 100_000, '2026-11-25T09:00:00Z');
      expect(await settleReferralPurchase(c.db, c.ids.F2!.id, p2.id, env('2026-11-25T09:00:00Z'))).toBeNull();
      // Somebody opens the link on 26 November and never joins; an unknown code records nothing.
      await noteInvitationOpened(c.db, link(9999), at('2026-11-26T10:00:00Z'));
      expect(await noteInvitationOpened(c.db, { code: 'NOPE', platform: 'telegram', userId: 1 }, at('2026-11-26T10:00:00Z'))).toBe(false);
      // F3 joined through the link on 27 November, with no recorded opening (before openings were kept): opened all the same.
      await recordReferral(c.db, link(8801 + 5), await c.join('F3', '2026-11-27T12:00:00Z'), env('2026-11-27T12:00:00Z'));
      // A member opens the link: refused, not part of the funnel.
      await refuseReferral(c.db, link(8801 + 1), 'already_member', c.ids.O!.id, at('2026-11-27T13:00:00Z'));
    });
    afterAll(() => c.close());

    it('opened → joined → bought → rewarded, each person once, in the days of the period', async () => {
      const f = await referralFunnel(c.db, month);
      expect(f).toMatchObject({ opened: 4, joined: 3, bought: 2, rewarded: 1, waiting: 2, rejected: 0, reversed: 0, refused: 1, inviterPoints: 200, inviters: 1 });
      expect(f.byBucket.map((b) => b.bucket)).toEqual(DAYS);
      expect(f.byBucket.map((b) => [b.opened, b.joined, b.bought, b.rewarded])).toEqual([
        [0, 0, 0, 0],
        [1, 1, 1, 1],
        [0, 0, 0, 0],
        [1, 1, 1, 0],
        [1, 0, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ]);
      // Last month holds F0 only.
      expect(await referralFunnel(c.db, periodFor('last_month', now, TZ))).toMatchObject({ opened: 1, joined: 1, bought: 0, rewarded: 0 });
    });
  });

  describe('campaign conversions', () => {
    const c = club();
    let c0 = 0;
    let c1 = 0;
    let c2 = 0;
    let branch2 = 0;
    beforeAll(async () => {
      await c.open();
      for (const k of ['A', 'B', 'C', 'D']) await c.join(k, '2026-10-05T08:00:00Z');
      branch2 = (await createBranch(c.db, c.ids.O!.id, 'North', at('2026-10-01T08:00:00Z'))).id;
      const send = async (campaignId: number, when: string, outcome: Record<string, 'sent' | 'blocked' | 'failed' | null>) => {
        const rows = await claimOutbox(c.db, campaignId, 'telegram', 100, at(when));
        for (const row of rows) {
          const key = Object.keys(c.ids).find((k) => c.ids[k]!.id === row.member_id)!;
          const status = outcome[key];
          if (status) await markOutbox(c.db, row, status, at(when));
        }
      };
      // C0 went out in Aban, before the period.
      c0 = (await createCampaign(c.db, c.ids.O!.id, { segmentId: null, text: 'Aban offer', photoFileId: null, button: null }, at('2026-11-10T08:00:00Z'))).id;
      await startCampaign(c.db, c0, at('2026-11-10T08:00:00Z'));
      await send(c0, '2026-11-10T08:01:00Z', { O: 'sent', A: 'sent', B: 'sent', C: 'sent', D: 'sent' });
      // C1 on 2 Azar with a discount code each: delivered to O, A, B, C; D has blocked the bot.
      const pool = await createPool(
        c.db,
        c.ids.O!.id,
        { name: 'Azar 10%', discount: { kind: 'percent', value: 10 }, validFrom: at('2026-11-01T00:00:00Z'), validTo: at('2026-12-30T00:00:00Z'), perMemberLimit: 1, segmentId: null },
        { generate: 1 },
        at('2026-11-23T07:00:00Z'),
      );
      c1 = (await createCampaign(c.db, c.ids.O!.id, { segmentId: null, text: '<b>Azar</b> offer: 10% off', photoFileId: null, button: null, voucherPoolId: pool.pool.id }, at('2026-11-23T08:00:00Z'))).id;
      expect(await startCampaign(c.db, c1, at('2026-11-23T08:00:00Z'))).toBe(5);
      await send(c1, '2026-11-23T08:05:00Z', { O: 'sent', A: 'sent', B: 'sent', C: 'sent', D: 'blocked' });
      // C2 on 5 Azar: A and B get it, C's failed, D blocked, O's still being sent.
      c2 = (await createCampaign(c.db, c.ids.O!.id, { segmentId: null, text: 'Weekend', photoFileId: null, button: null }, at('2026-11-26T08:00:00Z'))).id;
      await startCampaign(c.db, c2, at('2026-11-26T08:00:00Z'));
      await send(c2, '2026-11-26T08:05:00Z', { A: 'sent', B: 'sent', C: 'failed', D: 'blocked', O: null });

      const code = async (key: string) => (await c.db.selectFrom('campaign_outbox').select('voucher_code').where('campaign_id', '=', c1).where('member_id', '=', c.ids[key]!.id).executeTakeFirstOrThrow()).voucher_code!;
      await c.buy('B', 500_000, '2026-11-22T10:00:00Z'); // 12 days after C0: too late for it, before C1
      await c.buy('A', 1_000_000, '2026-11-24T10:00:00Z'); // C1 (1 day after)
      await redeemVoucher(c.db, { code: await code('A'), memberId: c.ids.A!.id, staffMemberId: c.ids.O!.id, branchId: 1, now: at('2026-11-24T10:00:00Z') });
      await c.buy('D', 400_000, '2026-11-25T10:00:00Z'); // D never got C1 or C2
      await c.buy('A', 2_000_000, '2026-11-27T10:00:00Z'); // C1 and C2 both within 7 days: the later, C2
      await c.buy('C', 700_000, '2026-11-28T10:00:00Z', branch2); // C1 (C2 failed for C)
      await redeemVoucher(c.db, { code: await code('C'), memberId: c.ids.C!.id, staffMemberId: c.ids.O!.id, branchId: branch2, now: at('2026-11-28T10:00:00Z') });
    });
    afterAll(() => c.close());

    it('per campaign: messages by outcome, codes used, buyers and revenue by last touch within 7 days', async () => {
      const list = await campaignConversions(c.db, { period: month, branchId: null }, now);
      expect(list.map((x) => x.id)).toEqual([c2, c1]);
      expect(list[0]).toMatchObject({ text: 'Weekend', automation: false, queued: 5, delivered: 2, blocked: 1, failed: 1, waiting: 1, codesGiven: 0, codesUsed: 0, buyers: 1, purchases: 1, revenue: 2_000_000 });
      expect(list[1]).toMatchObject({ text: 'Azar offer: 10% off', queued: 5, delivered: 4, blocked: 1, failed: 0, waiting: 0, codesGiven: 5, codesUsed: 2, buyers: 2, purchases: 2, revenue: 1_700_000 });
    });

    it('with a branch: its purchases and code uses only; messages stay club-wide', async () => {
      const [second, first] = await campaignConversions(c.db, { period: month, branchId: branch2 }, now);
      expect(second).toMatchObject({ delivered: 2, buyers: 0, revenue: 0 });
      expect(first).toMatchObject({ delivered: 4, codesUsed: 1, buyers: 1, purchases: 1, revenue: 700_000 });
      // A shorter window: A's purchase on 24 November came 1 day after C1, C's 5 days after.
      const [, short] = await campaignConversions(c.db, { period: month, branchId: null }, now, 2);
      expect(short).toMatchObject({ buyers: 1, purchases: 1, revenue: 1_000_000 });
      expect(await campaignConversions(c.db, { period: periodFor('last_month', now, TZ), branchId: null }, now)).toMatchObject([{ id: c0, delivered: 5, buyers: 0 }]);
    });
  });

  describe('campaign conversions from the attribution job and the message counts', () => {
    const c = club();
    let c1 = 0;
    let c2 = 0;
    let branch2 = 0;
    const rollback = new Error('rollback');
    /** The report with nothing attributed by the job: every purchase looks up its deliveries. */
    const direct = async (scope: Parameters<typeof campaignConversions>[1], when: Date) => {
      let list: Awaited<ReturnType<typeof campaignConversions>> = [];
      await c.db
        .transaction()
        .execute(async (trx) => {
          await sql`update campaign_attribution_state set covered_until = null`.execute(trx);
          list = await campaignConversions(trx, scope, when);
          throw rollback;
        })
        .catch((error: unknown) => {
          if (error !== rollback) throw error;
        });
      return list;
    };
    /** The outbox counted directly, as the report did before campaign_message_counts. */
    const counted = async (db: Db, campaignId: number) => {
      const { rows } = await sql<{ queued: number; delivered: number; blocked: number; failed: number; waiting: number; given: number }>`
        select count(*)::int8 as queued, count(*) filter (where status = 'sent')::int8 as delivered,
          count(*) filter (where status = 'blocked')::int8 as blocked, count(*) filter (where status in ('failed', 'lost'))::int8 as failed,
          count(*) filter (where status in ('pending', 'sending'))::int8 as waiting, count(voucher_code)::int8 as given
        from campaign_outbox where campaign_id = ${campaignId}`.execute(db);
      return { queued: rows[0]!.queued, delivered: rows[0]!.delivered, blocked: rows[0]!.blocked, failed: rows[0]!.failed, waiting: rows[0]!.waiting, codesGiven: rows[0]!.given };
    };
    const year = periodFor('year', now, TZ);
    const scopes = () => [
      { period: month, branchId: null },
      { period: year, branchId: null },
      { period: year, branchId: branch2 },
    ];
    const attributed = async () => (await c.db.selectFrom(sql`campaign_attributions`.as('a')).select(sql<number>`count(*)::int8`.as('n')).executeTakeFirstOrThrow()).n;

    beforeAll(async () => {
      await c.open();
      for (const k of ['A', 'B', 'C', 'D', 'E']) await c.join(k, '2026-10-05T08:00:00Z');
      branch2 = (await createBranch(c.db, c.ids.O!.id, 'North', at('2026-10-01T08:00:00Z'))).id;
      // C1 on 19 Aban (10 November) to everyone but E, who gets it a day later after a lost lease put it back in the queue.
      c1 = (await createCampaign(c.db, c.ids.O!.id, { segmentId: null, text: 'Aban offer', photoFileId: null, button: null }, at('2026-11-10T08:00:00Z'))).id;
      await startCampaign(c.db, c1, at('2026-11-10T08:00:00Z'));
      const rows = await claimOutbox(c.db, c1, 'telegram', 100, at('2026-11-10T08:01:00Z'));
      for (const row of rows) if (row.member_id !== c.ids.E!.id) await markOutbox(c.db, row, 'sent', at('2026-11-10T08:01:00Z'));
      expect(await markLostRows(c.db, 'telegram', c1)).toBe(1);
      await unclaimOutbox(c.db, rows.filter((r) => r.member_id === c.ids.E!.id));
      for (const row of await claimOutbox(c.db, c1, 'telegram', 100, at('2026-11-11T08:00:00Z'))) await markOutbox(c.db, row, 'sent', at('2026-11-11T08:00:00Z'));
      await c.buy('A', 1_000_000, '2026-11-12T10:00:00Z'); // C1
      await c.buy('B', 300_000, '2026-11-15T10:00:00Z', branch2); // C1
      await c.buy('C', 200_000, '2026-11-20T10:00:00Z'); // 10 days after C1: none
    });
    afterAll(() => c.close());

    it('the job attributes each purchase once; the report gives what it computes directly, before and after more purchases and messages', async () => {
      // The job on 21 November: purchases up to 15 minutes before it.
      expect(await catchUpCampaignAttribution(c.db, at('2026-11-21T00:00:00Z'))).toMatchObject({ purchases: 2, until: at('2026-11-20T23:45:00Z') });
      expect(await catchUpCampaignAttribution(c.db, at('2026-11-21T00:00:00Z'))).toMatchObject({ purchases: 0 });
      const before = await campaignConversions(c.db, { period: periodFor('last_month', now, TZ), branchId: null }, at('2026-11-21T00:00:00Z'));
      expect(before).toMatchObject([{ id: c1, queued: 6, delivered: 6, buyers: 2, purchases: 2, revenue: 1_300_000 }]);
      expect(before).toEqual(await direct({ period: periodFor('last_month', now, TZ), branchId: null }, at('2026-11-21T00:00:00Z')));

      // More arrives. C2 on 4 Azar (25 November): O, A, B, C get it, D's fails, E's is still being sent.
      c2 = (await createCampaign(c.db, c.ids.O!.id, { segmentId: null, text: 'Azar offer', photoFileId: null, button: null }, at('2026-11-25T08:00:00Z'))).id;
      await startCampaign(c.db, c2, at('2026-11-25T08:00:00Z'));
      for (const row of await claimOutbox(c.db, c2, 'telegram', 100, at('2026-11-25T08:05:00Z'))) {
        const key = Object.keys(c.ids).find((k) => c.ids[k]!.id === row.member_id)!;
        if (key === 'D') await markOutbox(c.db, row, 'failed', at('2026-11-25T08:05:00Z'), 'Bad Request');
        else if (key !== 'E') await markOutbox(c.db, row, 'sent', at('2026-11-25T08:05:00Z'));
      }
      const a2 = await c.buy('A', 2_000_000, '2026-11-26T10:00:00Z'); // C2
      const b2 = await c.buy('B', 900_000, '2026-11-26T11:00:00Z', branch2); // C2, voided below
      await c.buy('D', 400_000, '2026-11-27T10:00:00Z'); // D's C2 failed and C1 is too old: none
      // An import on 27 November of a receipt from 14 November, after the job passed that date: C1.
      const imported = await applyPurchases(
        c.db,
        (async function* () {
          yield [{ kind: 'purchases' as const, row: { line: 2, phone: c.ids.D!.phone, at: at('2026-11-14T09:00:00Z'), branchId: 1, receiptNo: 'R-14', amountRials: 600_000 } }];
        })(),
        [],
        { actorMemberId: c.ids.O!.id, signupBonus: false, importId: 1 },
        { now: at('2026-11-27T12:00:00Z'), timeZone: TZ, pointsValidityDays: 365 },
      );
      expect(imported.recorded).toBe(1);
      expect(await attributed()).toBe(3);
      // The job on 28 November noon; then C buys (C2) after its watermark, and two purchases are voided:
      // one the job attributed (A's of 12 November), one after (B's of 26 November).
      expect(await catchUpCampaignAttribution(c.db, at('2026-11-28T12:00:00Z'))).toMatchObject({ purchases: 2, until: at('2026-11-28T11:45:00Z') });
      await c.buy('C', 700_000, '2026-11-28T13:00:00Z'); // C2
      const a1 = await c.db.selectFrom('purchases').select('id').where('member_id', '=', c.ids.A!.id).where('created_at', '=', at('2026-11-12T10:00:00Z')).executeTakeFirstOrThrow();
      await voidPurchase(c.db, a1.id, c.ids.O!.id, 'wrong member', env('2026-11-28T14:00:00Z'));
      await voidPurchase(c.db, b2.id, c.ids.O!.id, 'returned', env('2026-11-28T14:00:00Z'));
      expect(a2.status).toBe('recorded');

      // C2's window is still open on 29 November.
      for (const scope of scopes()) expect(await campaignConversions(c.db, scope, now)).toEqual(await direct(scope, now));
      const [second, first] = await campaignConversions(c.db, { period: year, branchId: null }, now);
      expect(second).toMatchObject({ id: c2, queued: 6, delivered: 4, failed: 1, waiting: 1, buyers: 2, purchases: 2, revenue: 2_700_000 });
      expect(first).toMatchObject({ id: c1, queued: 6, delivered: 6, buyers: 2, purchases: 2, revenue: 900_000 });
      expect(await campaignConversions(c.db, { period: year, branchId: branch2 }, now)).toMatchObject([{ id: c2, buyers: 0 }, { id: c1, buyers: 1, revenue: 300_000 }]);
      for (const [report, id] of [[second, c2], [first, c1]] as const) expect(report).toMatchObject(await counted(c.db, id));

      // A purchase after the campaign window never counts, whatever the job has covered.
      await c.buy('A', 5_000_000, '2026-12-05T10:00:00Z');
      await catchUpCampaignAttribution(c.db, at('2026-12-06T00:00:00Z'));
      const later = at('2026-12-06T00:00:00Z');
      for (const scope of scopes()) expect(await campaignConversions(c.db, scope, later)).toEqual(await direct(scope, later));
      expect((await campaignConversions(c.db, { period: year, branchId: null }, later))[0]).toMatchObject({ id: c2, buyers: 2, purchases: 2, revenue: 2_700_000 });
    });
  });

  describe('satisfaction, NPS and ticket times', () => {
    const c = club();
    let branch2 = 0;
    beforeAll(async () => {
      await c.open();
      for (const k of ['X', 'Y', 'Z']) await c.join(k, '2026-10-05T08:00:00Z');
      branch2 = (await createBranch(c.db, c.ids.O!.id, 'North', at('2026-10-01T08:00:00Z'))).id;
      // "How was your visit?" two hours after each purchase; each claimed (sent) when due.
      const visit = async (key: string, when: string, branchId: number, score: number | null) => {
        const p = await c.buy(key, 1_000_000, when, branchId);
        await scheduleSatisfactionCheck(c.db, p, at(when));
        const sent = new Date(at(when).getTime() + 120 * 60_000);
        expect(await queueDueChecks(c.db, sent)).toBe(1);
        if (score !== null) await recordSatisfaction(c.db, p.id, c.ids[key]!.id, score, new Date(sent.getTime() + 60_000));
        return p;
      };
      await visit('X', '2026-11-21T10:00:00Z', 1, 1); // sent 21 November: before the period
      await visit('X', '2026-11-22T06:00:00Z', 1, 5);
      await visit('Y', '2026-11-22T07:00:00Z', 1, 4);
      await visit('Z', '2026-11-24T10:00:00Z', branch2, 2); // opens a low-score ticket at 12:01
      await visit('X', '2026-11-25T10:00:00Z', 1, null);
      const low = await c.db.selectFrom('tickets').select('id').where('kind', '=', 'low_score').where('created_at', '>=', month.from).executeTakeFirstOrThrow();
      await addTicketMessage(c.db, low.id, { memberId: c.ids.O!.id, staff: true }, 'Sorry, what happened?', at('2026-11-24T14:01:00Z')); // 120 min
      await closeTicket(c.db, low.id, c.ids.O!.id, at('2026-11-25T12:01:00Z')); // 1440 min
      await rateTicket(c.db, low.id, c.ids.Z!.id, 4);
      const t2 = await openTicket(c.db, { memberId: c.ids.X!.id, kind: 'complaint', category: 'staff', text: 'Rude', branchId: 1 }, at('2026-11-22T09:00:00Z'));
      await addTicketMessage(c.db, t2.id, { memberId: c.ids.O!.id, staff: true }, 'We are sorry', at('2026-11-22T09:30:00Z')); // 30 min
      await addTicketMessage(c.db, t2.id, { memberId: c.ids.O!.id, staff: true }, 'Talked to them', at('2026-11-22T10:00:00Z'));
      await closeTicket(c.db, t2.id, c.ids.O!.id, at('2026-11-22T10:30:00Z')); // 90 min
      const t3 = await openTicket(c.db, { memberId: c.ids.Y!.id, kind: 'question', category: 'other', text: 'Open on Friday?' }, at('2026-11-26T10:00:00Z'));
      await addTicketMessage(c.db, t3.id, { memberId: c.ids.Y!.id, staff: false }, 'Anyone?', at('2026-11-26T12:00:00Z'));
      // NPS from a survey: 10 and 8 on 2 Azar, 3 on 6 Azar.
      const survey = await createSurvey(
        c.db,
        c.ids.O!.id,
        { titleFa: 'نظر شما', titleEn: 'Your view', rewardPoints: 0, audience: { kind: 'all' }, closesAt: null, questions: [{ kind: 'nps', textFa: 'توصیه؟', textEn: 'Recommend?', options: [], optional: false }, { kind: 'text', textFa: 'چرا؟', textEn: 'Why?', options: [], optional: true }] },
        at('2026-11-22T08:00:00Z'),
      );
      await publishSurvey(c.db, survey.id, c.ids.O!.id, at('2026-11-22T08:00:00Z'));
      const [q1, q2] = (await c.db.selectFrom('survey_questions').select('id').where('survey_id', '=', survey.id).orderBy('position').execute()).map((q) => String(q.id));
      await submitSurvey(c.db, survey.id, c.ids.X!.id, { [q1!]: 10, [q2!]: 'Great' }, env('2026-11-23T08:00:00Z'));
      await submitSurvey(c.db, survey.id, c.ids.Y!.id, { [q1!]: 8, [q2!]: null }, env('2026-11-23T09:00:00Z'));
      await submitSurvey(c.db, survey.id, c.ids.Z!.id, { [q1!]: 3, [q2!]: 'Slow' }, env('2026-11-27T09:00:00Z'));
    });
    afterAll(() => c.close());

    it('scores by the day asked, NPS by the day answered, ticket medians by the day opened', async () => {
      const r = await feedbackReport(c.db, { period: month, branchId: null });
      expect(r.total).toMatchObject({ asked: 4, scores: [0, 1, 0, 1, 1], npsAnswers: 3, promoters: 1, detractors: 1, tickets: 3, answered: 2, closed: 2, ticketRating: 4, ticketRatings: 1 });
      // Medians of (30, 120) and (90, 1440) minutes.
      expect(r.total.firstResponseMinutes).toBe(75);
      expect(r.total.resolutionMinutes).toBe(765);
      expect(npsOf(r.total)).toBe(0);
      expect(averageScore(r.total.scores)).toBeCloseTo(11 / 3, 10);
      expect(r.byBucket.map((b) => b.bucket)).toEqual(DAYS);
      const day = (iso: string) => r.byBucket.find((b) => b.bucket === iso)!;
      expect(day('2026-11-22')).toMatchObject({ asked: 2, scores: [0, 0, 0, 1, 1], tickets: 1, answered: 1, firstResponseMinutes: 30, resolutionMinutes: 90 });
      expect(day('2026-11-23')).toMatchObject({ asked: 0, npsAnswers: 2, promoters: 1, detractors: 0 });
      expect(npsOf(day('2026-11-23'))).toBe(50);
      expect(npsOf(day('2026-11-27'))).toBe(-100);
      expect(npsOf(day('2026-11-28'))).toBeNull();
      expect(day('2026-11-24')).toMatchObject({ asked: 1, scores: [0, 1, 0, 0, 0], tickets: 1, firstResponseMinutes: 120, resolutionMinutes: 1440 });
      expect(day('2026-11-26')).toMatchObject({ tickets: 1, answered: 0, closed: 0, firstResponseMinutes: null, resolutionMinutes: null });
    });

    it('with a branch: its scores and tickets; NPS stays club-wide', async () => {
      const r = await feedbackReport(c.db, { period: month, branchId: branch2 });
      expect(r.total).toMatchObject({ asked: 1, scores: [0, 1, 0, 0, 0], tickets: 1, answered: 1, firstResponseMinutes: 120, resolutionMinutes: 1440, npsAnswers: 3 });
      const empty = await feedbackReport(c.db, { period: periodFor('last_month', now, TZ), branchId: null });
      // Aban: only the visit asked on 21 November (scored 1) and the ticket that score opened, unanswered.
      expect(empty.total).toMatchObject({ asked: 1, scores: [1, 0, 0, 0, 0], tickets: 1, answered: 0, npsAnswers: 0, firstResponseMinutes: null });
      expect(npsOf(empty.total)).toBeNull();
    });
  });
});
