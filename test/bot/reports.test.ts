import { randomUUID } from 'node:crypto';
import ExcelJS from 'exceljs';
import { Api } from 'grammy';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import type { Platform } from '../../src/db/schema.ts';
import { sendWeeklySummaries } from '../../src/jobs/weekly-report.ts';
import { startTestClub, TEST_TOKEN } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

const TZ = 'Asia/Tehran';
const DAY = 86_400_000;

describe(`/report in the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let cashier: FakeUser;
  // Sunday 8 Azar 1405, noon in Tehran.
  let clock = new Date('2026-11-29T08:30:00Z');

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_report_bot' });
    await api.start();
    club = await startTestClub({ api, database, now: () => clock });
    owner = api.user({ id: 7950000001, first_name: 'Owner', language_code: 'en' });
    cashier = api.user({ id: 7950000002, first_name: 'Sara', language_code: 'en' });
    const policy = (at: Date) => ({ signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129950001'], now: at });
    const o = await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129950001', firstName: 'Owner', locale: 'en' }, policy(new Date('2026-10-01T08:00:00Z')));
    await joinClub(database.db, { platform: 'telegram', userId: cashier.id, chatId: cashier.id }, { phone: '+989129950002', firstName: 'Sara', locale: 'en' }, policy(new Date('2026-10-01T08:00:00Z')));
    // Members who bought this month; one has a name a spreadsheet would run as a formula.
    for (let i = 0; i < 6; i++) {
      const joined = new Date(clock.getTime() - (20 + i * 9) * DAY);
      const { member } = await joinClub(
        database.db,
        { platform: 'telegram', userId: 7950000100 + i, chatId: 7950000100 + i },
        { phone: `+98912995010${i}`, firstName: i === 0 ? '=HYPERLINK("http://x.example","open")' : `Guest${i}`, locale: 'en' },
        policy(joined),
      );
      for (let k = 0; k <= i % 3; k++) {
        const at = new Date(clock.getTime() - (k * 2 + i / 10) * DAY);
        await recordPurchase(database.db, { memberId: member.id, branchId: 1, cashierMemberId: o.member.id, amountRials: 1_000_000 * (i + 1), operationId: randomUUID() }, { now: at, timeZone: TZ });
      }
    }
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  function png(bytes: Buffer | undefined) {
    expect(bytes?.subarray(1, 4).toString()).toBe('PNG');
    return PNG.sync.read(bytes!);
  }

  it('a member who is not staff is refused', async () => {
    await cashier.send('/report');
    await cashier.waitFor(hasText(/staff/i));
  });

  it('/report → this month → the sales chart arrives as a photo, and its table as XLSX and CSV', async () => {
    await owner.send('/report');
    await owner.waitFor(hasText(/Reports[\s\S]*Report: 💰 Sales · Branch: All branches/));
    await owner.press('This month');
    const photo = await owner.waitFor((m) => Boolean(m.photo), 15_000);
    const image = png(photo.photoBytes);
    expect([image.width, image.height]).toEqual([1600, 840]);
    // 12 purchases worth 1 + 2×2 + 3×3 + 4 + 5×2 + 6×3 million Rials.
    expect(plain(photo)).toContain('12 purchases, 46,000,000 Rials');
    expect(inlineButtons(photo).map((b) => b.text)).toEqual(['⬇️ Excel (XLSX)', '⬇️ CSV']);

    await owner.press('⬇️ Excel (XLSX)', { messageId: photo.message_id });
    const xlsx = await owner.waitFor((m) => Boolean(m.document), 10_000);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(xlsx.documentBytes! as never);
    const rows = book.worksheets[0]!.getSheetValues().filter(Boolean) as unknown[][];
    expect(rows[0]!.slice(1)).toEqual(['Section', 'Item', 'Purchases', 'Revenue (Rials)']);
    expect(rows.at(-1)!.slice(1)).toEqual(['Total', undefined, 12, 46_000_000]);

    await owner.press('⬇️ CSV', { messageId: photo.message_id });
    const csv = await owner.waitFor((m) => Boolean(m.document), 10_000);
    expect(csv.documentBytes!.toString('utf8')).toMatch(/^\ufeffSection,Item,Purchases,Revenue \(Rials\)\n[\s\S]*Total,,12,46000000\n$/);
  });

  it('each report draws a chart; RFM offers "Make a segment" for its groups', async () => {
    for (const [kind, size] of [['👥 Members', [1600, 840]], ['⭐ Loyalty', [1600, 420]], ['🔁 Retention', [1200, 720]], ['🎯 RFM groups', [900, 500]]] as const) {
      await owner.send('/report');
      const menu = await owner.waitFor(hasText(/Reports/));
      await owner.press(kind, { messageId: menu.message_id });
      await owner.waitFor(hasText(new RegExp(`Report: ${kind}`)));
      await owner.press('This year', { messageId: menu.message_id });
      const photo = await owner.waitFor((m) => Boolean(m.photo), 15_000);
      const image = png(photo.photoBytes);
      expect([image.width, image.height], kind).toEqual(size);
    }
    const rfm = owner.lastMessage()!;
    expect(plain(rfm)).toMatch(/6 buyers/);
    const segment = inlineButtons(rfm).find((b) => b.text.startsWith('➕ Segment:'))!;
    await owner.press(segment.text, { messageId: rfm.message_id });
    await owner.waitFor(hasText(/Segment “.+” \(number \d+\) saved: \d+ members can receive offers/));
  });

  it('exports members with formula-looking text neutralised, and the ledger; a bad date is answered', async () => {
    await owner.send('/export members csv');
    const csv = await owner.waitFor((m) => Boolean(m.document), 10_000);
    const text = csv.documentBytes!.toString('utf8');
    expect(text).toContain(`"'=HYPERLINK(""http://x.example"",""open"")"`);
    expect(text).not.toMatch(/,=HYPERLINK/);
    expect(plain(csv)).toBe('8 rows');
    await owner.send('/export ledger');
    const ledger = await owner.waitFor((m) => Boolean(m.document), 10_000);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(ledger.documentBytes! as never);
    expect(book.worksheets[0]!.rowCount).toBe(1 + 12);
    await owner.send('/report 1405/7/31 1405/9/1');
    await owner.waitFor(hasText(/not two Jalali dates/));
    await owner.send('/report 1405/9/1 1405/9/8');
    await owner.waitFor(hasText(/Reports/));
    await owner.press('📅 The dates you sent');
    const photo = await owner.waitFor((m) => Boolean(m.photo), 15_000);
    expect(plain(photo)).toContain('12 purchases');
  });

  it('the panel\'s Export offers every member and this month\'s ledger as files', async () => {
    await owner.send('/panel');
    const panel = await owner.waitFor((m) => inlineButtons(m).some((b) => /Export/.test(b.text)));
    await owner.press(inlineButtons(panel).find((b) => /Export/.test(b.text))!.text, { messageId: panel.message_id });
    const offer = await owner.waitFor(hasText(/Exports:/));
    const before = owner.messages.length;
    await owner.press('⬇️ Members (XLSX)', { messageId: offer.message_id });
    const members = await owner.waitFor((m) => Boolean(m.document) && owner.messages.indexOf(m) >= before, 10_000);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(members.documentBytes! as never);
    const sheet = book.worksheets[0]!;
    expect(sheet.rowCount).toBe(1 + 8);
    // XLSX: formula-looking text is stored as text (never a formula), in the Text format, and shows
    // as typed: no apostrophe in the name or in a "+98…" phone.
    const cells = sheet.getRows(2, 8)!.flatMap((row) => (row.values as unknown[]).slice(1).map((_, i) => row.getCell(i + 1)));
    const formula = cells.find((cell) => cell.value === '=HYPERLINK("http://x.example","open")');
    expect(formula?.type).toBe(ExcelJS.ValueType.String);
    expect(formula?.numFmt).toBe('@');
    expect(cells.some((cell) => typeof cell.value === 'string' && cell.value.startsWith("'"))).toBe(false);
    expect(cells.every((cell) => cell.type !== ExcelJS.ValueType.Formula)).toBe(true);
    await owner.press('⬇️ Ledger of the period', { messageId: offer.message_id });
    const ledger = await owner.waitFor((m) => Boolean(m.document) && owner.messages.indexOf(m) > owner.messages.indexOf(members), 10_000);
    expect(plain(ledger)).toBe('12 rows');
  });

  it('the weekly summary is off until the owner turns it on, then comes once a week with one picture and five lines', async () => {
    const apis = new Map<Platform, Api>([['telegram', new Api(TEST_TOKEN, { apiRoot: api.apiRoot })]]);
    // Saturday 14 Azar, 09:00 in Tehran: the week of 7–13 Azar (Saturday to Friday) has just ended.
    clock = new Date('2026-12-05T05:30:00Z');
    expect(await sendWeeklySummaries(club.deps, apis)).toBe(0);
    await owner.send('/report');
    await owner.waitFor(hasText(/Reports/));
    await owner.press('🗓 Weekly summary: off');
    await owner.waitFor(hasText(/Reports/));
    expect(inlineButtons(owner.lastMessage()).map((b) => b.text)).toContain('🗓 Weekly summary: on');
    const arrived = owner.waitFor((m) => Boolean(m.photo), 15_000);
    expect(await sendWeeklySummaries(club.deps, apis)).toBe(1);
    const summary = await arrived;
    png(summary.photoBytes);
    const lines = plain(summary).split('\n');
    expect(lines).toHaveLength(5);
    // That week had the six purchases of 8 Azar; the week before, the other six.
    expect(lines[1]).toContain('6 purchases, 21,000,000 Rials (week before: 25,000,000 Rials)');
    expect(await sendWeeklySummaries(club.deps, apis)).toBe(0);
  });
});
