import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, plain } from '../support/messages.ts';
import { decodeQr } from '../support/qr.ts';


describe(`the till through the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let cashier: FakeUser;
  let member: FakeUser;
  let memberId: number;
  let cashierId: number;
  // The club's clock: tests move it forward to let a request expire.
  let offsetMs = 0;

  async function join(user: FakeUser, phone: string, name: string, locale: 'fa' | 'en') {
    const result = await joinClub(
      database.db,
      { platform: 'telegram', userId: user.id, chatId: user.id },
      { phone, firstName: name, locale },
      { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: ['+989129990000'], now: new Date() },
    );
    return result.member.id;
  }
  const points = async (id: number) =>
    (await database.db.selectFrom('members').select(['points_balance', 'credit_balance']).where('id', '=', id).executeTakeFirstOrThrow());

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_till_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129990000' }, now: () => new Date(Date.now() + offsetMs) });
    owner = api.user({ id: 7300000001, first_name: 'Owner', language_code: 'en' });
    cashier = api.user({ id: 7300000002, first_name: 'Cashier', language_code: 'en' });
    member = api.user({ id: 7300000003, first_name: 'Nasrin', language_code: 'fa' });
    await join(owner, '+989129990000', 'Owner', 'en');
    cashierId = await join(cashier, '+989129990002', 'Cashier', 'en');
    memberId = await join(member, '+989129990003', 'نسرین', 'fa');

    await owner.send('/branches');
    await owner.waitFor(hasText(/1\. شعبهٔ مرکزی/));
    // A message to another chat can arrive before the sender's own answer: wait for both at once.
    const welcome = cashier.waitFor(hasText(/added to the club's staff as cashier/));
    await owner.send('/staff_add 09129990002 cashier 1');
    await owner.waitFor(hasText(/Cashier is now a cashier/));
    await welcome;
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });
  afterEach(async () => {
    expect(await ledgerViolations(database.db)).toEqual([]);
    const refused = api.calls.filter((c) => c.status === 400 && !c.description?.includes('message is not modified'));
    expect(refused).toEqual([]);
  });

  it('a cashier scans a card, records a purchase, and the member is told with a way to dispute it', async () => {
    await member.send('/card');
    const card = await member.waitFor((m) => m.photo === true);
    const payload = decodeQr(card.photoBytes!).split('start=')[1]!;

    await cashier.send(`/start ${payload}`);
    const view = await cashier.waitFor(hasText(/Member \d+: نسرین/));
    expect(plain(view)).toMatch(/Points: 50/);
    await cashier.press('🧾 Record purchase', { messageId: view.message_id });
    // A bare number at the till is read in the club's display unit, Toman by default.
    await cashier.waitFor(hasText(/What is the amount in Toman/));
    await cashier.send('twelve');
    await cashier.waitFor(hasText(/That is not an amount. Write it in Toman/));
    await cashier.send('0');
    await cashier.waitFor(hasText(/more than zero/));
    await cashier.send('2 میلیارد');
    await cashier.waitFor(hasText(/at most 1,000,000,000 Toman \(10,000,000,000 Rials\)/));
    await cashier.send('125,000');
    await cashier.waitFor(hasText(/Receipt number/));
    await cashier.send('INV-7');
    const preview = await cashier.waitFor(hasText(/Points to earn: 125/));
    expect(plain(preview)).toMatch(/Amount: 125,000 Toman \(1,250,000 Rials\)/);
    expect(plain(preview)).toMatch(/Amount to pay: 125,000 Toman \(1,250,000 Rials\)/);
    const told = member.waitFor(hasText(/۱۲۵\+ امتیاز برای خرید ۱۲۵٬۰۰۰ تومان \(۱٬۲۵۰٬۰۰۰ ریال\) در شعبهٔ مرکزی/));
    await cashier.press('✅ Confirm');
    await cashier.waitFor(hasText(/Purchase #\d+ recorded: \+125 points for نسرین \(balance 175\)/));
    const receipt = await told;
    expect(plain(receipt)).toContain('موجودی: ۱۷۵ امتیاز');
    expect(await points(memberId)).toMatchObject({ points_balance: 175 });

    // The same receipt again pays nothing (typed in Rials this time: the unit typed wins).
    await cashier.send(`/member ${memberId}`);
    await cashier.waitFor(hasText(/Member \d+: نسرین/));
    await cashier.press('🧾 Record purchase');
    await cashier.waitFor(hasText(/What is the amount/));
    await cashier.send('1,250,000 ریال');
    await cashier.waitFor(hasText(/Receipt number/));
    await cashier.send('inv-7');
    await cashier.waitFor(hasText(/Amount: 125,000 Toman \(1,250,000 Rials\)/));
    await cashier.press('✅ Confirm');
    await cashier.waitFor(hasText(/already recorded as #\d+ \(\+125 points\)/));
    expect(await points(memberId)).toMatchObject({ points_balance: 175 });

    // "This wasn't me" reaches the owner.
    const managerTold = owner.waitFor(hasText(/نسرین says purchase #\d+ \(125,000 Toman \(1,250,000 Rials\)\) wasn't them/));
    await member.press('⚠️ این خرید من نبود', { messageId: receipt.message_id });
    await member.waitFor(hasText(/به مدیر اطلاع دادیم/));
    await managerTold;
    await owner.send('/disputes');
    await owner.waitFor(hasText(/Disputed purchases[\s\S]*#\d+ نسرین, 125,000 Toman \(1,250,000 Rials\): check it/));
  });

  it('spends points only when the member approves in their own chat', async () => {
    await cashier.send(`/member 09129990003`);
    await cashier.waitFor(hasText(/Member \d+: نسرین/));
    await cashier.press('⭐ Spend points');
    await cashier.waitFor(hasText(/How many points does نسرین spend\? \(balance 175\)/));
    await cashier.send('1000');
    await cashier.waitFor(hasText(/Not enough points: the balance is 175/));
    const asked = member.waitFor(hasText(/خرج کردن ۱۰۰ امتیاز در شعبهٔ مرکزی را تأیید می‌کنید/));
    await cashier.send('۱۰۰');
    await cashier.waitFor(hasText(/Asked نسرین to approve spending 100 points/));
    const ask = await asked;
    const approveData = ask.reply_markup.inline_keyboard[0][0].callback_data as string;
    expect(await points(memberId)).toMatchObject({ points_balance: 175 });
    const cashierTold = cashier.waitFor(hasText(/نسرین approved: 100 points spent/));
    await member.press('✅ تأیید', { messageId: ask.message_id });
    await member.waitFor(hasText(/خرج ۱۰۰ امتیاز را تأیید کردید. موجودی: ۷۵/));
    await cashierTold;
    expect(await points(memberId)).toMatchObject({ points_balance: 75 });
    // A second tap on the old request spends nothing more.
    await member.pressData(approveData, { messageId: ask.message_id });
    await expect.poll(() => member.callbackAnswers.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(await points(memberId)).toMatchObject({ points_balance: 75 });
  });

  it('the member converts points to credit, and the cashier takes a purchase with that credit', async () => {
    await member.send('/menu');
    const home = await member.waitFor((m) => (m.reply_markup?.inline_keyboard ?? []).flat().some((b: { text: string }) => b.text === '💱 تبدیل امتیاز به اعتبار'));
    await member.press('💱 تبدیل امتیاز به اعتبار', { messageId: home.message_id });
    await member.waitFor(hasText(/۷۵ امتیاز دارید که ۷۵٬۰۰۰ ریال اعتبار می‌ارزد/));
    await member.press('۷۵ امتیاز');
    await member.waitFor(hasText(/۷۵ امتیاز به ۷٬۵۰۰ تومان \(۷۵٬۰۰۰ ریال\) اعتبار تبدیل شود/));
    await member.press('✅ تبدیل کن');
    await member.waitFor(hasText(/۷۵ امتیاز به ۷٬۵۰۰ تومان \(۷۵٬۰۰۰ ریال\) اعتبار تبدیل شد/));
    expect(await points(memberId)).toEqual({ points_balance: 0, credit_balance: 75_000 });

    await cashier.send(`/member ${memberId}`);
    await cashier.waitFor(hasText(/Credit: 75,000 Rials/));
    await cashier.press('💳 Purchase with credit');
    await cashier.waitFor(hasText(/What is the amount/));
    await cashier.send('20000');
    await cashier.waitFor(hasText(/Receipt number/));
    await cashier.tapReply('Skip');
    await cashier.waitFor(hasText(/has 7,500 Toman \(75,000 Rials\) of credit/));
    await cashier.send('100000 ریال');
    await cashier.waitFor(hasText(/up to 7,500 Toman \(75,000 Rials\)/));
    await cashier.tapReply('Use 7,500 Toman (75,000 Rials)');
    const preview = await cashier.waitFor(hasText(/Points to earn: 12/));
    expect(plain(preview)).toMatch(/Credit used: −7,500 Toman \(75,000 Rials\)/);
    expect(plain(preview)).toMatch(/Amount to pay: 12,500 Toman \(125,000 Rials\)/);
    // Credit is the member's money: confirming at the till only asks them.
    const asked = member.waitFor(hasText(/۷٬۵۰۰ تومان \(۷۵٬۰۰۰ ریال\) از اعتبار شما در شعبهٔ مرکزی پرداخت شود؟/));
    await cashier.press('✅ Confirm');
    await cashier.waitFor(hasText(/Asked نسرین to approve paying 7,500 Toman \(75,000 Rials\) from their credit/));
    const ask = await asked;
    expect(await points(memberId)).toEqual({ points_balance: 0, credit_balance: 75_000 });
    expect(await database.db.selectFrom('purchases').select('id').where('member_id', '=', memberId).where('credit_used', '>', 0).execute()).toEqual([]);

    const approveData = ask.reply_markup.inline_keyboard[0][0].callback_data as string;
    const cashierTold = cashier.waitFor(hasText(/نسرین approved paying 7,500 Toman \(75,000 Rials\) from credit: purchase #\d+ recorded, \+12 points/));
    const creditTold = member.waitFor(hasText(/۷٬۵۰۰ تومان \(۷۵٬۰۰۰ ریال\) از اعتبار شما استفاده شد؛ ۰ تومان \(۰ ریال\) باقی ماند/));
    await member.press('✅ تأیید', { messageId: ask.message_id });
    await member.waitFor(hasText(/پرداخت ۷٬۵۰۰ تومان \(۷۵٬۰۰۰ ریال\) از اعتبارتان را تأیید کردید/));
    await cashierTold;
    await creditTold;
    expect(await points(memberId)).toEqual({ points_balance: 12, credit_balance: 0 });
    // A second tap records nothing more.
    await member.pressData(approveData, { messageId: ask.message_id });
    await member.waitFor(hasText(/این درخواست قبلاً تأیید شده است/));
    expect(await points(memberId)).toEqual({ points_balance: 12, credit_balance: 0 });
    const recorded = await database.db.selectFrom('purchases').select(['amount_rials', 'credit_used', 'points_earned']).where('member_id', '=', memberId).where('credit_used', '>', 0).execute();
    expect(recorded).toEqual([{ amount_rials: 200_000, credit_used: 75_000, points_earned: 12 }]);
  });

  it('a manager voids a purchase with a reason; the member is told', async () => {
    const last = await database.db.selectFrom('purchases').select('id').where('member_id', '=', memberId).orderBy('id', 'desc').executeTakeFirstOrThrow();
    await cashier.send(`/void ${last.id}`);
    await cashier.waitFor(hasText(/for the owner or a manager/));
    await owner.send(`/void ${last.id}`);
    await owner.waitFor(hasText(/What is the reason/));
    await owner.send('wrong amount');
    await owner.waitFor(hasText(/Reason: wrong amount/));
    const memberTold = member.waitFor(hasText(/توسط فروشگاه لغو شد \(wrong amount\)/));
    await owner.press('✅ Confirm');
    await owner.waitFor(hasText(new RegExp(`Purchase #${last.id} is void. Points taken back: 12\\. Already spent and not recoverable: 0\\. Credit returned: 7,500 Toman \\(75,000 Rials\\)`)));
    await memberTold;
    expect(await points(memberId)).toEqual({ points_balance: 0, credit_balance: 75_000 });
  });

  it('rewards: a manager adds one, the member claims it, the cashier confirms the code once', async () => {
    await owner.send('/adjust 09129990003 +600');
    await owner.waitFor(hasText(/What is the reason/));
    await owner.send('opening gift');
    await owner.press('✅ Confirm');
    await owner.waitFor(hasText(/نسرین now has 600 points/));
    await owner.send('/reward_add 500 1 قهوه رایگان | Free coffee');
    await owner.waitFor(hasText(/Reward Free coffee added for 500 points/));

    await member.send('/menu');
    const home = await member.waitFor((m) => (m.reply_markup?.inline_keyboard ?? []).flat().some((b: { text: string }) => b.text === '🎁 جایزه‌ها'));
    await member.press('🎁 جایزه‌ها', { messageId: home.message_id });
    await member.waitFor(hasText(/۶۰۰ امتیاز دارید/));
    await member.press(/قهوه رایگان/);
    await member.waitFor(hasText(/با ۵۰۰ امتیاز می‌گیرید/));
    await member.press('✅ دریافت');
    const claimed = await member.waitFor(hasText(/این کد را به صندوقدار نشان دهید/));
    const code = /: ([A-Z0-9]{6})$/.exec(plain(claimed))![1]!;
    expect(await points(memberId)).toMatchObject({ points_balance: 100 });

    await cashier.send('/code');
    await cashier.waitFor(hasText(/Send the reward code/));
    await cashier.send('NOPE99');
    await cashier.waitFor(hasText(/That code is unknown/));
    await cashier.send(code.toLowerCase());
    await cashier.waitFor(hasText(new RegExp(`Code ${code} confirmed: hand over Free coffee`)));
    await cashier.send('/code');
    await cashier.waitFor(hasText(/Send the reward code/));
    await cashier.send(code);
    await cashier.waitFor(hasText(/already used/));
    await cashier.send('/cancel');
    await cashier.waitFor(hasText(/Cancelled/));
  });

  it('refuses staff commands to a member, and manager commands to a cashier', async () => {
    for (const command of ['/member 1', '/stats', '/code', '/void 1', '/adjust 1 +5', '/staff_add 0912 cashier', '/branches']) {
      await member.send(command);
      await member.waitFor(hasText(/فقط برای کارکنان باشگاه است/));
    }
    await cashier.send('/staff_add 09129990003 manager');
    await cashier.waitFor(hasText(/for the owner or a manager/));
    // Revenue is the business's: a cashier is refused, a manager or owner sees it.
    await cashier.send('/stats');
    await cashier.waitFor(hasText(/for the owner or a manager/));
    await owner.send('/stats');
    const stats = await owner.waitFor(hasText(/Club statistics/));
    expect(plain(stats)).toMatch(/Members: 3/);
    expect(plain(stats)).toMatch(/Purchases: today \d+/);
  });

  it('the owner changes earning rules and tiers in the bot; a purchase then earns and promotes by them', async () => {
    await owner.send('/rules spend 5000');
    await owner.waitFor(hasText(/Club: 1 point per 5,000 Rials/));
    await owner.send('/rules spend zero');
    await owner.waitFor(hasText(/Change with: \/rules spend 10000/));
    await owner.send('/tiers silver threshold 20000');
    await owner.waitFor(hasText(/Thresholds must rise from tier to tier/));
    await owner.send('/tiers silver threshold 300');
    await owner.waitFor(hasText(/silver: نقره‌ای \/ Silver from 300 points/));
    await cashier.send('/tiers');
    await cashier.waitFor(hasText(/for club staff only|owner or a manager/));

    await cashier.send(`/member ${memberId}`);
    await cashier.waitFor(hasText(/Member \d+: نسرین/));
    await cashier.press('🧾 Record purchase');
    await cashier.waitFor(hasText(/What is the amount/));
    await cashier.send('2m ریال');
    await cashier.waitFor(hasText(/Receipt number/));
    await cashier.tapReply('Skip');
    await cashier.waitFor(hasText(/Points to earn: 400/));
    const promoted = member.waitFor(hasText(/به سطح نقره‌ای رسیدید/));
    await cashier.press('✅ Confirm');
    await cashier.waitFor(hasText(/recorded: \+400 points/));
    await promoted;
    const tier = await database.db.selectFrom('members').innerJoin('tiers', 'tiers.id', 'members.tier_id').select('tiers.code').where('members.id', '=', memberId).executeTakeFirstOrThrow();
    expect(tier.code).toBe('silver');
    await owner.send('/rules spend 10000');
    await owner.waitFor(hasText(/Club: 1 point per 10,000 Rials/));
  });

  it('a refused or expired credit request records nothing, and the cashier is told; the tier discount is taken off', async () => {
    expect(await points(memberId)).toMatchObject({ credit_balance: 75_000 });
    const purchasesBefore = (await database.db.selectFrom('purchases').select('id').where('member_id', '=', memberId).execute()).length;
    const askCredit = async () => {
      await cashier.send(`/member ${memberId}`);
      await cashier.waitFor(hasText(/Member \d+: نسرین/));
      await cashier.press('💳 Purchase with credit');
      await cashier.waitFor(hasText(/What is the amount/));
      await cashier.send('100 هزار');
      await cashier.waitFor(hasText(/Receipt number/));
      await cashier.tapReply('Skip');
      await cashier.waitFor(hasText(/of credit/));
      await cashier.send('5000');
      // Silver takes 3% off before the credit: 100,000 − 3,000 − 5,000 = 92,000 Toman to pay.
      const preview = await cashier.waitFor(hasText(/Amount to pay/));
      expect(plain(preview)).toMatch(/Tier discount \(Silver, 3%\): −3,000 Toman \(30,000 Rials\)/);
      expect(plain(preview)).toMatch(/Credit used: −5,000 Toman \(50,000 Rials\)/);
      expect(plain(preview)).toMatch(/Amount to pay: 92,000 Toman \(920,000 Rials\)/);
      const asked = member.waitFor(hasText(/۵٬۰۰۰ تومان \(۵۰٬۰۰۰ ریال\) از اعتبار شما/));
      await cashier.press('✅ Confirm');
      await cashier.waitFor(hasText(/Asked نسرین to approve/));
      return asked;
    };

    const first = await askCredit();
    const approveFirst = first.reply_markup.inline_keyboard[0][0].callback_data as string;
    const declined = cashier.waitFor(hasText(/نسرین declined paying 5,000 Toman \(50,000 Rials\) from credit. Nothing was recorded/));
    await member.press('✖️ رد', { messageId: first.message_id });
    await member.waitFor(hasText(/رد کردید؛ از اعتبارتان چیزی کم نشد/));
    await declined;
    // A late approve on the refused request changes nothing.
    await member.pressData(approveFirst, { messageId: first.message_id });
    await member.waitFor(hasText(/این درخواست قبلاً رد شده است/));

    const second = await askCredit();
    offsetMs += 6 * 60_000;
    const expiredTold = cashier.waitFor(hasText(/the request to pay 5,000 Toman \(50,000 Rials\) from credit expired and nothing was recorded/));
    await member.press('✅ تأیید', { messageId: second.message_id });
    await member.waitFor(hasText(/مهلت این درخواست تمام شده/));
    await expiredTold;
    offsetMs = 0;

    expect(await points(memberId)).toMatchObject({ credit_balance: 75_000 });
    expect((await database.db.selectFrom('purchases').select('id').where('member_id', '=', memberId).execute()).length).toBe(purchasesBefore);
    const statuses = await database.db.selectFrom('credit_requests').select('status').where('member_id', '=', memberId).orderBy('id').execute();
    expect(statuses.map((r) => r.status)).toEqual(['approved', 'declined', 'expired']);
  });

  it('a cashier cannot record a purchase on, or spend from, their own membership', async () => {
    await cashier.send(`/member ${cashierId}`);
    const view = await cashier.waitFor(hasText(/Member \d+: Cashier/));
    for (const button of ['🧾 Record purchase', '💳 Purchase with credit', '⭐ Spend points']) {
      await cashier.press(button, { messageId: view.message_id });
      await cashier.waitFor(hasText(/cannot record a purchase on, or spend from, your own membership/));
    }
    expect(await database.db.selectFrom('purchases').select('id').where('member_id', '=', cashierId).execute()).toEqual([]);
  });

  it('a cashier removed in the middle of a purchase cannot record it', async () => {
    const before = await points(memberId);
    await cashier.send(`/member ${memberId}`);
    await cashier.waitFor(hasText(/Member \d+: نسرین/));
    await cashier.press('🧾 Record purchase');
    await cashier.waitFor(hasText(/What is the amount/));
    await cashier.send('50000');
    await cashier.waitFor(hasText(/Receipt number/));
    await cashier.tapReply('Skip');
    await cashier.waitFor(hasText(/Points to earn/));

    await owner.send('/staff_remove 09129990002');
    await owner.waitFor(hasText(/Cashier is no longer a cashier/));
    await cashier.press('✅ Confirm');
    await cashier.waitFor(hasText(/for club staff only/));
    expect(await points(memberId)).toEqual(before);

    const welcome = cashier.waitFor(hasText(/added to the club's staff as cashier/));
    await owner.send('/staff_add 09129990002 cashier 1');
    await owner.waitFor(hasText(/Cashier is now a cashier/));
    await welcome;
  });

  it('/adjust refuses more than the limit, naming it', async () => {
    await owner.send('/adjust 09129990003 +2000000');
    await owner.waitFor(hasText(/at most 1,000,000 points at a time/));
  });
});

