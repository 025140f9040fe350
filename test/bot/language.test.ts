import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { credit } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import { addStaff } from '../../src/club/staff.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { sendDueSatisfactionChecks } from '../../src/jobs/feedback.ts';
import { warnExpiringPoints } from '../../src/jobs/nightly.ts';
import { startTestClub, TEST_TOKEN } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type BotMessage, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

const DAY = 86_400_000;
const LATIN_WORD = /[A-Za-z]{3,}/;
const replyTexts = (user: FakeUser) => (user.replyKeyboard() ?? []).flat().map((b: { text: string }) => b.text);
const buttonTexts = (m: BotMessage | undefined) => inlineButtons(m).map((b) => b.text);

/**
 * Many Iranian customers and cashiers run Telegram in English. Everyone here has an English app;
 * what the club says must follow the language they chose, never the app's.
 */
describe(`the member's language everywhere (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let bale: FakeBotApi;
  let club: RunningClub;
  const clock = new Date('2026-11-22T08:00:00Z');
  let owner: FakeUser;
  let cashier: FakeUser;
  let cashierOnBale: FakeUser;
  let mina: FakeUser;
  let minaId: number;

  const start = () =>
    startTestClub({
      api,
      database,
      env: { OWNER_PHONES: '09128100001', DEFAULT_LOCALE: 'fa', BALE_BOT_TOKEN: TEST_TOKEN, BALE_API_ROOT: bale.apiRoot },
      now: () => clock,
    });

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_language_bot' });
    bale = new FakeBotApi({ platform: 'bale', botUsername: 'bashgah_language_bale_bot', unsupported: ['setMyCommands'] });
    await api.start();
    await bale.start();
    club = await start();
    owner = api.user({ id: 7810000001, first_name: 'Owner', language_code: 'en' });
    cashier = api.user({ id: 7810000002, first_name: 'Kaveh', language_code: 'en' });
    cashierOnBale = bale.user({ id: 8810000002, first_name: 'Kaveh', language_code: 'en' });
    mina = api.user({ id: 7810000003, first_name: 'Mina', language_code: 'en' });
    const policy = { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: ['+989128100001'], now: clock };
    const join = (platform: 'telegram' | 'bale', user: FakeUser, phone: string, firstName: string, locale: 'fa' | 'en') =>
      joinClub(database.db, { platform, userId: user.id, chatId: user.id }, { phone, firstName, locale }, policy);
    const ownerId = (await join('telegram', owner, '+989128100001', 'مالک', 'fa')).member.id;
    await join('telegram', cashier, '+989128100002', 'کاوه', 'fa');
    await join('bale', cashierOnBale, '+989128100002', 'کاوه', 'fa');
    await addStaff(database.db, { memberId: ownerId, role: 'owner' }, '+989128100002', 'cashier', 1, clock);
    // Mina joined in English; she switches the club to Persian herself (below).
    minaId = (await join('telegram', mina, '+989128100003', 'مینا', 'en')).member.id;
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await bale?.stop();
    await database?.close();
  });
  afterEach(() => {
    const refused = [...api.calls, ...bale.calls].filter((c) => c.status === 400 && !c.description?.includes('message is not modified'));
    expect(refused).toEqual([]);
  });

  it('a newcomer with an English app is welcomed in Persian with one tap to English; the choice holds through signup and is saved', async () => {
    const neda = api.user({ id: 7810000010, first_name: 'Neda', language_code: 'en', phone: '989128100010' });
    await neda.send('/start');
    const welcome = await neda.waitFor(hasText(/به باشگاه مشتریان خوش آمدید/));
    expect(plain(welcome)).not.toMatch(LATIN_WORD);
    expect(replyTexts(neda)).toEqual(['📱 ارسال شماره موبایل من', 'English']);
    await neda.shareContact();
    await neda.waitFor(hasText(/شما را چه صدا کنیم/));
    await neda.send('ندا');
    await neda.waitFor(hasText(/تاریخ تولدتان چیست/));
    await neda.tapReply('رد شدن');
    await neda.waitFor(hasText(/جنسیت شما/));
    const home$ = neda.waitFor((m) => buttonTexts(m).includes('⭐ امتیازهای من'));
    await neda.tapReply('رد شدن');
    await home$;
    expect(await localeOf('+989128100010')).toBe('fa');

    const arash = api.user({ id: 7810000011, first_name: 'Arash', language_code: 'en', phone: '989128100011' });
    await arash.send('/start');
    await arash.waitFor(hasText(/به باشگاه مشتریان خوش آمدید/));
    await arash.tapReply('English');
    await arash.waitFor(hasText(/Welcome to Bashgah/));
    expect(replyTexts(arash)).toEqual(['📱 Share my phone number', 'فارسی']);
    await arash.shareContact();
    await arash.waitFor(hasText(/What should we call you/));
    await arash.tapReply('Arash');
    await arash.waitFor(hasText(/When is your birthday/));
    await arash.tapReply('Skip');
    await arash.waitFor(hasText(/your gender/));
    const done$ = arash.waitFor(hasText(/Welcome to the club, Arash/));
    const arashHome$ = arash.waitFor((m) => buttonTexts(m).includes('⭐ My points'));
    await arash.tapReply('Skip');
    await done$;
    await arashHome$;
    expect(await localeOf('+989128100011')).toBe('en');
    // And the saved choice is what he hears from then on, whatever the club's default.
    await arash.send('/menu');
    await arash.waitFor((m) => buttonTexts(m).includes('💳 My card') && /Arash/.test(plain(m)));
  });

  it('a member who chose فارسی in Settings hears Persian in every conversation; the manager is alerted and answers in Persian', async () => {
    await mina.send('/menu');
    const home = await mina.waitFor((m) => buttonTexts(m).includes('⚙️ Settings'));
    await mina.press('⚙️ Settings', { messageId: home.message_id });
    await mina.waitFor(hasText(/Language: English/));
    await mina.press('فارسی');
    await mina.waitFor(hasText(/زبان: فارسی/));
    expect(await localeOf('+989128100003')).toBe('fa');
    await mina.press('» بازگشت');
    await mina.waitFor((m) => buttonTexts(m).includes('💬 تماس با ما'));

    // «💬 تماس با ما» → «😞 شکایت», the issue's own steps.
    await mina.press('💬 تماس با ما');
    await mina.waitFor(hasText(/مدیر همهٔ پیام‌ها را می‌خواند/));
    await mina.press('😞 شکایت');
    const category = await mina.waitFor(hasText(/شکایت دربارهٔ چیست/));
    expect(buttonTexts(category)).toContain('کارکنان');
    expect(buttonTexts(category).join(' ')).not.toMatch(LATIN_WORD);
    await mina.press('کارکنان');
    await mina.waitFor(hasText(/در یک پیام بنویسید/));
    await mina.send('صف خیلی طولانی بود');
    await mina.waitFor(hasText(/عکس هم بفرستید/));
    expect(replyTexts(mina)).toEqual(['رد شدن', '✖️ انصراف']);
    // Staff alert: the owner's app is English too, his saved language Persian.
    const alert$ = owner.waitFor(hasText(/📩 شکایت تازه شمارهٔ [۰-۹]+ \(کارکنان\) از مینا:\nصف خیلی طولانی بود/));
    await mina.tapReply('رد شدن');
    await mina.waitFor(hasText(/شمارهٔ پیگیری شما [۰-۹]+ است/));
    const alert = await alert$;

    await owner.press('↩️ پاسخ', { messageId: alert.message_id });
    await owner.waitFor(hasText(/پاسخ شما به تیکت شمارهٔ [۰-۹]+:/));
    const reply$ = mina.waitFor(hasText(/💬 پاسخ به تیکت شمارهٔ [۰-۹]+ شما:\nپیگیری می‌کنیم/));
    await owner.send('پیگیری می‌کنیم');
    await owner.waitFor(hasText(/✅ فرستاده شد/));
    const reply = await reply$;
    expect(buttonTexts(reply)).toEqual(['↩️ جواب']);
    await mina.press('↩️ جواب', { messageId: reply.message_id });
    await mina.waitFor(hasText(/جواب شما دربارهٔ تیکت شمارهٔ/));
    const answered$ = owner.waitFor(hasText(/مینا در تیکت شمارهٔ [۰-۹]+ جواب داد:\nممنون/));
    await mina.send('ممنون');
    await mina.waitFor(hasText(/✅ فرستاده شد/));
    await answered$;

    // A profile edit.
    await mina.send('/profile');
    await mina.waitFor(hasText(/پروفایل من/));
    await mina.press(/✏️ جنسیت/);
    await mina.waitFor(hasText(/جنسیت شما؟/));
    expect(replyTexts(mina)).toEqual(['زن', 'مرد', '✖️ انصراف']);
    await mina.tapReply('زن');
    await mina.waitFor(hasText(/جنسیت: زن/));
  });

  it('the till speaks Persian to a cashier with an English app; the receipt and the approval reach the member in Persian', async () => {
    await cashier.send(`/member ${minaId}`);
    await cashier.waitFor(hasText(/عضو [۰-۹]+: مینا/));
    await cashier.press('🧾 ثبت خرید');
    await cashier.waitFor(hasText(/خرید برای مینا. مبلغ به تومان چقدر است/));
    await cashier.send('50000');
    await cashier.waitFor(hasText(/شمارهٔ فاکتور؟/));
    await cashier.tapReply('رد شدن');
    await cashier.waitFor(hasText(/امتیاز این خرید: [۰-۹]+/));
    const receipt$ = mina.waitFor(hasText(/🧾 [۰-۹]+\+ امتیاز برای خرید ۵۰٬۰۰۰ تومان \(۵۰۰٬۰۰۰ ریال\) در شعبهٔ مرکزی/));
    await cashier.press('✅ تأیید');
    await cashier.waitFor(hasText(/✅ خرید شمارهٔ [۰-۹]+ ثبت شد/));
    const receipt = await receipt$;
    expect(buttonTexts(receipt)).toEqual(['⚠️ این خرید من نبود']);

    await cashier.send(`/member ${minaId}`);
    await cashier.waitFor(hasText(/عضو [۰-۹]+: مینا/));
    await cashier.press('⭐ خرج امتیاز');
    await cashier.waitFor(hasText(/مینا چند امتیاز خرج می‌کند/));
    const asked$ = mina.waitFor(hasText(/خرج کردن ۱۰ امتیاز در شعبهٔ مرکزی را تأیید می‌کنید/));
    await cashier.send('10');
    await cashier.waitFor(hasText(/از مینا خواسته شد خرج ۱۰ امتیاز را تأیید کند/));
    const asked = await asked$;
    const approved$ = cashier.waitFor(hasText(/✅ مینا تأیید کرد: ۱۰ امتیاز خرج شد/));
    await mina.press('✅ تأیید', { messageId: asked.message_id });
    await mina.waitFor(hasText(/خرج ۱۰ امتیاز را تأیید کردید/));
    await approved$;
  });

  it('reminders, the visit question, its comment and campaign progress come in the saved language', async () => {
    // "How was your visit?" two hours after the purchase above, then a low score and a comment.
    const question$ = mina.waitFor(hasText(/مراجعهٔ شما به شعبهٔ مرکزی چطور بود/));
    expect(await sendDueSatisfactionChecks(club.deps, new Date(clock.getTime() + 121 * 60_000))).toBe(1);
    const question = await question$;
    const low$ = owner.waitFor(hasText(/⚠️ نمرهٔ پایین ۲⭐ از مینا/));
    await mina.press('۲⭐', { messageId: question.message_id });
    await mina.waitFor(hasText(/متأسفیم که فقط ۲⭐ بود/));
    await low$;
    await mina.press('✍️ افزودن نظر');
    await mina.waitFor(hasText(/نظر شما \(اختیاری/));
    await mina.send('کارت‌خوان خراب بود');
    await mina.waitFor(hasText(/سپاسگزاریم، ثبت شد/));

    // Points about to expire.
    await database.db.transaction().execute((trx) =>
      credit(trx, { memberId: minaId, currency: 'points', amount: 30, kind: 'earn', reason: 'test', idempotencyKey: `lang:${minaId}`, expiresAt: new Date(clock.getTime() + 3 * DAY), at: clock }),
    );
    const warning$ = mina.waitFor(hasText(/⏳ ۳۰ امتیاز شما تا ۴ آذر ۱۴۰۵ معتبر است/));
    expect(await warnExpiringPoints(club.deps, clock)).toBeGreaterThanOrEqual(1);
    const warning = await warning$;
    expect(buttonTexts(warning)).toEqual(['🎁 جایزه‌ها']);

    // A campaign: the owner's conversation and its progress report, in Persian.
    await owner.send('/broadcast');
    await owner.waitFor(hasText(/این پیام به چه کسانی برسد/));
    await owner.press('👥 همهٔ اعضا');
    await owner.waitFor(hasText(/پیام را بفرستید/));
    await owner.send('سلام {name}، جشن یلدا!');
    await owner.waitFor(hasText(/دکمه‌ای زیر پیام اضافه شود/));
    const confirm$ = owner.waitFor(hasText(/برای [۰-۹]+ عضو فرستاده شود/));
    await owner.press('بدون دکمه');
    await confirm$;
    const inbox$ = mina.waitFor(hasText(/سلام مینا، جشن یلدا!/));
    const done$ = owner.waitFor(hasText(/✅ کمپین شمارهٔ [۰-۹]+ تمام شد.\nفرستاده: [۰-۹]+/), 15_000);
    await owner.press('🚀 ارسال اکنون');
    await owner.waitFor(hasText(/🚀 کمپین شمارهٔ [۰-۹]+/));
    await inbox$;
    await done$;
  });

  it('after a restart mid-conversation the member is still answered in Persian', async () => {
    await mina.send('/menu');
    const home = await mina.waitFor((m) => buttonTexts(m).includes('💬 تماس با ما'));
    await mina.press('💬 تماس با ما', { messageId: home.message_id });
    await mina.waitFor(hasText(/مدیر همهٔ پیام‌ها را می‌خواند/));
    await mina.press('💡 پیشنهاد');
    await mina.waitFor(hasText(/پیشنهاد دربارهٔ چیست/));
    await mina.press('خدمات');
    await mina.waitFor(hasText(/در یک پیام بنویسید/));
    await club.stop();
    club = await start();
    await mina.send('کارت‌خوان دوم بگذارید');
    await mina.waitFor(hasText(/عکس هم بفرستید/));
    await mina.send('/cancel');
    await mina.waitFor(hasText(/لغو شد. چیزی تغییر نکرد/));
  });

  it('a language changed in another chat is followed mid-conversation, and answers typed from the old keyboard still count', async () => {
    await cashier.send(`/member ${minaId}`);
    await cashier.waitFor(hasText(/عضو [۰-۹]+: مینا/));
    await cashier.press('🧾 ثبت خرید');
    await cashier.waitFor(hasText(/مبلغ به تومان چقدر است/));
    await cashier.send('20000');
    await cashier.waitFor(hasText(/شمارهٔ فاکتور؟/));
    await cashier.tapReply('رد شدن');
    const preview = await cashier.waitFor((m) => buttonTexts(m).includes('✅ تأیید'));

    // The same cashier on Bale switches the club to English.
    await cashierOnBale.send('/menu');
    const baleHome = await cashierOnBale.waitFor((m) => buttonTexts(m).includes('⚙️ تنظیمات'));
    await cashierOnBale.press('⚙️ تنظیمات', { messageId: baleHome.message_id });
    await cashierOnBale.waitFor(hasText(/زبان: فارسی/));
    await cashierOnBale.press('English');
    await cashierOnBale.waitFor(hasText(/Language: English/));

    // Back on Telegram, the Persian preview's button finishes the purchase, now in English; the
    // receipt number skipped with «رد شدن» before the switch still counts as skipped.
    const receipt$ = mina.waitFor(hasText(/امتیاز برای خرید ۲۰٬۰۰۰ تومان \(۲۰۰٬۰۰۰ ریال\)/));
    await cashier.press('✅ تأیید', { messageId: preview.message_id });
    await cashier.waitFor(hasText(/✅ Purchase #\d+ recorded: \+\d+ points for مینا/));
    await receipt$;
    const purchase = await database.db.selectFrom('purchases').select(['amount_rials', 'receipt_no']).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(purchase).toEqual({ amount_rials: 200_000, receipt_no: null });
  });

  async function localeOf(phone: string) {
    return (await database.db.selectFrom('members').select('locale').where('phone', '=', phone).executeTakeFirstOrThrow()).locale;
  }
});
