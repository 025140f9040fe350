import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { addStaff } from '../../src/club/staff.ts';
import { displayCode } from '../../src/club/vouchers.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

// Ends are stored exclusive (the midnight after the last valid day); people read the last valid day.
describe(`"valid until" shows the last valid day (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let cashier: FakeUser;
  // 00:00 on 30 Aban 1405 (21 November 2026) in Tehran.
  const clock = new Date('2026-11-20T20:30:00Z');

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_until_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129996000' }, now: () => clock });
    owner = api.user({ id: 7960000001, first_name: 'Owner', language_code: 'en' });
    cashier = api.user({ id: 7960000002, first_name: 'Kaveh', language_code: 'fa' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129996000'], now: clock };
    const o = await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129996000', firstName: 'Owner', locale: 'en' }, policy);
    await joinClub(database.db, { platform: 'telegram', userId: cashier.id, chatId: cashier.id }, { phone: '+989129996001', firstName: 'کاوه', locale: 'fa' }, policy);
    await addStaff(database.db, { memberId: o.member.id, role: 'owner' }, '+989129996001', 'manager', null, clock);
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  async function newPool(name: string, validity: string) {
    await owner.send('/vouchers add');
    await owner.waitFor(hasText(/A name for it/));
    await owner.send(name);
    await owner.waitFor(hasText(/The discount/));
    await owner.send('20%');
    await owner.waitFor(hasText(/Valid until when/));
    await owner.send(validity);
    await owner.waitFor(hasText(/How many codes from this pool/));
    await owner.tapReply('1');
    await owner.waitFor(hasText(/Who is it for/));
    await owner.press('👥 All members');
    await owner.waitFor(hasText(/make them here, or upload/));
    await owner.press(/Generate/);
    await owner.waitFor(hasText(/How many/));
    await owner.send('1');
    await owner.waitFor(hasText(new RegExp(`Pool ${name} is ready`)));
    const pool = await database.db.selectFrom('voucher_pools').select('id').where('name', '=', name).executeTakeFirstOrThrow();
    return displayCode((await database.db.selectFrom('voucher_codes').select('code').where('pool_id', '=', pool.id).executeTakeFirstOrThrow()).code);
  }

  it('a pool valid until 30 Azar says 30 Azar (and 21 December in English) in the list and at the till', async () => {
    const code = await newPool('Azar', '1405/9/30');
    await owner.send('/vouchers');
    const list = await owner.waitFor(hasText(/Voucher pools/));
    expect(plain(list)).toContain('Azar: 20% until 21 December 2026;');
    await owner.send(`/voucher ${code}`);
    expect(plain(await owner.waitFor(hasText(/Redeem it now/)))).toContain('Valid until: 21 December 2026\n');
    await cashier.send(`/voucher ${code}`);
    expect(plain(await cashier.waitFor(hasText(/اکنون ثبت شود/)))).toContain('معتبر تا: ۳۰ آذر ۱۴۰۵\n');

    // "30" days: through the 30th day from today (21 November), to its end.
    const month = await newPool('Month', '30');
    const end = await database.db.selectFrom('voucher_pools').select('valid_to').where('name', '=', 'Month').executeTakeFirstOrThrow();
    expect(end.valid_to.toISOString()).toBe('2026-12-21T20:30:00.000Z');
    await cashier.send(`/voucher ${month}`);
    expect(plain(await cashier.waitFor(hasText(/اکنون ثبت شود/)))).toContain('معتبر تا: ۳۰ آذر ۱۴۰۵\n');
  });

  it("a friend's welcome voucher for 30 days from midnight says the 30th day, to the friend and at the till", async () => {
    const reza = api.user({ id: 7960000003, first_name: 'Reza', language_code: 'en', phone: '989129996003' });
    const { member } = await joinClub(database.db, { platform: 'telegram', userId: reza.id, chatId: reza.id }, { phone: '+989129996003', firstName: 'Reza', locale: 'en' }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: clock });
    const friend = api.user({ id: 7960000004, first_name: 'Mina', language_code: 'fa', phone: '989129996004' });
    await friend.send(`/start r_${member.referral_code}`);
    await friend.waitFor(hasText(/باشگاه/));
    await friend.shareContact();
    await friend.waitFor(hasText(/چه صدا کنیم/));
    await friend.send('مینا');
    await friend.waitFor(hasText(/تولد/));
    await friend.tapReply('رد شدن');
    await friend.waitFor(hasText(/جنسیت/));
    const told = friend.waitFor(hasText(/دعوت کرده است/));
    await friend.tapReply('رد شدن');
    // 30 days from 00:00 on 30 Aban end at 00:00 on 30 Azar: valid through 29 Azar.
    expect(plain(await told)).toContain('تا ۲۹ آذر ۱۴۰۵ برای اولین خرید');
    await friend.waitFor((m) => inlineButtons(m).length > 0);

    const mina = await database.db.selectFrom('member_accounts').select('member_id').where('user_id', '=', friend.id).executeTakeFirstOrThrow();
    await owner.send(`/member ${mina.member_id}`);
    expect(plain(await owner.waitFor(hasText(/Welcome voucher/)))).toContain('(valid until 20 December 2026)');
  });
});
