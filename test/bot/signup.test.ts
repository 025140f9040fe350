import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type BotMessage, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, plain } from '../support/messages.ts';

const inlineButtons = (m: BotMessage | undefined) =>
  ((m?.reply_markup?.inline_keyboard ?? []) as { text: string; callback_data?: string }[][]).flat().map((b) => b.text);
const ASCII_DIGIT = /[0-9]/;

describe(`signup and menu on Telegram (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_test_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129999999' } });
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });
  afterEach(() => {
    // Telegram refused nothing the club sent (bad markup, oversize callback data, ...).
    // "message is not modified" is how Telegram answers a redundant edit; the club ignores it.
    const refused = api.calls.filter(
      (c) => c.status >= 400 && c.status !== 403 && c.status !== 429 && !c.description?.includes('message is not modified'),
    );
    expect(refused).toEqual([]);
  });

  async function startSignup(user: FakeUser) {
    await user.send('/start');
    const welcome = await user.waitFor(hasText(/share|ارسال شماره/i));
    expect(user.replyKeyboard()?.flat().some((b: { request_contact?: boolean }) => b.request_contact)).toBe(true);
    return welcome;
  }

  it('signs up a Persian speaker, refusing typed numbers, foreign contacts and impossible dates', async () => {
    const user = api.user({ id: 7100000001, first_name: 'سارا', language_code: 'fa', phone: '989121234567' });
    await startSignup(user);

    await user.send('09121234567');
    await user.waitFor(hasText(/تایپ‌شده پذیرفته نمی‌شود/));
    expect(user.replyKeyboard()?.flat().some((b: { request_contact?: boolean }) => b.request_contact)).toBe(true);

    await user.sendContact({ phone_number: '989350000000', user_id: 7100000999, first_name: 'Someone' });
    await user.waitFor(hasText(/متعلق به شخص دیگری/));
    await user.sendContact({ phone_number: '989350000000', first_name: 'No id' });
    await user.waitFor(hasText(/متعلق به شخص دیگری/));

    await user.shareContact();
    await user.waitFor(hasText(/چه صدا کنیم/));
    expect(user.replyKeyboard()?.flat().map((b: { text: string }) => b.text)).toEqual(['سارا']);
    await user.tapReply('سارا');

    await user.waitFor(hasText(/تاریخ تولدتان چیست/));
    await user.send('۱۳۷۰/۷/۳۱');
    await user.waitFor(hasText(/در تقویم شمسی وجود ندارد/));
    await user.send('hello');
    await user.waitFor(hasText(/سال\/ماه\/روز/));
    await user.send('1500/1/1');
    await user.waitFor(hasText(/در آینده است/));
    await user.send('۱۳۷۰/۵/۱۲');

    await user.waitFor(hasText(/جنسیت/));
    await user.send('maybe');
    await user.waitFor(hasText(/یکی از دکمه‌ها/));
    // The welcome and the home screen come back to back: wait for both before tapping.
    const done$ = user.waitFor(hasText(/خوش آمدید! شمارهٔ عضویت/));
    const home$ = user.waitFor((m) => inlineButtons(m).includes('⭐ امتیازهای من'));
    await user.tapReply('زن');

    const done = await done$;
    expect(plain(done)).toContain('۵۰ امتیاز');
    expect(done.reply_markup?.remove_keyboard).toBe(true);
    const home = await home$;
    expect(plain(home)).toMatch(/امتیاز: ۵۰/);
    expect(plain(home)).not.toMatch(ASCII_DIGIT);

    const member = await database.db.selectFrom('members').selectAll().where('phone', '=', '+989121234567').executeTakeFirstOrThrow();
    expect(member).toMatchObject({ first_name: 'سارا', birth_date: '1991-08-03', gender: 'female', locale: 'fa', points_balance: 50 });
    expect(await ledgerViolations(database.db, member.id)).toEqual([]);

    // A returning member goes straight to the menu.
    await user.send('/start');
    const again = await user.waitFor((m) => m.message_id > home.message_id && inlineButtons(m).includes('💳 کارت من'));
    expect(again.text).toMatch(/سارا/);
    await user.send('/whoami');
    const whoami = await user.waitFor(hasText(/نقش: عضو/));
    // Jalali date in Persian digits: «عضو از ۱ آذر ۱۴۰۵» or whatever today is.
    expect(plain(whoami)).toMatch(/عضو از [۰-۹]{1,2} [\u0600-\u06FF]+ [۰-۹]{4}/);
    const signupTexts = user.messages.filter(hasText(/به باشگاه مشتریان خوش آمدید/));
    expect(signupTexts).toHaveLength(1);
  });

  it('shows points with tier progress, the card, and settings that switch the language', async () => {
    const user = api.user({ id: 7100000002, first_name: 'Dariush', language_code: 'fa', phone: '+98 912 000 0002' });
    await startSignup(user);
    await user.shareContact();
    await user.waitFor(hasText(/چه صدا کنیم/));
    await user.send('داریوش');
    await user.waitFor(hasText(/تاریخ تولدتان/));
    await user.tapReply('رد شدن');
    await user.waitFor(hasText(/جنسیت/));
    await user.tapReply('رد شدن');
    const home = await user.waitFor((m) => inlineButtons(m).includes('⭐ امتیازهای من'));

    await user.press('⭐ امتیازهای من', { messageId: home.message_id });
    const points = await user.waitFor(hasText(/امتیاز کسب‌شده/));
    expect(points.message_id).toBe(home.message_id); // edited in place on Telegram
    expect(plain(points)).toContain('۹۵۰ امتیاز دیگر تا سطح نقره‌ای');
    expect(plain(points)).toContain('▱▱▱▱▱▱▱▱▱▱');
    expect(plain(points)).toContain('اعتبار: ۰ ریال');

    await user.press('» بازگشت');
    await user.waitFor((m) => m.message_id === home.message_id && inlineButtons(m).includes('💳 کارت من'));

    await user.press('💳 کارت من');
    const card = await user.waitFor((m) => m.photo === true);
    const member = await database.db.selectFrom('members').select('id').where('phone', '=', '+989120000002').executeTakeFirstOrThrow();
    expect(plain(card)).toContain(`شمارهٔ عضویت ${member.id.toString().replace(/\d/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[Number(d)]!)}`);

    await user.press('⚙️ تنظیمات', { messageId: home.message_id });
    await user.waitFor(hasText(/زبان: فارسی/));
    await user.press('English');
    const english = await user.waitFor(hasText(/Language: English/));
    expect(inlineButtons(english)).toContain('✅ English');
    await user.press('🔕 Stop offers');
    await user.waitFor(hasText(/Offers and news: off/));
    const stored = await database.db.selectFrom('members').select(['locale', 'marketing_opt_in']).where('id', '=', member.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ locale: 'en', marketing_opt_in: false });

    await user.press('« Back');
    const englishHome = await user.waitFor(hasText(/welcome to your club/));
    expect(plain(englishHome)).toContain('Points: 50');
  });

  it('answers a press on an outdated menu with a fresh menu', async () => {
    const user = api.user({ id: 7100000003, first_name: 'Mina', language_code: 'en', phone: '989120000003' });
    await startSignup(user);
    await user.shareContact();
    await user.waitFor(hasText(/What should we call you/));
    await user.tapReply('Mina');
    await user.waitFor(hasText(/birthday/));
    await user.tapReply('Skip');
    await user.waitFor(hasText(/gender/));
    await user.tapReply('Skip');
    const home = await user.waitFor((m) => inlineButtons(m).includes('⭐ My points'));
    // The member switches to Persian elsewhere; the English menu is now stale.
    await database.db.updateTable('members').set({ locale: 'fa' }).where('phone', '=', '+989120000003').execute();
    await user.press('⭐ My points', { messageId: home.message_id });
    const fresh = await user.waitFor((m) => inlineButtons(m).includes('⭐ امتیازهای من'));
    expect(fresh.text).toMatch(/به باشگاه خودتان خوش آمدید/);
    expect(user.callbackAnswers.at(-1)?.text).toMatch(/قدیمی/);
    // A button whose data no menu knows (an old deploy) gets the same treatment.
    const answered = user.callbackAnswers.length;
    await user.pressData('unknown/0/0//h', { messageId: fresh.message_id });
    await expect.poll(() => user.callbackAnswers.length).toBe(answered + 1);
    expect(user.callbackAnswers.at(-1)?.text).toMatch(/قدیمی/);
  });

  it('with no DEFAULT_LOCALE the app picks the first language; one tap switches, and the choice holds through signup', async () => {
    const user = api.user({ id: 7100000004, first_name: 'Yasaman', language_code: 'en', phone: '989120000004' });
    await startSignup(user);
    expect(user.replyKeyboard()?.flat().map((b: { text: string }) => b.text)).toEqual(['📱 Share my phone number', 'فارسی']);
    await user.tapReply('فارسی');
    await user.waitFor(hasText(/به باشگاه مشتریان خوش آمدید/));
    expect(user.replyKeyboard()?.flat().map((b: { text: string }) => b.text)).toEqual(['📱 ارسال شماره موبایل من', 'English']);
    await user.shareContact();
    await user.waitFor(hasText(/شما را چه صدا کنیم/));
    await user.send('یاسمن');
    await user.waitFor(hasText(/تاریخ تولدتان چیست/));
    await user.tapReply('رد شدن');
    await user.waitFor(hasText(/جنسیت/));
    const home$ = user.waitFor((m) => inlineButtons(m).includes('⭐ امتیازهای من'));
    await user.tapReply('رد شدن');
    await home$;
    const member = await database.db.selectFrom('members').select('locale').where('phone', '=', '+989120000004').executeTakeFirstOrThrow();
    expect(member.locale).toBe('fa');
  });

  it('a member who never chose a language keeps the one chosen on the welcome screen when linking another account', async () => {
    await database.db
      .insertInto('members')
      .values({ phone: '+989120000021', first_name: 'Parvin', locale: null, referral_code: 'LINKNULL', tier_id: 1, joined_at: new Date(), last_active_at: new Date() })
      .execute();
    const user = api.user({ id: 7100000021, first_name: 'Parvin', language_code: 'en', phone: '989120000021' });
    await startSignup(user);
    await user.tapReply('فارسی');
    await user.waitFor(hasText(/به باشگاه مشتریان خوش آمدید/));
    const home = user.waitFor((m) => inlineButtons(m).includes('⭐ امتیازهای من'));
    await user.shareContact();
    await home;
    const member = await database.db.selectFrom('members').select('locale').where('phone', '=', '+989120000021').executeTakeFirstOrThrow();
    expect(member.locale).toBe('fa');
  });

  it('makes the verified owner phone an owner and keeps staff commands from others', async () => {
    const owner = api.user({ id: 7100000009, first_name: 'Owner', language_code: 'en', phone: '989129999999' });
    await startSignup(owner);
    await owner.shareContact();
    await owner.waitFor(hasText(/What should we call you/));
    await owner.tapReply('Owner');
    await owner.waitFor(hasText(/birthday/));
    await owner.tapReply('Skip');
    await owner.waitFor(hasText(/gender/));
    await owner.tapReply('Skip');
    await owner.waitFor(hasText(/registered as the club's owner/));
    await owner.send('/whoami');
    const whoami = await owner.waitFor(hasText(/Role: owner/));
    expect(plain(whoami)).toMatch(/Member since \d{1,2} [A-Z][a-z]+ 20\d\d/);
    await owner.send('/staff');
    await owner.waitFor(hasText(/Club staff[\s\S]*Owner \(\+98912\*\*\*9999\): owner/));

    const guest = api.user({ id: 7100000010, first_name: 'Guest', language_code: 'en', phone: '989120000010' });
    await guest.send('/staff');
    // A stranger is refused the staff command... (they are not even a member: signup starts next)
    await guest.waitFor(hasText(/for club staff only/));
  });

  it('a phone already registered from Bale links to the same member without a second bonus', async () => {
    const existing = await database.db
      .insertInto('members')
      .values({ phone: '+989120000020', first_name: 'Bahar', locale: 'en', referral_code: 'LINKTEST', tier_id: 1, joined_at: new Date(), last_active_at: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    // Registered from Bale: the member has a Bale account (without one it would be pre-registered).
    await database.db.insertInto('member_accounts').values({ platform: 'bale', user_id: 7100000020, member_id: existing.id, chat_id: 7100000020, username: null, blocked_at: null, created_at: new Date() }).execute();
    const user = api.user({ id: 7100000020, first_name: 'Bahar T', language_code: 'fa', phone: '989120000020' });
    await startSignup(user);
    const linked = user.waitFor(hasText(/now linked to your club membership/));
    const home = user.waitFor((m) => inlineButtons(m).includes('⭐ My points'));
    await user.shareContact();
    await Promise.all([linked, home]);
    const accounts = await database.db.selectFrom('member_accounts').select(['platform', 'member_id']).where('user_id', '=', 7100000020).where('platform', '=', 'telegram').execute();
    expect(accounts).toEqual([{ platform: 'telegram', member_id: existing.id }]);
    const bonus = await database.db.selectFrom('ledger_entries').select('id').where('member_id', '=', existing.id).execute();
    expect(bonus).toEqual([]);
  });

  it('marks a member who blocked the bot and clears the mark when they return', async () => {
    const user = api.user({ id: 7100000030, first_name: 'Kian', language_code: 'en', phone: '989120000030' });
    await startSignup(user);
    await user.shareContact();
    await user.waitFor(hasText(/What should we call you/));
    await user.tapReply('Kian');
    await user.waitFor(hasText(/birthday/));
    await user.tapReply('Skip');
    await user.waitFor(hasText(/gender/));
    await user.tapReply('Skip');
    await user.waitFor((m) => inlineButtons(m).includes('⭐ My points'));
    const blocked = async () =>
      (await database.db.selectFrom('member_accounts').select('blocked').where('user_id', '=', 7100000030).executeTakeFirstOrThrow()).blocked;

    user.block();
    // Any message the club sends on its own (a notification) now gets 403 from Telegram.
    await expect(club.bots[0]!.bot.api.sendMessage(7100000030, 'hello')).rejects.toMatchObject({ error_code: 403 });
    expect(await blocked()).toBe(true);

    user.unblock();
    await user.send('/menu');
    await user.waitFor(hasText(/Kian/));
    expect(await blocked()).toBe(false);
  });

  it('obeys 429 retry_after and still delivers every message', async () => {
    const user = api.user({ id: 7100000040, first_name: 'Laleh', language_code: 'en', phone: '989120000040' });
    api.setRateLimit(1);
    try {
      const before = api.calls.length;
      await user.send('/start');
      await user.waitFor(hasText(/Share my phone number/), 10_000);
      await user.send('typed 0912');
      await user.waitFor(hasText(/A typed number is not accepted/), 10_000);
      const limited = api.calls.slice(before).filter((c) => c.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      expect(user.messages.filter(hasText(/Share my phone number|typed number/))).toHaveLength(2);
    } finally {
      api.setRateLimit(Infinity);
    }
  });
});
