import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { createPool, displayCode } from '../../src/club/vouchers.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons } from '../support/messages.ts';

// A command always wins over the conversation in progress: /cancel leaves it (even a screen that
// waits for an inline button), any other command leaves it and runs.
describe(`commands in the middle of a conversation (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let customer: FakeUser;
  let ownerId: number;
  let customerId: number;
  const clock = new Date('2026-11-20T08:00:00Z');

  const isHome = (m: { reply_markup?: unknown }) => inlineButtons(m as never).some((b) => b.text === '⭐ My points');

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_commands_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129995000' }, now: () => clock });
    owner = api.user({ id: 7950000001, first_name: 'Owner', language_code: 'en' });
    customer = api.user({ id: 7950000002, first_name: 'Nasrin', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129995000'], now: clock };
    ownerId = (await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129995000', firstName: 'Owner', locale: 'en' }, policy)).member.id;
    customerId = (await joinClub(database.db, { platform: 'telegram', userId: customer.id, chatId: customer.id }, { phone: '+989129995001', firstName: 'Nasrin', locale: 'en' }, policy)).member.id;
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('/cancel at the purchase confirmation records nothing, and its Confirm button is dead afterwards', async () => {
    await owner.send(`/member ${customerId}`);
    await owner.waitFor(hasText(/Member \d+: Nasrin/));
    await owner.press('🧾 Record purchase');
    await owner.waitFor(hasText(/What is the amount in Toman/));
    // A command typed instead of the amount starts that command.
    await owner.send(`/member ${customerId}`);
    await owner.waitFor(hasText(/Member \d+: Nasrin/));
    await owner.press('🧾 Record purchase');
    await owner.waitFor(hasText(/What is the amount in Toman/));
    await owner.send('50000');
    await owner.waitFor(hasText(/Receipt number/));
    await owner.tapReply('Skip');
    const preview = await owner.waitFor(hasText(/Points to earn/));

    const home = owner.waitFor(isHome);
    await owner.send('/cancel');
    await owner.waitFor(hasText(/^Cancelled\. Nothing was changed\.$/));
    await home;
    expect(owner.replyKeyboard()).toBeUndefined();
    await owner.press('✅ Confirm', { messageId: preview.message_id });
    await owner.waitFor(isHome);
    expect(owner.callbackAnswers.at(-1)?.text).toMatch(/out of date/);
    expect(await database.db.selectFrom('purchases').select('id').execute()).toEqual([]);
  });

  it('/cancel at the broadcast confirmation sends nothing, and Send now is dead afterwards', async () => {
    await owner.send('/broadcast');
    await owner.waitFor(hasText(/Who receives this message/));
    await owner.press('👥 All members');
    await owner.waitFor(hasText(/Send the message/));
    await owner.send('Hello {name}');
    await owner.waitFor(hasText(/Add a button/));
    await owner.press('No button');
    const confirm = await owner.waitFor(hasText(/Send it to \d+ members/));
    const home = owner.waitFor(isHome);
    await owner.send('/cancel');
    await owner.waitFor(hasText(/^Cancelled\. Nothing was changed\.$/));
    await home;
    await owner.press('🚀 Send now', { messageId: confirm.message_id });
    await owner.waitFor(isHome);
    expect(await database.db.selectFrom('campaign_outbox').select('member_id').execute()).toEqual([]);
    expect(await database.db.selectFrom('campaigns').select('status').where('status', '!=', 'draft').execute()).toEqual([]);
    expect(customer.messages.filter(hasText(/Hello/))).toEqual([]);
  });

  it('/voucher, then /voucher CODE instead of the code, checks that code', async () => {
    await createPool(
      database.db,
      ownerId,
      { name: 'Azar', discount: { kind: 'percent', value: 15 }, validFrom: clock, validTo: new Date(clock.getTime() + 10 * 86_400_000), perMemberLimit: 1, segmentId: null },
      { generate: 1 },
      clock,
    );
    const { code } = await database.db.selectFrom('voucher_codes').select('code').executeTakeFirstOrThrow();
    await owner.send('/voucher');
    await owner.waitFor(hasText(/Type the voucher code/));
    await owner.send(`/voucher ${displayCode(code)}`);
    const card = await owner.waitFor(hasText(/Voucher|voucher/));
    expect(card.text).toMatch(/Discount: <b>15%<\/b>[\s\S]*Redeem it now\?/);
    // The question's Cancel button is still on screen: it cancels, and goes away.
    const home = owner.waitFor(isHome);
    await owner.tapReply('✖️ Cancel');
    await owner.waitFor(hasText(/^Cancelled\. Nothing was changed\.$/));
    await home;
    expect(owner.replyKeyboard()).toBeUndefined();
  });

  it('signup: /cancel half-way joins nobody; /start half-way starts again', async () => {
    const newcomer = api.user({ id: 7950000003, first_name: 'Sara', language_code: 'en', phone: '989129995003' });
    await newcomer.send('/start');
    await newcomer.waitFor(hasText(/To join, tap/));
    await newcomer.shareContact();
    await newcomer.waitFor(hasText(/What should we call you/));
    await newcomer.send('/cancel');
    await newcomer.waitFor(hasText(/Joining was cancelled/));
    expect(newcomer.replyKeyboard()).toBeUndefined();
    expect(await database.db.selectFrom('member_accounts').select('member_id').where('user_id', '=', newcomer.id).execute()).toEqual([]);

    await newcomer.send('/start');
    await newcomer.waitFor(hasText(/To join, tap/));
    await newcomer.shareContact();
    await newcomer.waitFor(hasText(/What should we call you/));
    await newcomer.send('Sara');
    await newcomer.waitFor(hasText(/When is your birthday/));
    await newcomer.send('/start');
    await newcomer.waitFor(hasText(/To join, tap/));
    await newcomer.shareContact();
    await newcomer.waitFor(hasText(/What should we call you/));
    expect(await database.db.selectFrom('member_accounts').select('member_id').where('user_id', '=', newcomer.id).execute()).toEqual([]);
  });
});
