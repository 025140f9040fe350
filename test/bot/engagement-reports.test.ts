import { randomUUID } from 'node:crypto';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { claimOutbox, createCampaign, markOutbox, startCampaign } from '../../src/club/campaigns.ts';
import { noteInvitationOpened } from '../../src/club/invitation-opens.ts';
import { periodFor } from '../../src/club/analytics/period.ts';
import { referralFunnel } from '../../src/club/analytics/referral-funnel.ts';
import { joinClub } from '../../src/club/members.ts';
import { parseSegment, saveSegment } from '../../src/club/segments.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import { recordReferral, settleReferralPurchase } from '../../src/club/referrals.ts';
import { queueDueChecks, recordSatisfaction, scheduleSatisfactionCheck } from '../../src/club/satisfaction.ts';
import { addTicketMessage, openTicket } from '../../src/club/tickets.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';
import { pictureOf } from '../support/picture.ts';

const TZ = 'Asia/Tehran';
const at = (iso: string) => new Date(iso);


async function sheetRows(bytes: Buffer | undefined) {
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(bytes! as never);
  return (book.worksheets[0]!.getSheetValues().filter(Boolean) as unknown[][]).map((r) => r.slice(1));
}

describe(`invitation, campaign and satisfaction reports in the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let ownerFa: FakeUser;
  let cashierLike: FakeUser;
  let ownerCode = '';
  let ownerId = 0;
  // Sunday 8 Azar 1405, noon in Tehran.
  const clock = at('2026-11-29T08:30:00Z');

  beforeAll(async () => {
    database = await testDatabase();
    const db = database.db;
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_engagement_bot' });
    await api.start();
    club = await startTestClub({ api, database, now: () => clock });
    owner = api.user({ id: 7960000001, first_name: 'Owner', language_code: 'en' });
    ownerFa = api.user({ id: 7960000002, first_name: 'Maryam', language_code: 'fa' });
    cashierLike = api.user({ id: 7960000003, first_name: 'Sara', language_code: 'en' });
    const policy = (when: string) => ({ signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129960001', '+989129960002'], now: at(when) });
    const o = await joinClub(db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129960001', firstName: 'Owner', locale: 'en' }, policy('2026-10-01T08:00:00Z'));
    await joinClub(db, { platform: 'telegram', userId: ownerFa.id, chatId: ownerFa.id }, { phone: '+989129960002', firstName: 'Maryam', locale: 'fa' }, policy('2026-10-01T08:00:00Z'));
    await joinClub(db, { platform: 'telegram', userId: cashierLike.id, chatId: cashierLike.id }, { phone: '+989129960003', firstName: 'Sara', locale: 'en' }, policy('2026-10-01T08:00:00Z'));
    ownerCode = o.member.referral_code;
    ownerId = o.member.id;
    // A friend opens the owner's link on 2 Azar, joins, buys on 3 Azar: the owner is rewarded.
    const link = { code: o.member.referral_code, platform: 'telegram' as const, userId: 7960000100 };
    await noteInvitationOpened(db, link, at('2026-11-23T08:00:00Z'));
    const { member: friend } = await joinClub(db, { platform: 'telegram', userId: link.userId, chatId: link.userId }, { phone: '+989129960100', firstName: 'Friend', locale: 'en' }, policy('2026-11-23T08:05:00Z'));
    await recordReferral(db, link, friend, { now: at('2026-11-23T08:05:00Z'), timeZone: TZ });
    const buy = async (amountRials: number, when: string) =>
      (await recordPurchase(db, { memberId: friend.id, branchId: 1, cashierMemberId: o.member.id, amountRials, operationId: randomUUID() }, { now: at(when), timeZone: TZ })).purchase;
    const first = await buy(1_000_000, '2026-11-24T08:00:00Z');
    await settleReferralPurchase(db, friend.id, first.id, { now: at('2026-11-24T08:00:00Z'), timeZone: TZ });
    // Scored 5 two hours later.
    await scheduleSatisfactionCheck(db, first, at('2026-11-24T08:00:00Z'));
    await queueDueChecks(db, at('2026-11-24T10:00:00Z'));
    await recordSatisfaction(db, first.id, friend.id, 5, at('2026-11-24T10:05:00Z'));
    // A campaign on 4 Azar reaches all four members; the friend buys again the next day.
    const campaign = await createCampaign(db, o.member.id, { segmentId: null, text: 'Weekend offer', photoFileId: null, button: null }, at('2026-11-25T08:00:00Z'));
    await startCampaign(db, campaign.id, at('2026-11-25T08:00:00Z'));
    for (const row of await claimOutbox(db, campaign.id, 'telegram', 100, at('2026-11-25T08:01:00Z'))) await markOutbox(db, row, 'sent', at('2026-11-25T08:01:00Z'));
    await buy(500_000, '2026-11-26T08:00:00Z');
    // The friend asks a question on 5 Azar; the owner answers an hour later.
    const ticket = await openTicket(db, { memberId: friend.id, kind: 'question', category: 'other', text: 'Open on Friday?', branchId: 1 }, at('2026-11-26T10:00:00Z'));
    await addTicketMessage(db, ticket.id, { memberId: o.member.id, staff: true }, 'Yes, from 10.', at('2026-11-26T11:00:00Z'));
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  /** From the staff panel: Reports → the report → This month; returns the photo. */
  async function openFromPanel(user: FakeUser, kindButton: string, periodButton: string) {
    await user.send('/panel');
    const panel = await user.waitFor((m) => inlineButtons(m).some((b) => /📈/.test(b.text)));
    await user.press(inlineButtons(panel).find((b) => /📈/.test(b.text))!.text, { messageId: panel.message_id });
    const menu = await user.waitFor((m) => inlineButtons(m).some((b) => b.text === kindButton));
    await user.press(kindButton, { messageId: menu.message_id });
    await user.waitFor((m) => inlineButtons(m).some((b) => b.text === `✅ ${kindButton}`));
    await user.press(periodButton, { messageId: menu.message_id });
    return user.waitFor((m) => Boolean(m.photo), 20_000);
  }

  async function downloadXlsx(user: FakeUser, photoId: number) {
    await user.press('⬇️ Excel (XLSX)', { messageId: photoId });
    const file = await user.waitFor((m) => Boolean(m.document), 10_000);
    return sheetRows(file.documentBytes);
  }

  it('a member who is not a manager cannot open a report, even with an old button', async () => {
    await cashierLike.send('/report');
    await cashierLike.waitFor(hasText(/staff/i));
    // The campaign report's button, pressed by someone who is not a manager: refused, no photo.
    const before = cashierLike.messages.length;
    await cashierLike.pressData('rp:g:k:0:m');
    await expect.poll(() => cashierLike.callbackAnswers.at(-1)?.show_alert).toBe(true);
    expect(cashierLike.messages.slice(before).some((m) => m.photo)).toBe(false);
  });

  it('invitations: the funnel as a picture, its figures, and the table as XLSX', async () => {
    const photo = await openFromPanel(owner, '🔗 Invitations', 'This month');
    const image = pictureOf(photo.photoBytes);
    expect(image.size).toEqual([1600, 420]);
    expect(image.colours).toBeGreaterThan(20);
    expect(image.inked).toBeGreaterThan(0.02);
    expect(plain(photo)).toContain('1 opened an invitation link; 1 joined (100%); 1 have bought (100%); 1 inviters rewarded');
    expect(plain(photo)).toContain('200 points paid to 1 inviters');
    expect(plain(photo)).toMatch(/funnel starts when it is opened/);
    const rows = await downloadXlsx(owner, photo.message_id);
    expect(rows[0]).toEqual(['Section', 'Item', 'Opened a link', 'Joined', 'Bought', 'Inviter rewarded']);
    expect(rows.find((r) => r[0] === 'Total' && r[1] === 'People')).toEqual(['Total', 'People', 1, 1, 1, 1]);
  });

  it('campaigns: delivered, bought within 7 days and revenue, with the table as XLSX', async () => {
    const photo = await openFromPanel(owner, '📣 Campaigns', 'This month');
    const image = pictureOf(photo.photoBytes);
    expect(image.size).toEqual([1600, 840]);
    expect(image.colours).toBeGreaterThan(20);
    expect(image.inked).toBeGreaterThan(0.02);
    expect(plain(photo)).toContain('1 campaigns: 4 of 4 messages delivered; 0 had blocked the bot');
    expect(plain(photo)).toContain('1 recipients bought within 7 days (25% of delivered): 1 purchases, 500,000 Rials');
    const rows = await downloadXlsx(owner, photo.message_id);
    expect(rows[0]!.slice(0, 5)).toEqual(['Campaign', 'Started', 'Text', 'Messages', 'Delivered']);
    expect(rows[1]!.slice(2)).toEqual(['Weekend offer', 4, 4, 0, 0, 0, 0, 0, 1, 1, 500_000]);
  });

  it('satisfaction: scores, NPS and ticket times, with the table as XLSX', async () => {
    const photo = await openFromPanel(owner, '😊 Satisfaction', 'This month');
    const image = pictureOf(photo.photoBytes);
    expect(image.size).toEqual([1600, 840]);
    expect(image.colours).toBeGreaterThan(20);
    expect(image.inked).toBeGreaterThan(0.02);
    expect(plain(photo)).toContain('1 of 1 visits scored (100%); average 5 of 5; 100% gave 4 or 5');
    expect(plain(photo)).toContain('NPS: no answers in this period');
    expect(plain(photo)).toContain('1 answered; median first reply 1 h, median to close —; 0 not answered yet');
    const rows = await downloadXlsx(owner, photo.message_id);
    expect(rows[0]!.slice(0, 8)).toEqual(['Section', 'Item', 'Asked', '1 ★', '2 ★', '3 ★', '4 ★', '5 ★']);
    const total = rows.find((r) => r[0] === 'Total')!;
    expect(total.slice(2, 9)).toEqual([1, 0, 0, 0, 0, 1, 5]);
    expect(total.slice(13)).toEqual([1, 1, 0, 60]);
  });

  it('in Persian: Persian digits in the caption and the same figures', async () => {
    const photo = await openFromPanel(ownerFa, '😊 رضایت مشتری', 'این ماه');
    expect(pictureOf(photo.photoBytes).size).toEqual([1600, 840]);
    const caption = plain(photo);
    expect(caption).toContain('۱ از ۱ خرید نمره گرفت');
    expect(caption).toContain('میانهٔ اولین پاسخ ۱ ساعت');
    expect(caption).not.toMatch(/[0-9]/);
  });

  it('a newcomer opening an invitation link is the funnel\'s "opened", once, whether or not they join', async () => {
    const month = periodFor('month', clock, TZ);
    expect((await referralFunnel(database.db, month)).opened).toBe(1);
    const visitor = api.user({ id: 7960000200, first_name: 'Visitor', language_code: 'en' });
    for (let i = 0; i < 2; i++) {
      await visitor.send(`/start r_${ownerCode}`);
      await visitor.waitFor((m) => Boolean(m.text));
    }
    expect(await referralFunnel(database.db, month)).toMatchObject({ opened: 2, joined: 1 });
    // A member opening it is refused, not opened.
    await cashierLike.send(`/start r_${ownerCode}`);
    await cashierLike.waitFor(hasText(/already a member|already/i));
    expect(await referralFunnel(database.db, month)).toMatchObject({ opened: 2, refused: 1 });
  });

  it('exports: a saved segment from the panel and by number, the ledger of two dates as CSV; a bad number is answered', async () => {
    const segment = await saveSegment(database.db, ownerId, 'Buyers', parseSegment('purchases>=1'), clock);
    await owner.send(`/export members ${segment.id} csv`);
    const csv = await owner.waitFor((m) => Boolean(m.document), 10_000);
    const lines = csv.documentBytes!.toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('+989129960100');
    expect(plain(csv)).toBe('1 rows');
    await owner.send('/export members 12x');
    await owner.waitFor(hasText(/^Exports:/));
    await owner.send('/export members 999999');
    await owner.waitFor(hasText(/segment no longer exists/));

    await owner.send('/panel');
    const panel = await owner.waitFor((m) => inlineButtons(m).some((b) => /Export/.test(b.text)));
    await owner.press(inlineButtons(panel).find((b) => /Export/.test(b.text))!.text, { messageId: panel.message_id });
    const offer = await owner.waitFor((m) => inlineButtons(m).some((b) => b.text === '⬇️ Segment: Buyers'));
    await owner.press('⬇️ Segment: Buyers', { messageId: offer.message_id });
    const file = await owner.waitFor((m) => Boolean(m.document), 10_000);
    const rows = await sheetRows(file.documentBytes);
    expect(rows).toHaveLength(2);
    expect(String(rows[1]![1])).toContain('989129960100');

    // 1–8 Azar: the friend's two purchases earned points, and the owner's invitation reward.
    await owner.send('/export ledger ۱۴۰۵/۹/۱ ۱۴۰۵/۹/۸ csv');
    const ledger = await owner.waitFor((m) => Boolean(m.document), 10_000);
    const entries = ledger.documentBytes!.toString('utf8').trim().split('\n').slice(1);
    expect(entries.length).toBeGreaterThanOrEqual(3);
    expect(plain(ledger)).toBe(`${entries.length} rows`);
    expect(entries.some((e) => e.includes(',referral,'))).toBe(true);
  });
});
