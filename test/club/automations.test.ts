import jalaali from 'jalaali-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOccasion, previewAutomation, runAutomation, runAutomations, updateAutomation } from '../../src/club/automations.ts';
import { ClubError } from '../../src/club/errors.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { jalaliToIso, todayIso } from '../../src/lib/jalali.ts';
import { zonedMidnight } from '../../src/lib/zoned.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const TZ = 'Asia/Tehran';
/** 11:00 Tehran time on a Jalali date. */
const at = (jy: number, jm: number, jd: number) => new Date(zonedMidnight(jalaliToIso(jy, jm, jd), TZ).getTime() + 11 * 3_600_000);
/** When the manager edits automations (the runs have their own days). */
const edited = new Date('2026-03-01T08:00:00Z');
const day = (now: Date) => ({ today: todayIso(now, TZ), now, timeZone: TZ });

describe(`automations (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let owner: number;
  let branchId: number;
  const ids: Record<string, number> = {};
  let phone = 0;

  async function member(name: string, birth: [number, number, number] | null, optIn = true) {
    phone++;
    const { member } = await joinClub(
      handle.db,
      { platform: 'telegram', userId: 6_600_000 + phone, chatId: 6_600_000 + phone },
      { phone: `+98912660${String(phone).padStart(4, '0')}`, firstName: name, ...(birth ? { birthDate: jalaliToIso(...birth) } : {}) },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989126600001'], now: at(1404, 1, 1) },
    );
    if (!optIn) await handle.db.updateTable('members').set({ marketing_opt_in: false }).where('id', '=', member.id).execute();
    ids[name] = member.id;
    return member.id;
  }
  const automation = (name: string) => handle.db.selectFrom('automations').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
  const outboxOf = async (campaignId: number | null) =>
    campaignId === null ? [] : (await handle.db.selectFrom('campaign_outbox').select('member_id').where('campaign_id', '=', campaignId).orderBy('member_id').execute()).map((r) => r.member_id);
  const points = async (id: number) => (await handle.db.selectFrom('members').select('points_balance').where('id', '=', id).executeTakeFirstOrThrow()).points_balance;

  beforeAll(async () => {
    handle = await testDatabase();
    owner = await member('Owner', null, false);
    branchId = (await handle.db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
    await member('Mina', [1370, 5, 12]);
    await member('Esfand30', [1399, 12, 30]); // 1399 is a leap year
    await member('Quiet', [1365, 1, 1], false); // no offers: never reached
    await member('Buyer', [1372, 9, 30]);
  });
  afterAll(() => handle.close());

  it('birthday: in the Jalali calendar, with the gift, once a year, however often it runs', async () => {
    const birthday = await updateAutomation(handle.db, owner, (await automation('birthday')).id, { enabled: true, gift_points: 50 }, edited);
    const on = at(1405, 5, 12);
    expect(await previewAutomation(handle.db, birthday, day(on))).toEqual({ count: 1, names: ['Mina'] });
    const first = await runAutomation(handle.db, birthday, day(on));
    expect(await outboxOf(first.campaignId)).toEqual([ids.Mina]);
    expect(first.giftedPoints).toBe(50);
    expect(await points(ids.Mina!)).toBe(50);

    // Later the same day (another tick, another process): nothing new, no second gift, no empty campaign.
    const again = await Promise.all([runAutomation(handle.db, birthday, day(new Date(on.getTime() + 3_600_000))), runAutomation(handle.db, birthday, day(on))]);
    expect(again.map((r) => r.campaignId)).toEqual([null, null]);
    expect(await points(ids.Mina!)).toBe(50);
    expect(await previewAutomation(handle.db, birthday, day(on))).toEqual({ count: 0, names: [] });
    expect(await handle.db.selectFrom('campaigns').select('id').where('automation_id', '=', birthday.id).execute()).toHaveLength(1);

    // The day before and after: not her birthday. Next year: again.
    expect((await runAutomation(handle.db, birthday, day(at(1405, 5, 11)))).recipients).toBe(0);
    expect((await runAutomation(handle.db, birthday, day(at(1405, 5, 13)))).recipients).toBe(0);
    const nextYear = await runAutomation(handle.db, birthday, day(at(1406, 5, 12)));
    expect(await outboxOf(nextYear.campaignId)).toEqual([ids.Mina]);
    expect(await points(ids.Mina!)).toBe(100);
  });

  it('birthday: days before, and 30 Esfand celebrated on the 29th in a common year', async () => {
    const birthday = await updateAutomation(handle.db, owner, (await automation('birthday')).id, { days: 3, gift_points: 0 }, edited);
    const r = await runAutomation(handle.db, birthday, day(at(1407, 5, 9)));
    expect(await outboxOf(r.campaignId)).toEqual([ids.Mina]);
    await updateAutomation(handle.db, owner, birthday.id, { days: 0 }, edited);
    expect(jalaali.isLeapJalaaliYear(1404)).toBe(false);
    const esfand = await runAutomation(handle.db, { ...birthday, days: 0 }, day(at(1404, 12, 29)));
    expect(await outboxOf(esfand.campaignId)).toEqual([ids.Esfand30]);
  });

  it('win-back: after N quiet days, once per quiet spell', async () => {
    await recordPurchase(handle.db, { memberId: ids.Buyer!, branchId, cashierMemberId: owner, amountRials: 1_000_000, operationId: 'wb-1' }, { now: at(1405, 1, 10), timeZone: TZ });
    const winback = await updateAutomation(handle.db, owner, (await automation('winback')).id, { enabled: true, days: 60 }, edited);
    expect((await runAutomation(handle.db, winback, day(at(1405, 2, 20)))).recipients).toBe(0);
    const quiet = await runAutomation(handle.db, winback, day(at(1405, 3, 15)));
    expect(await outboxOf(quiet.campaignId)).toEqual([ids.Buyer]);
    expect((await runAutomation(handle.db, winback, day(at(1405, 3, 16)))).campaignId).toBeNull();
    // Back, then quiet again: a new spell.
    await recordPurchase(handle.db, { memberId: ids.Buyer!, branchId, cashierMemberId: owner, amountRials: 2_000_000, operationId: 'wb-2' }, { now: at(1405, 4, 1), timeZone: TZ });
    expect((await runAutomation(handle.db, winback, day(at(1405, 5, 1)))).recipients).toBe(0);
    const again = await runAutomation(handle.db, winback, day(at(1405, 6, 5)));
    expect(await outboxOf(again.campaignId)).toEqual([ids.Buyer]);
    await updateAutomation(handle.db, owner, winback.id, { enabled: false }, edited);
  });

  it('Nowruz and custom occasions: everyone who takes offers, on the day, once; switched-off ones stay quiet', async () => {
    const nowruz = await updateAutomation(handle.db, owner, (await automation('nowruz')).id, { enabled: true }, edited);
    await updateAutomation(handle.db, owner, (await automation('birthday')).id, { enabled: false }, edited);
    const runs = await runAutomations(handle.db, at(1406, 1, 1), TZ);
    const nowruzRun = runs.find((r) => r.automationId === nowruz.id)!;
    expect(await outboxOf(nowruzRun.campaignId)).toEqual([ids.Mina, ids.Esfand30, ids.Buyer].sort((a, b) => a! - b!));
    expect(runs.filter((r) => r.campaignId !== null)).toHaveLength(1);
    expect((await runAutomations(handle.db, at(1406, 1, 1), TZ)).every((r) => r.campaignId === null)).toBe(true);

    const anniversary = await addOccasion(handle.db, owner, { name: 'Anniversary', jalaliMonth: 7, jalaliDay: 15, message: 'Ten years, {name}!', giftPoints: 10 }, edited);
    const before = await points(ids.Buyer!);
    const run = await runAutomation(handle.db, anniversary, day(at(1406, 7, 15)));
    expect(run.recipients).toBe(3);
    expect(await points(ids.Buyer!)).toBe(before + 10);
    const campaign = await handle.db.selectFrom('campaigns').select('text').where('id', '=', run.campaignId!).executeTakeFirstOrThrow();
    expect(campaign.text).toBe('Ten years, {name}!');
    for (const bad of [{ jalaliMonth: 13, jalaliDay: 1 }, { jalaliMonth: 7, jalaliDay: 31 }, { jalaliMonth: 12, jalaliDay: 30 }]) {
      await expect(addOccasion(handle.db, owner, { name: 'Bad', message: 'x', giftPoints: 0, ...bad }, edited)).rejects.toBeInstanceOf(ClubError);
    }
  });
});
