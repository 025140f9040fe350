import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchHeader } from '../../src/club/import/columns.ts';
import { applyImport, previewImport } from '../../src/club/import/imports.ts';
import { RowValidator, parseDay } from '../../src/club/import/validate.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub, registerWalkIn } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const TZ = 'Asia/Tehran';
// Sunday 8 Azar 1405, noon in Tehran.
const now = new Date('2026-11-29T08:30:00Z');
const env = { now, timeZone: TZ, pointsValidityDays: 365 };
const tiers = [
  { id: 1, code: 'bronze', name_fa: 'برنزی', name_en: 'Bronze' },
  { id: 3, code: 'gold', name_fa: 'طلایی', name_en: 'Gold' },
];
const venv = { now, timeZone: TZ, moneyUnit: 'toman' as const, tiers, branches: [{ id: 1, name: 'Central' }] };
const row = (line: number, ...cells: string[]) => ({ line, cells });

describe('import columns and lines', () => {
  it('matches Persian and English headers, reads units, and reports unknown columns', () => {
    const fa = matchHeader(['شماره موبایل', 'نام', 'نام خانوادگی', 'تاريخ تولد', 'جنسیت', 'اعتبار (ریال)', 'امتیاز', 'سطح', 'رنگ مورد علاقه']);
    expect(fa.kind).toBe('members');
    expect(fa.columns).toEqual({ phone: 0, first_name: 1, last_name: 2, birth_date: 3, gender: 4, credit: 5, points: 6, tier: 7 });
    expect(fa.units).toEqual({ credit: 'rial' });
    expect(fa.unknown).toEqual(['رنگ مورد علاقه']);
    expect(fa.missing).toEqual([]);

    const en = matchHeader(['Mobile', 'Full Name', 'Date of birth', 'Join_Date', 'Notes', 'Opening Credit (Toman)', 'Phone']);
    expect(en.columns).toMatchObject({ phone: 0, full_name: 1, birth_date: 2, joined_at: 3, note: 4, credit: 5 });
    expect(en.units).toEqual({ credit: 'toman' });
    // A second phone column is not silently merged: it is reported.
    expect(en.unknown).toEqual(['Phone']);

    const pos = matchHeader(['تاریخ', 'شعبه', 'شماره فاکتور', 'موبایل', 'مبلغ (ریال)']);
    expect(pos).toMatchObject({ kind: 'purchases', columns: { date: 0, branch: 1, receipt: 2, phone: 3, amount: 4 }, units: { amount: 'rial' }, missing: [] });
    expect(matchHeader(['name', 'city']).missing).toEqual(['phone']);
  });

  it('reads Jalali and Gregorian days in any digits', () => {
    expect(parseDay('۱۳۷۰/۰۵/۱۲')).toEqual({ iso: '1991-08-03', minutes: 0 });
    expect(parseDay('1991-08-03')).toEqual({ iso: '1991-08-03', minutes: 0 });
    expect(parseDay('1405/09/08 14:30')).toEqual({ iso: '2026-11-29', minutes: 870 });
    expect(parseDay('1404/12/30')).toBeNull(); // 1404 is not a leap year
    expect(parseDay('2023-02-29')).toBeNull();
    expect(parseDay('12/05/1370')).toBeNull();
  });

  it('validates a line: phone in any form, names, dates, gender, money, tier; a repeated phone is a problem', () => {
    const header = matchHeader(['موبایل', 'نام و نام خانوادگی', 'تولد', 'جنسیت', 'امتیاز', 'اعتبار', 'سطح', 'تاریخ عضویت']);
    const v = new RowValidator(header, venv);
    expect(v.member(row(2, '۰۹۱۲ ۱۲۳ ۴۵۶۷', 'سارا  احمدی', '۱۳۷۰/۰۵/۱۲', 'زن', '۱٬۲۰۰', '50,000', 'طلایی', '1399/01/15'))).toEqual({
      row: { line: 2, phone: '+989121234567', firstName: 'سارا', lastName: 'احمدی', birthDate: '1991-08-03', gender: 'female', city: null, points: 1200, credit: 500_000, tierId: 3, joinedAt: new Date('2020-04-02T19:30:00Z'), note: null },
    });
    expect(v.member(row(3, '+98 912 123 4567', 'Sara'))).toEqual({ problems: [{ code: 'repeated', field: 'phone', value: '2' }] });
    const bad = v.member(row(4, '12345', 'X', '1500/01/01', 'other', '-5', 'lots', 'diamond', '1410/01/01'));
    expect('problems' in bad && bad.problems.map((p) => p.code)).toEqual(['phone_invalid', 'date_future', 'gender_invalid', 'points_invalid', 'credit_invalid', 'tier_unknown', 'date_future']);
    expect(v.member(row(5, '9127654321'))).toMatchObject({ row: { phone: '+989127654321', firstName: null, points: 0, credit: 0 } });
  });
});

describe(`importing customers (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let ownerId: number;
  beforeAll(async () => {
    handle = await testDatabase();
    const owner = await joinClub(
      handle.db,
      { platform: 'telegram', userId: 7960000001, chatId: 7960000001 },
      { phone: '+989129960001', firstName: 'Owner', locale: 'en' },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129960001'], now },
    );
    ownerId = owner.member.id;
    // Already a member through the bot, with a name and no city: the import fills only the blank.
    await joinClub(
      handle.db,
      { platform: 'telegram', userId: 7960000002, chatId: 7960000002 },
      { phone: '+989129960002', firstName: 'Nasrin', locale: 'fa' },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now },
    );
  });
  afterAll(() => handle.close());

  const csv = [
    'phone,first name,last name,city,points,credit (rials),tier,favourite colour',
    '09129960010,Reza,Karimi,Tehran,500,200000,gold,blue',
    '۰۹۱۲۹۹۶۰۰۱۱,Mina,,Shiraz,0,,,green',
    '09129960002,Someone Else,,Isfahan,300,,,',
    'not-a-phone,Bad,,,,,,',
    '09129960010,Reza again,,,999,,,',
  ].join('\n');

  it('previews without writing, then applies: pre-registered members and opening balances as keyed lots', async () => {
    const preview = await previewImport(handle.db, { fileName: 'customers.csv', bytes: Buffer.from(csv), actorMemberId: ownerId }, env);
    expect(preview).toMatchObject({ kind: 'members', rows: 5, valid: 3, existing: 1, unknown: ['favourite colour'], missing: [] });
    expect(preview.problems).toEqual([
      { line: 5, problems: [{ code: 'phone_invalid', field: 'phone', value: 'not-a-phone' }] },
      { line: 6, problems: [{ code: 'repeated', field: 'phone', value: '2' }] },
    ]);
    expect(await handle.db.selectFrom('members').select('id').where('phone', '=', '+989129960010').executeTakeFirst()).toBeUndefined();

    const result = await applyImport(handle.db, preview.id!, ownerId, env);
    expect(result).toMatchObject({ created: 2, updated: 1, unchanged: 0, lots: 3, alreadyApplied: false });
    expect(result.problems.map((p) => p.line)).toEqual([5, 6]);

    const reza = await handle.db.selectFrom('members').selectAll().where('phone', '=', '+989129960010').executeTakeFirstOrThrow();
    expect(reza).toMatchObject({ first_name: 'Reza', last_name: 'Karimi', city: 'Tehran', points_balance: 500, credit_balance: 200_000, tier_id: 3, join_bonus_due: false });
    expect(await handle.db.selectFrom('member_accounts').select('user_id').where('member_id', '=', reza.id).execute()).toEqual([]);
    const lots = await handle.db
      .selectFrom('ledger_entries')
      .innerJoin('ledger_lots', 'ledger_lots.entry_id', 'ledger_entries.id')
      .select(['ledger_entries.currency', 'ledger_entries.amount', 'ledger_entries.kind', 'ledger_entries.idempotency_key', 'ledger_lots.remaining', 'ledger_lots.expires_at'])
      .where('ledger_entries.member_id', '=', reza.id)
      .orderBy('ledger_entries.currency', 'desc')
      .execute();
    expect(lots).toEqual([
      { currency: 'points', amount: 500, kind: 'opening', idempotency_key: 'import:points:+989129960010', remaining: 500, expires_at: new Date('2027-11-29T08:30:00Z') },
      { currency: 'credit', amount: 200_000, kind: 'opening', idempotency_key: 'import:credit:+989129960010', remaining: 200_000, expires_at: null },
    ]);
    const nasrin = await handle.db.selectFrom('members').selectAll().where('phone', '=', '+989129960002').executeTakeFirstOrThrow();
    expect(nasrin).toMatchObject({ first_name: 'Nasrin', city: 'Isfahan', points_balance: 300 });
    expect(await ledgerViolations(handle.db)).toEqual([]);
    const audit = await handle.db.selectFrom('audit_log').select(['action', 'actor_member_id']).where('action', '=', 'import.members').execute();
    expect(audit).toEqual([{ action: 'import.members', actor_member_id: ownerId }]);
  });

  it('the same file again changes nothing, and the same import applied twice is refused as done', async () => {
    const before = await handle.db.selectFrom('members').select(['phone', 'first_name', 'city', 'points_balance', 'credit_balance']).orderBy('id').execute();
    const entries = await handle.db.selectFrom('ledger_entries').select('id').execute();
    const preview = await previewImport(handle.db, { fileName: 'customers.csv', bytes: Buffer.from(csv), actorMemberId: ownerId }, env);
    expect(preview.existing).toBe(3);
    const again = await applyImport(handle.db, preview.id!, ownerId, { ...env, now: new Date(now.getTime() + 86_400_000) });
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 3, lots: 0 });
    expect(await handle.db.selectFrom('members').select(['phone', 'first_name', 'city', 'points_balance', 'credit_balance']).orderBy('id').execute()).toEqual(before);
    expect(await handle.db.selectFrom('ledger_entries').select('id').execute()).toHaveLength(entries.length);
    expect((await applyImport(handle.db, preview.id!, ownerId, env)).alreadyApplied).toBe(true);
  });

  it('a phone whose opening lot went to a member who has since changed numbers: its newcomer is not paid it again', async () => {
    const apply = async (name: string, lines: string[]) => {
      const preview = await previewImport(handle.db, { fileName: name, bytes: Buffer.from(['phone,first name,points,credit (rials)', ...lines].join('\n')), actorMemberId: ownerId }, env);
      return applyImport(handle.db, preview.id!, ownerId, env);
    };
    expect(await apply('old.csv', ['09129960070,Old,70,9000'])).toMatchObject({ created: 1, lots: 2 });
    // The member paid as +989129960070 now has another number; a newcomer comes with the old one.
    await handle.db.updateTable('members').set({ phone: '+989129960079' }).where('phone', '=', '+989129960070').execute();
    expect(await apply('moved.csv', ['09129960070,Newcomer,70,9000', '09129960071,Fresh,40,'])).toMatchObject({ created: 2, lots: 1 });
    const rows = await handle.db.selectFrom('members').select(['phone', 'first_name', 'points_balance', 'credit_balance']).where('phone', 'in', ['+989129960070', '+989129960071', '+989129960079']).orderBy('phone').execute();
    expect(rows).toEqual([
      { phone: '+989129960070', first_name: 'Newcomer', points_balance: 0, credit_balance: 0 },
      { phone: '+989129960071', first_name: 'Fresh', points_balance: 40, credit_balance: 0 },
      { phone: '+989129960079', first_name: 'Old', points_balance: 70, credit_balance: 9000 },
    ]);
    expect(await ledgerViolations(handle.db)).toEqual([]);
  });

  it('reads an XLSX file with Excel dates and numeric phones', async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('مشتریان');
    sheet.addRow(['موبایل', 'نام', 'تاریخ تولد', 'امتیاز']);
    sheet.addRow([9129960020, 'Leila', new Date(Date.UTC(1990, 2, 21)), 70]);
    sheet.addRow(['09129960021', 'Omid', '1369/01/01', '']);
    const bytes = Buffer.from(await book.xlsx.writeBuffer());
    const preview = await previewImport(handle.db, { fileName: 'c.xlsx', bytes, actorMemberId: ownerId }, env);
    expect(preview).toMatchObject({ rows: 2, valid: 2, problems: [] });
    await applyImport(handle.db, preview.id!, ownerId, env);
    const rows = await handle.db.selectFrom('members').select(['first_name', 'birth_date', 'points_balance']).where('phone', 'in', ['+989129960020', '+989129960021']).orderBy('phone').execute();
    expect(rows).toEqual([
      { first_name: 'Leila', birth_date: '1990-03-21', points_balance: 70 },
      { first_name: 'Omid', birth_date: '1990-03-21', points_balance: 0 },
    ]);
  });

  it('a pre-registered member who joins keeps their balance; the signup bonus only if the owner chose so', async () => {
    const file = 'phone,name,points\n09129960030,Arash,40\n';
    const preview = await previewImport(handle.db, { fileName: 'b.csv', bytes: Buffer.from(file), actorMemberId: ownerId }, env);
    await handle.db.updateTable('imports').set({ signup_bonus: true }).where('id', '=', preview.id!).execute();
    await applyImport(handle.db, preview.id!, ownerId, env);
    const policy = { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: [], now };
    const arash = await joinClub(handle.db, { platform: 'bale', userId: 7960000030, chatId: 7960000030 }, { phone: '+989129960030', firstName: 'Messenger name', locale: 'en' }, policy);
    expect(arash).toMatchObject({ created: false, preRegistered: true, bonus: 50, member: { first_name: 'Arash', points_balance: 90, join_bonus_due: false, locale: 'en' } });
    // Reza was imported without the bonus.
    const reza = await joinClub(handle.db, { platform: 'telegram', userId: 7960000010, chatId: 7960000010 }, { phone: '+989129960010', firstName: 'R' }, policy);
    expect(reza).toMatchObject({ preRegistered: true, bonus: 0, member: { first_name: 'Reza', points_balance: 500 } });
    // A second messenger later is a plain link: no second bonus.
    const again = await joinClub(handle.db, { platform: 'telegram', userId: 7960000031, chatId: 7960000031 }, { phone: '+989129960030', firstName: 'A' }, policy);
    expect(again).toMatchObject({ bonus: 0, member: { points_balance: 90 } });
    expect(again.preRegistered).toBeUndefined();
    expect(await ledgerViolations(handle.db)).toEqual([]);
  });

  it('a walk-in registered at the till is pre-registered with the signup bonus due', async () => {
    const walkIn = await registerWalkIn(handle.db, { phone: '+989129960040', firstName: null, actorMemberId: ownerId, now });
    expect(walkIn).toMatchObject({ created: true, member: { first_name: '', join_bonus_due: true } });
    expect((await registerWalkIn(handle.db, { phone: '+989129960040', firstName: 'X', actorMemberId: ownerId, now })).created).toBe(false);
    const joined = await joinClub(handle.db, { platform: 'telegram', userId: 7960000040, chatId: 7960000040 }, { phone: '+989129960040', firstName: 'Kaveh' }, { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: [], now });
    expect(joined).toMatchObject({ bonus: 50, member: { first_name: 'Kaveh', points_balance: 50 } });
  });

  it('imports POS purchases by the rules of their own date, skipping receipts already recorded', async () => {
    // Double points (1,000 Rials a point instead of 10,000) during Tir 1405 only.
    await handle.db
      .insertInto('earning_rules')
      .values({ branch_id: 1, rials_per_point: 1000, active_from: new Date('2026-06-21T20:30:00Z'), active_to: new Date('2026-07-22T20:30:00Z'), updated_at: now })
      .execute();
    const file = [
      'تاریخ,شعبه,شماره فاکتور,موبایل,مبلغ (ریال)',
      '1405/04/10 18:00,1,R-1,09129960050,1000000',
      '1405/06/10 18:00,1,R-2,09129960050,1000000',
      '1405/06/11,1,R-3,09129960010,2000000',
      '1405/06/12,1,R-2,09129960010,1000000',
      '1405/12/01,1,R-4,09129960010,1000000',
      '1405/06/12,1,R-5,09129960001,1000000',
    ].join('\n');
    const preview = await previewImport(handle.db, { fileName: 'pos.csv', bytes: Buffer.from(file), actorMemberId: ownerId }, env);
    expect(preview).toMatchObject({ kind: 'purchases', rows: 6, valid: 4 });
    expect(preview.problems.map((p) => [p.line, p.problems[0]!.code])).toEqual([[5, 'repeated'], [6, 'date_future']]);
    const result = await applyImport(handle.db, preview.id!, ownerId, env);
    expect(result).toMatchObject({ recorded: 3, duplicates: 0, preRegistered: 1 });
    // The owner's own purchase cannot be recorded by the owner: reported on its line.
    expect(result.problems.map((p) => [p.line, p.problems[0]!.code])).toEqual([[5, 'repeated'], [6, 'date_future'], [7, 'own_purchase']]);
    const purchases = await handle.db.selectFrom('purchases').select(['receipt_no', 'points_earned', 'created_at']).orderBy('receipt_no').execute();
    expect(purchases.map((p) => p.receipt_no)).toEqual(['R-1', 'R-2', 'R-3']);
    const [tir, shahrivar] = purchases;
    expect(tir!.created_at).toEqual(new Date('2026-07-01T14:30:00Z'));
    // Tir: 1,000,000 / 1,000 = 1,000 points, which promote the newcomer to Silver at once; Shahrivar
    // (the club rule, 10,000 a point) as Silver: 3% off, ×1.25: 970,000 / 10,000 = 97 × 1.25 = 121.
    expect(tir!.points_earned - shahrivar!.points_earned).toBe(1000 - 121);
    const newcomer = await handle.db.selectFrom('members').selectAll().where('phone', '=', '+989129960050').executeTakeFirstOrThrow();
    // Joined on their first purchase in the file; both purchases' points wait for them.
    expect(newcomer).toMatchObject({ first_name: '', purchase_count: 2, joined_at: new Date('2026-07-01T14:30:00Z'), points_balance: tir!.points_earned + shahrivar!.points_earned });

    const again = await previewImport(handle.db, { fileName: 'pos.csv', bytes: Buffer.from(file), actorMemberId: ownerId }, env);
    expect(await applyImport(handle.db, again.id!, ownerId, env)).toMatchObject({ recorded: 0, duplicates: 3, preRegistered: 0 });
    expect(await handle.db.selectFrom('purchases').select('id').execute()).toHaveLength(3);
    expect(await ledgerViolations(handle.db)).toEqual([]);
  });
});
