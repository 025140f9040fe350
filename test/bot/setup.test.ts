import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';
import { decodeQr } from '../support/qr.ts';
import { createCanvas } from '@napi-rs/canvas';
import { PNG } from 'pngjs';
import { verifyCardToken } from '../../src/lib/card-token.ts';

/**
 * The first run, as a new café owner lives it: /start, join, a setup with buttons, a cashier
 * invited by link, and purchases typed the way Iranian cashiers type them.
 */
describe(`first-run setup and the till in Toman (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let cashier: FakeUser;
  let member: FakeUser;
  let memberId: number;

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'naranj_club_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09121110000' } });
    owner = api.user({ id: 7900000001, first_name: 'مریم', language_code: 'fa', phone: '989121110000' });
    cashier = api.user({ id: 7900000002, first_name: 'علی', language_code: 'fa', phone: '989121110002' });
    member = api.user({ id: 7900000003, first_name: 'نگار', language_code: 'fa' });
    const joined = await joinClub(
      database.db,
      { platform: 'telegram', userId: member.id, chatId: member.id },
      { phone: '+989121110003', firstName: 'نگار', locale: 'fa' },
      { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: [], now: new Date() },
    );
    memberId = joined.member.id;
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

  async function joinByBot(user: FakeUser, start: string) {
    await user.send(start);
    await user.waitFor(hasText(/ارسال شماره موبایل من/));
    await user.shareContact();
    await user.waitFor(hasText(/چه صدا کنیم/));
    await user.tapReply(user.replyKeyboard()![0]![0].text ?? user.replyKeyboard()![0]![0]);
    await user.waitFor(hasText(/تاریخ تولدتان/));
    await user.tapReply('رد شدن');
    await user.waitFor(hasText(/جنسیت/));
  }

  /** The cashier scans the member's card and records an amount typed as given; returns the confirmation. */
  async function recordAtTill(amount: string) {
    await member.send('/card');
    const card = await member.waitFor((m) => m.photo === true);
    await cashier.send(`/start ${decodeQr(card.photoBytes!).split('start=')[1]!}`);
    const view = await cashier.waitFor(hasText(/عضو [۰-۹]+/));
    await cashier.press('🧾 ثبت خرید', { messageId: view.message_id });
    await cashier.waitFor(hasText(/مبلغ به تومان چقدر است/));
    await cashier.send(amount);
  }

  it('an owner sets up the club from the first /start with buttons, and a cashier joins by an invite link and records Toman', async () => {
    await joinByBot(owner, '/start');
    const intro = owner.waitFor(hasText(/باشگاهتان را راه بیندازیم/));
    const askName = owner.waitFor(hasText(/نام باشگاه \(یا فروشگاه\) شما چیست/));
    await owner.tapReply('رد شدن');
    await owner.waitFor(hasText(/مالک/));
    await intro;
    await askName;
    await owner.send('کافه نارنج');
    await owner.waitFor(hasText(/نام اولین شعبهٔ شما/));
    expect(owner.replyKeyboard()!.flat().map((b: { text: string }) => b.text)).toContain('همان «شعبهٔ مرکزی»');
    await owner.send('ونک');
    await owner.waitFor(hasText(/نشانی شعبه/));
    await owner.send('خیابان ونک، پلاک ۱۲');
    await owner.waitFor(hasText(/به چه واحدی/));
    await owner.tapReply('تومان');
    await owner.waitFor(hasText(/اعضا چطور امتیاز بگیرند/));
    await owner.tapReply('هر ۱۰٬۰۰۰ تومان ۱ امتیاز');
    await owner.waitFor(hasText(/اولین صندوقدارتان را دعوت کنید/));
    const linkMessage = owner.waitFor(hasText(/این لینک را برای صندوقدارتان بفرستید/));
    const done = owner.waitFor(hasText(/باشگاه شما آماده است/));
    await owner.tapReply('🔗 ساختن لینک دعوت');
    const link = /https:\/\/t\.me\/naranj_club_bot\?start=(inv_[\w-]+)/.exec(plain(await linkMessage))![1]!;
    await done;

    const settings = await database.db.selectFrom('club_settings').select(['key', 'value']).where('key', 'in', ['club', 'loyalty', 'setup']).execute();
    const byKey = Object.fromEntries(settings.map((s) => [s.key, s.value as Record<string, unknown>]));
    expect(byKey.club).toMatchObject({ name: 'کافه نارنج' });
    expect(byKey.loyalty).toMatchObject({ moneyUnit: 'toman' });
    expect(byKey.setup?.doneAt).toEqual(expect.any(String));
    expect(await database.db.selectFrom('branches').select(['name', 'address']).where('id', '=', 1).executeTakeFirstOrThrow()).toEqual({ name: 'ونک', address: 'خیابان ونک، پلاک ۱۲' });
    expect((await database.db.selectFrom('earning_rules').select('rials_per_point').where('branch_id', 'is', null).executeTakeFirstOrThrow()).rials_per_point).toBe(100_000);

    // A newcomer sees the club's name in the welcome, opens the invite link, joins, and is a cashier.
    const welcome = cashier.waitFor(hasText(/به باشگاه مشتریان کافه نارنج خوش آمدید/));
    const ownerTold = owner.waitFor(hasText(/علی لینک دعوت شما را باز کرد/));
    await joinByBot(cashier, `/start ${link}`);
    await welcome;
    const accepted = cashier.waitFor(hasText(/اکنون صندوقدار باشگاه در ونک هستید/));
    await cashier.tapReply('رد شدن');
    await accepted;
    await ownerTold;
    const cashierRow = await database.db.selectFrom('staff').innerJoin('members', 'members.id', 'staff.member_id').select(['staff.role', 'staff.branch_id']).where('members.phone', '=', '+989121110002').executeTakeFirstOrThrow();
    expect(cashierRow).toEqual({ role: 'cashier', branch_id: 1 });
    const audit = await database.db.selectFrom('audit_log').select('action').where('action', 'in', ['staff.invite', 'staff.invite_accept']).execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['staff.invite', 'staff.invite_accept']);
    // The link works once.
    const other = api.user({ id: 7900000009, first_name: 'Other', language_code: 'fa' });
    await joinClub(database.db, { platform: 'telegram', userId: other.id, chatId: other.id }, { phone: '+989121110009', firstName: 'Other', locale: 'fa' }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: new Date() });
    await other.send(`/start ${link}`);
    await other.waitFor(hasText(/قبلاً استفاده شده است/));

    // The cashier records ۱۲۰٬۰۰۰ تومان and ۲۸۰،۰۰۰ (Toman, with the Persian comma).
    for (const [typed, shown, points] of [
      ['۱۲۰٬۰۰۰ تومان', '۱۲۰٬۰۰۰ تومان (۱٬۲۰۰٬۰۰۰ ریال)', '۱۲'],
      ['۲۸۰،۰۰۰', '۲۸۰٬۰۰۰ تومان (۲٬۸۰۰٬۰۰۰ ریال)', '۲۸'],
    ] as const) {
      await recordAtTill(typed);
      await cashier.waitFor(hasText(/شمارهٔ فاکتور/));
      await cashier.tapReply('رد شدن');
      const preview = await cashier.waitFor(hasText(/امتیاز/));
      expect(plain(preview)).toContain(shown);
      await cashier.press('✅ تأیید');
      const recorded = await cashier.waitFor(hasText(new RegExp(`ثبت شد: ${points}\\+ امتیاز برای نگار`)));
      expect(inlineButtons(recorded).map((b) => b.text)).toEqual(['➡️ مشتری بعدی', '🏠 منوی اصلی']);
    }
    const purchases = await database.db.selectFrom('purchases').select(['amount_rials', 'points_earned']).where('member_id', '=', memberId).orderBy('id').execute();
    expect(purchases).toEqual([
      { amount_rials: 1_200_000, points_earned: 12 },
      { amount_rials: 2_800_000, points_earned: 28 },
    ]);
    const ledger = await database.db.selectFrom('ledger_entries').select('amount').where('member_id', '=', memberId).where('reason', '=', 'purchase').orderBy('id').execute();
    expect(ledger.map((l) => l.amount)).toEqual([12, 28]);
  });

  it('asks "did you mean …?" for an amount ten times what this branch usually sees', async () => {
    const cashierId = (await database.db.selectFrom('members').select('id').where('phone', '=', '+989121110002').executeTakeFirstOrThrow()).id;
    for (let i = 0; i < 4; i++) {
      await recordPurchase(database.db, { memberId, branchId: 1, cashierMemberId: cashierId, amountRials: 1_500_000, operationId: `usual-${i}` }, { now: new Date(), timeZone: 'Asia/Tehran' });
    }
    // The usual amount here is now about 1,500,000 Rials; 1500000 typed in Toman is 15,000,000 Rials.
    await recordAtTill('1500000');
    await cashier.waitFor(hasText(/حدود ده برابرِ مبلغ معمول این شعبه است. منظورتان ۱۵۰٬۰۰۰ تومان \(۱٬۵۰۰٬۰۰۰ ریال\) بود/));
    await cashier.tapReply('بله: ۱۵۰٬۰۰۰ تومان (۱٬۵۰۰٬۰۰۰ ریال)');
    await cashier.waitFor(hasText(/شمارهٔ فاکتور/));
    await cashier.tapReply('رد شدن');
    const preview = await cashier.waitFor(hasText(/امتیاز/));
    expect(plain(preview)).toContain('۱۵۰٬۰۰۰ تومان (۱٬۵۰۰٬۰۰۰ ریال)');
    await cashier.press('✅ تأیید');
    await cashier.waitFor(hasText(/ثبت شد: ۱۵\+ امتیاز/));
  });

  it('club settings reach "Contact us" and the branded member card (logo, name, number, a QR that still scans)', async () => {
    await owner.press('⚙️ تنظیمات باشگاه');
    await owner.waitFor(hasText(/تنظیمات باشگاه[\s\S]*نام: کافه نارنج[\s\S]*📍 ونک: خیابان ونک، پلاک ۱۲/));
    for (const [button, answer] of [
      ['📞 تلفن', '021-88001122'],
      ['🕘 ساعت کاری', 'هر روز ۸ تا ۲۳'],
      ['📷 اینستاگرام', '@cafe.naranj'],
    ] as const) {
      await owner.press(button);
      await owner.waitFor(hasText(/[?؟]$/));
      const saved = owner.waitFor(hasText(/ذخیره شد/));
      const screen = owner.waitFor(hasText(/تنظیمات باشگاه/));
      await owner.send(answer);
      await Promise.all([saved, screen]);
    }
    // A red square as the logo.
    const canvas = createCanvas(100, 100);
    const draw = canvas.getContext('2d');
    draw.fillStyle = '#ff0000';
    draw.fillRect(0, 0, 100, 100);
    await owner.press('🖼 لوگو');
    await owner.waitFor(hasText(/لوگو را به صورت عکس بفرستید/));
    const logoSaved = owner.waitFor(hasText(/لوگو: دارد/));
    await owner.sendPhoto(undefined, await canvas.encode('png'));
    await logoSaved;

    // "Contact us" shows how to reach the club.
    await member.send('/menu');
    const home = await member.waitFor((m) => inlineButtons(m).some((b) => b.text === '💬 تماس با ما'));
    await member.press('💬 تماس با ما', { messageId: home.message_id });
    const contact = await member.waitFor(hasText(/کافه نارنج/));
    expect(plain(contact)).toContain('📞 021-88001122');
    expect(plain(contact)).toContain('📍 ونک: خیابان ونک، پلاک ۱۲');
    expect(plain(contact)).toContain('🕘 هر روز ۸ تا ۲۳');
    expect(plain(contact)).toMatch(/اینستاگرام: \u200e?@cafe\.naranj/);
    await member.press('🏠 منوی اصلی', { messageId: contact.message_id });
    await member.waitFor((m) => m.message_id === contact.message_id && inlineButtons(m).some((b) => b.text === '⭐ امتیازهای من'));
    await member.press('⭐ امتیازهای من', { messageId: contact.message_id });
    // What points are worth and how they are earned, in the club's unit (1,000 Rials of credit a point).
    const points = await member.waitFor(hasText(/امتیاز = /));
    expect(plain(points)).toMatch(/💰 [۰-۹٬]+ امتیاز = [۰-۹٬]+ تومان اعتبار/);
    expect(plain(points)).toContain('🛍 امتیاز گرفتن از خرید: هر ۱۰٬۰۰۰ تومان ۱ امتیاز');

    // The card: a branded image whose QR still decodes to the member's signed card link.
    await member.send('/card');
    const card = await member.waitFor((m) => m.photo === true);
    const link = decodeQr(card.photoBytes!);
    expect(link).toMatch(/^https:\/\/t\.me\/naranj_club_bot\?start=c_/);
    const verified = verifyCardToken(link.split('start=c_')[1]!, club.deps.cardSecret, new Date());
    expect(verified).toMatchObject({ ok: true, memberId });
    const image = PNG.sync.read(card.photoBytes!);
    expect(image.width).toBeGreaterThan(900);
    // The logo sits at the band's right end (Persian reads from the right).
    const at = (x: number, y: number) => Array.from(image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 3));
    expect(at(image.width - 84, 60)).toEqual([255, 0, 0]);
  });
});
