import ExcelJS from 'exceljs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

describe(`customers in: /import and walk-ins through the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let cashier: FakeUser;
  const clock = new Date('2026-11-29T08:30:00Z');
  const logged: { msg?: string; err?: { message?: string }; key?: string }[] = [];

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_import_bot' });
    await api.start();
    club = await startTestClub({ api, database, now: () => clock, env: { SIGNUP_BONUS_POINTS: '50' }, logger: pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) }) });
    owner = api.user({ id: 7970000001, first_name: 'Owner', language_code: 'en' });
    cashier = api.user({ id: 7970000002, first_name: 'Sara', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129970001'], now: clock };
    await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129970001', firstName: 'Owner', locale: 'en' }, policy);
    const c = await joinClub(database.db, { platform: 'telegram', userId: cashier.id, chatId: cashier.id }, { phone: '+989129970002', firstName: 'Sara', locale: 'en' }, policy);
    await database.db.insertInto('staff').values({ member_id: c.member.id, role: 'cashier', branch_id: 1, added_by: null, created_at: clock }).execute();
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  async function customersFile() {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Customers');
    sheet.addRow(['شماره موبایل', 'نام', 'نام خانوادگی', 'امتیاز', 'اعتبار (تومان)', 'رنگ']);
    sheet.addRow(['۰۹۱۲۹۹۷۰۰۱۰', 'Parisa', 'Rad', 800, '25,000', 'red']);
    sheet.addRow(['09129970011', 'Kian', '', 0, '', '']);
    sheet.addRow(['0912', 'Broken', '', 5, '', '']);
    sheet.addRow(['09129970012', 'Dara', '', 'many', '', '']);
    return Buffer.from(await book.xlsx.writeBuffer());
  }

  it('a cashier cannot import', async () => {
    await cashier.send('/import');
    await cashier.waitFor(hasText(/owner/i));
  });

  it('upload → progress → preview and problems file → signup bonus on → confirm → done; the same file again changes nothing', async () => {
    const bytes = await customersFile();
    await owner.send('/import');
    await owner.waitFor(hasText(/Send the customer list/));
    const report = owner.waitFor((m) => m.document === true);
    const preview = owner.waitFor(hasText(/Customers file/));
    await owner.sendDocument(bytes, 'customers.xlsx');
    const file = (await report).documentBytes!.toString('utf8');
    expect(file.split('\n').filter(Boolean)).toEqual([
      '\ufeffLine,Column,Value,Problem',
      '1,رنگ,,Unknown column: ignored',
      '4,Phone,0912,Not a phone number',
      '5,Points,many,Points must be a whole number',
    ]);
    const shown = await preview;
    expect(plain(shown)).toContain('Customers file: 4 rows: 2 valid, 2 with problems.');
    expect(plain(shown)).toContain('New customers: 2; already members: 0');
    // The credit column was in Toman: the preview says what it read in both units.
    expect(plain(shown)).toContain('Opening credit on these lines: 25,000 Toman (250,000 Rials).');
    expect(plain(shown)).toContain('Columns not used: رنگ');
    // The progress message ends with the count of lines checked.
    expect(owner.messages.some((m) => plain(m) === 'Checked 4 lines.')).toBe(true);
    expect(inlineButtons(shown).map((b) => b.text)).toEqual(['✅ Import', '🎁 Signup bonus when they join: off', '✖️ Cancel']);
    expect(await database.db.selectFrom('members').select('id').where('phone', '=', '+989129970010').executeTakeFirst()).toBeUndefined();

    await owner.press('🎁 Signup bonus when they join: off');
    await owner.waitFor((m) => inlineButtons(m).some((b) => b.text === '🎁 Signup bonus when they join: on'));
    const done = owner.waitFor(hasText(/^Done\. New customers/));
    await owner.press('✅ Import');
    expect(plain(await done)).toBe('Done. New customers: 2; profiles completed: 0; unchanged: 0; opening balances added: 2.\nSkipped 2 lines with problems: see the file.');
    await owner.waitFor((m) => m.document === true && /import-result|Problems found/.test(plain(m)));

    // Again, the same file: nothing changes.
    await owner.send('/import');
    await owner.waitFor(hasText(/Send the customer list/));
    const second = owner.waitFor(hasText(/Customers file/));
    await owner.sendDocument(bytes, 'customers.xlsx');
    expect(plain(await second)).toContain('New customers: 0; already members: 2');
    const again = owner.waitFor(hasText(/^Done\. New customers/));
    await owner.press('✅ Import');
    expect(plain(await again)).toMatch(/^Done\. New customers: 0; profiles completed: 0; unchanged: 2; opening balances added: 0\./);
    const parisa = await database.db.selectFrom('members').selectAll().where('phone', '=', '+989129970010').executeTakeFirstOrThrow();
    expect(parisa).toMatchObject({ first_name: 'Parisa', points_balance: 800, credit_balance: 250_000, join_bonus_due: true });
  });

  it('the imported customer opens the bot, shares their phone, and sees their balance with the bonus', async () => {
    const parisa = api.user({ id: 7970000010, first_name: 'P', language_code: 'en', phone: '989129970010' });
    await parisa.send('/start');
    await parisa.waitFor(hasText(/Share my phone number/));
    const welcome = parisa.waitFor(hasText(/already a customer/));
    await parisa.shareContact();
    expect(plain(await welcome)).toBe(
      'Welcome, Parisa! You were already a customer of ours: your points and credit are here, with 50 points as a welcome gift. Balance: 850 points; credit: 25,000 Toman (250,000 Rials).',
    );
    const account = await database.db.selectFrom('member_accounts').innerJoin('members', 'members.id', 'member_accounts.member_id').select(['members.phone', 'members.points_balance']).where('user_id', '=', parisa.id).executeTakeFirstOrThrow();
    expect(account).toEqual({ phone: '+989129970010', points_balance: 850 });
    expect(await ledgerViolations(database.db)).toEqual([]);
  });

  it('a cashier registers a walk-in by phone, records the purchase at once, and the points wait for the customer', async () => {
    await cashier.send('/member 0912 997 0050');
    const notFound = await cashier.waitFor(hasText(/No member was found/));
    await cashier.press('➕ Register this customer', { messageId: notFound.message_id });
    await cashier.waitFor(hasText(/first name/));
    const invitation = cashier.waitFor((m) => m.photo === true);
    const view = cashier.waitFor(hasText(/Member \d+: Bahar/));
    await cashier.send('Bahar');
    expect(plain(await invitation)).toContain('https://t.me/bashgah_import_bot?start=walkin');
    expect(plain(await invitation)).toContain('0912 997 0050');
    await cashier.press('🧾 Record purchase', { messageId: (await view).message_id });
    await cashier.waitFor(hasText(/What is the amount in Toman/));
    await cashier.send('200000');
    await cashier.waitFor(hasText(/Receipt number/));
    await cashier.send('W-1');
    await cashier.waitFor(hasText(/Points to earn/));
    await cashier.press('✅ Confirm');
    await cashier.waitFor(hasText(/Purchase #\d+ recorded/));
    const waiting = await database.db.selectFrom('members').select(['id', 'points_balance', 'join_bonus_due']).where('phone', '=', '+989129970050').executeTakeFirstOrThrow();
    expect(waiting.points_balance).toBe(200);
    expect(await database.db.selectFrom('member_accounts').select('user_id').where('member_id', '=', waiting.id).execute()).toEqual([]);

    // Bahar joins later, through the invitation.
    const bahar = api.user({ id: 7970000050, first_name: 'B', language_code: 'en', phone: '989129970050' });
    await bahar.send('/start walkin');
    await bahar.waitFor(hasText(/Share my phone number/));
    const welcome = bahar.waitFor(hasText(/already a customer/));
    await bahar.shareContact();
    expect(plain(await welcome)).toContain('with 50 points as a welcome gift. Balance: 250 points');
  });

  it('a damaged XLSX: the owner is told it could not be read, the log keeps why', async () => {
    const whole = await customersFile();
    await owner.send('/import');
    await owner.waitFor(hasText(/Send the customer list/));
    const refused = owner.waitFor(hasText(/could not be read/));
    // Cut short: it starts as a ZIP, its directory is gone.
    await owner.sendDocument(whole.subarray(0, 2000), 'customers.xlsx');
    expect(plain(await refused)).toContain('This file could not be read (near line 0)');
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'import file could not be read', key: 'import.file_unreadable', err: expect.objectContaining({ message: expect.stringMatching(/ZIP/) }) }));
  });
});
