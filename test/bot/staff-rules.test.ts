import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { credit } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase, voidPurchase } from '../../src/club/purchases.ts';
import { createSurvey, publishSurvey, submitSurvey } from '../../src/club/surveys.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, plain } from '../support/messages.ts';

const OWNER_A = '+989127770001';
const OWNER_B = '+989127770002';
const OWNER_D = '+989127770004';
const clock = { now: new Date('2026-12-01T09:00:00Z') };
const env = { now: clock.now, timeZone: 'Asia/Tehran' };

describe(`staff rules, owners and /stats (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  const users: Record<string, FakeUser> = {};
  const ids: Record<string, number> = {};

  const start = (ownerPhones: string) => startTestClub({ api, database, env: { OWNER_PHONES: ownerPhones }, now: () => clock.now });
  const roleOf = async (name: string) =>
    (await database.db.selectFrom('staff').select('role').where('member_id', '=', ids[name]!).executeTakeFirst())?.role ?? null;

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_staff_bot' });
    await api.start();
    club = await start(`${OWNER_A},${OWNER_B},${OWNER_D}`);
    const people: [string, string][] = [
      ['ownerA', OWNER_A],
      ['ownerB', OWNER_B],
      ['manager', '+989127770010'],
      ['manager2', '+989127770011'],
      ['cashier', '+989127770012'],
      ['ownerD', OWNER_D],
      ['buyer', '+989127770020'],
      ['other', '+989127770021'],
    ];
    for (const [i, [name, phone]] of people.entries()) {
      users[name] = api.user({ id: 7400000001 + i, first_name: name, language_code: 'en' });
      const { member } = await joinClub(
        database.db,
        { platform: 'telegram', userId: users[name]!.id, chatId: users[name]!.id },
        { phone, firstName: name, locale: 'en' },
        { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [OWNER_A, OWNER_B, OWNER_D], now: clock.now },
      );
      ids[name] = member.id;
    }
    const a = users.ownerA!;
    for (const [phone, role, name] of [
      ['09127770010', 'manager', 'manager'],
      ['09127770011', 'manager', 'manager2'],
      ['09127770012', 'cashier 1', 'cashier'],
    ]) {
      const welcomed = users[name!]!.waitFor(hasText(/added to the club's staff/));
      await a.send(`/staff_add ${phone} ${role}`);
      await a.waitFor(hasText(new RegExp(`${name} is now a`)));
      await welcomed;
    }
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('a manager cannot demote or overwrite a manager or an owner; an owner can', async () => {
    const m = users.manager!;
    await m.send('/staff_add 09127770011 cashier 1');
    await m.waitFor(hasText(/You cannot change that person's role/));
    expect(await roleOf('manager2')).toBe('manager');
    await m.send('/staff_add 09127770001 cashier 1');
    await m.waitFor(hasText(/You cannot change that person's role/));
    expect(await roleOf('ownerA')).toBe('owner');
    await m.send('/staff_remove 09127770011');
    await m.waitFor(hasText(/You cannot change that person's role/));
    expect(await roleOf('manager2')).toBe('manager');

    // A cashier stays a manager's to move between branches.
    await m.send('/staff_add 09127770012 cashier 1');
    await m.waitFor(hasText(/cashier is now a cashier/));

    await users.ownerA!.send('/staff_add 09127770011 cashier 1');
    await users.ownerA!.waitFor(hasText(/manager2 is now a cashier/));
    expect(await roleOf('manager2')).toBe('cashier');
  });

  it('a cashier cannot see /stats; a manager can', async () => {
    await users.cashier!.send('/stats');
    await users.cashier!.waitFor(hasText(/This is for the owner or a manager/));
    expect(users.cashier!.messages.some(hasText(/Club statistics/))).toBe(false);
    await users.manager!.send('/stats');
    await users.manager!.waitFor(hasText(/Club statistics/));
  });

  it('taking a phone off OWNER_PHONES revokes that owner at the next start', async () => {
    await club.stop();
    club = await start(`${OWNER_A},${OWNER_D}`);
    expect(await roleOf('ownerB')).toBeNull();
    expect(await roleOf('ownerA')).toBe('owner');
    await users.ownerB!.send('/stats');
    await users.ownerB!.waitFor(hasText(/for club staff only/));
    const audited = await database.db.selectFrom('audit_log').select('payload').where('action', '=', 'staff.owner_revoke').execute();
    expect(audited.map((r) => r.payload.member_id)).toEqual([ids.ownerB]);
  });

  it('an owner removes another owner, but never the last one', async () => {
    const a = users.ownerA!;
    await users.manager!.send('/staff_remove 09127770004');
    await users.manager!.waitFor(hasText(/You cannot change that person's role/));
    await a.send('/staff_remove 09127770004');
    await a.waitFor(hasText(/ownerD is no longer a owner/));
    expect(await roleOf('ownerD')).toBeNull();
    await a.send('/staff_remove 09127770001');
    await a.waitFor(hasText(/must keep at least one owner/));
    expect(await roleOf('ownerA')).toBe('owner');
  });

  it('/stats: active means bought; points issued leave out voided purchases and count survey and automation gifts; cashback rate', async () => {
    const branchId = (await database.db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
    const buy = (who: string, amountRials: number, op: string) =>
      recordPurchase(database.db, { memberId: ids[who]!, branchId, cashierMemberId: ids.cashier!, amountRials, operationId: op }, env);
    const kept = await buy('buyer', 1_000_000, 'stats-1');
    const voided = await buy('other', 500_000, 'stats-2');
    expect([kept.points, voided.points]).toEqual([100, 50]);
    await voidPurchase(database.db, voided.purchase.id, ids.ownerA!, 'entered by mistake', env);

    const survey = await createSurvey(
      database.db,
      ids.ownerA!,
      { titleFa: 'نظر', titleEn: 'View', rewardPoints: 20, audience: { kind: 'all' }, closesAt: null, questions: [{ kind: 'rating', textFa: 'چطور بود؟', textEn: null, options: [], optional: false }] },
      clock.now,
    );
    await publishSurvey(database.db, survey.id, ids.ownerA!, clock.now);
    const question = await database.db.selectFrom('survey_questions').select('id').where('survey_id', '=', survey.id).executeTakeFirstOrThrow();
    expect((await submitSurvey(database.db, survey.id, ids.other!, { [String(question.id)]: 5 }, env)).points).toBe(20);
    // An automation's birthday gift, as the automation writes it.
    await database.db.transaction().execute((trx) =>
      credit(trx, { memberId: ids.other!, currency: 'points', amount: 30, kind: 'gift', reason: 'automation_birthday', idempotencyKey: 'stats-gift', expiresAt: null, at: clock.now }),
    );

    await users.ownerA!.send('/stats');
    const stats = await users.ownerA!.waitFor(hasText(/Club statistics/));
    // 8 members joined; one bought (the other's purchase was voided).
    expect(plain(stats)).toMatch(/Members: 8 .*bought in 30 days: 1\b/);
    // 100 (kept purchase) + 20 (survey) + 30 (gift); the voided purchase's 50 are not issued.
    expect(plain(stats)).toMatch(/issued 150,/);
    expect(plain(stats)).toMatch(/Revenue: today 1,000,000 Rials/);
    // 150 points × 1,000 Rials each / 1,000,000 Rials of revenue.
    expect(plain(stats)).toMatch(/Points given back in 30 days: 15% of revenue/);
  });
});
