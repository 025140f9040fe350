import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { credit } from '../../src/club/ledger.ts';
import { buyTickets, createLottery, drawLottery } from '../../src/club/lotteries.ts';
import { joinClub } from '../../src/club/members.ts';
import { queueNotice } from '../../src/club/notifications.ts';
import { addStaff, listBranches } from '../../src/club/staff.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

/** Messages the club owes a member survive a crash right after the commit, and arrive once. */
describe(`the notification outbox (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub | undefined;
  let cashier: FakeUser;
  let owner: FakeUser;
  let ownerId: number;
  let phone = 0;

  async function join(user: FakeUser, name: string, locale: 'fa' | 'en', ownerPhone?: string) {
    const number = ownerPhone ?? `+98912800${String(++phone).padStart(4, '0')}`;
    const { member } = await joinClub(
      database.db,
      { platform: 'telegram', userId: user.id, chatId: user.id },
      { phone: number, firstName: name, locale },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989128009999'], now: new Date() },
    );
    return { id: member.id, phone: number };
  }
  const statuses = async (memberId: number) =>
    (await database.db.selectFrom('notifications').select(['kind', 'status']).where('member_id', '=', memberId).orderBy('id').execute()).map((r) => `${r.kind}:${r.status}`);
  const receipts = (user: FakeUser) => user.messages.filter(hasText(/۱۲۰\+ امتیاز برای خرید/));

  /** Records a purchase at the till through the bot; resolves when the cashier sees it recorded. */
  async function purchase(memberId: number) {
    await cashier.send(`/member ${memberId}`);
    await cashier.waitFor(hasText(/Member \d+:/));
    await cashier.press('🧾 Record purchase');
    await cashier.waitFor(hasText(/What is the amount in Toman/));
    await cashier.send('120,000');
    await cashier.waitFor(hasText(/Receipt number/));
    await cashier.tapReply('Skip');
    await cashier.waitFor(hasText(/Points to earn: 120/));
    await cashier.press('✅ Confirm');
    await cashier.waitFor(hasText(/Purchase #\d+ recorded/));
  }

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_outbox_bot' });
    await api.start();
    owner = api.user({ id: 7400000001, first_name: 'Owner', language_code: 'en' });
    cashier = api.user({ id: 7400000002, first_name: 'Cashier', language_code: 'en' });
    ownerId = (await join(owner, 'Owner', 'en', '+989128009999')).id;
    const c = await join(cashier, 'Cashier', 'en');
    // Migrations run when a club starts: one before the branches and staff are read.
    await (await startTestClub({ api, database, env: { OWNER_PHONES: '09128009999' } })).stop();
    const [branch] = await listBranches(database.db);
    await addStaff(database.db, { memberId: ownerId, role: 'owner' }, c.phone, 'cashier', branch!.id, new Date());
  });
  afterEach(async () => {
    await club?.stop();
    club = undefined;
    api.setRateLimit(Number.POSITIVE_INFINITY);
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('a process that stops right after the purchase commits: the next one delivers the receipt, once', async () => {
    const member = api.user({ id: 7400000010, first_name: 'Parisa', language_code: 'fa' });
    const { id } = await join(member, 'پریسا', 'fa');
    // The first process records the purchase and never gets to send (its sender is not running).
    club = await startTestClub({ api, database, notifications: false });
    await purchase(id);
    expect(await statuses(id)).toEqual(['receipt:pending']);
    await club.stop();
    expect(receipts(member)).toHaveLength(0);

    // The next process on the same database sends it, with "This wasn't me".
    const told = member.waitFor(hasText(/۱۲۰\+ امتیاز برای خرید ۱۲۰٬۰۰۰ تومان \(۱٬۲۰۰٬۰۰۰ ریال\)/));
    club = await startTestClub({ api, database });
    const receipt = await told;
    expect(plain(receipt)).toContain('موجودی: ۱۲۰ امتیاز');
    expect(inlineButtons(receipt).map((b) => b.text)).toEqual(['⚠️ این خرید من نبود']);
    await club.deps.notices.drained();
    expect(await statuses(id)).toEqual(['receipt:sent']);
    await club.stop();

    // And a third sends nothing again.
    club = await startTestClub({ api, database });
    await club.deps.notices.drained();
    expect(receipts(member)).toHaveLength(1);
  });

  it('a purchase recorded on the member\'s credit approval: the receipt, the cashier\'s answer and a dispute\'s alert are written with their change', async () => {
    const member = api.user({ id: 7400000012, first_name: 'Nasrin', language_code: 'fa' });
    const { id } = await join(member, 'نسرین', 'fa');
    await database.db.transaction().execute((trx) =>
      credit(trx, { memberId: id, currency: 'credit', amount: 100_000, kind: 'convert', reason: 'test', idempotencyKey: `outbox-credit:${id}`, expiresAt: null, at: new Date() }),
    );
    // The cashier asks; the member's approval request goes through the outbox.
    club = await startTestClub({ api, database });
    const asked = member.waitFor(hasText(/۵٬۰۰۰ تومان \(۵۰٬۰۰۰ ریال\) از اعتبار شما در .* پرداخت شود؟/));
    await cashier.send(`/member ${id}`);
    await cashier.waitFor(hasText(/Member \d+:/));
    await cashier.press('💳 Purchase with credit');
    await cashier.waitFor(hasText(/What is the amount/));
    await cashier.send('120,000');
    await cashier.waitFor(hasText(/Receipt number/));
    await cashier.tapReply('Skip');
    await cashier.waitFor(hasText(/of credit/));
    await cashier.send('5000');
    await cashier.waitFor(hasText(/Amount to pay: 115,000 Toman/));
    await cashier.press('✅ Confirm');
    await cashier.waitFor(hasText(/Asked نسرین to approve/));
    const ask = await asked;
    expect(inlineButtons(ask).map((b) => b.text)).toEqual(['✅ تأیید', '✖️ رد']);
    await club.deps.notices.drained();
    await club.stop();

    // The member approves on a process that stops right after the commit: nothing is sent yet,
    // but the receipt and the cashier's answer are already rows.
    club = await startTestClub({ api, database, notifications: false });
    await member.press('✅ تأیید', { messageId: ask.message_id });
    await member.waitFor(hasText(/پرداخت ۵٬۰۰۰ تومان \(۵۰٬۰۰۰ ریال\) از اعتبارتان را تأیید کردید/));
    expect(await statuses(id)).toEqual(['credit_request:sent', 'receipt:pending']);
    const cashierId = (await database.db.selectFrom('member_accounts').select('member_id').where('user_id', '=', cashier.id).executeTakeFirstOrThrow()).member_id;
    const cashierRows = await database.db.selectFrom('notifications').select(['kind', 'status']).where('member_id', '=', cashierId).where('kind', '=', 'credit_decided').execute();
    expect(cashierRows).toEqual([{ kind: 'credit_decided', status: 'pending' }]);
    await club.stop();

    // The next process delivers both, once, in each one's language.
    const receiptTold = member.waitFor(hasText(/۱۱۵\+ امتیاز برای خرید ۱۲۰٬۰۰۰ تومان \(۱٬۲۰۰٬۰۰۰ ریال\)/));
    const cashierTold = cashier.waitFor(hasText(/نسرین approved paying 5,000 Toman \(50,000 Rials\) from credit: purchase #\d+ recorded, \+115 points/));
    club = await startTestClub({ api, database });
    const receipt = await receiptTold;
    await cashierTold;
    expect(plain(receipt)).toContain('💳 ۵٬۰۰۰ تومان (۵۰٬۰۰۰ ریال) از اعتبار شما استفاده شد؛ ۵٬۰۰۰ تومان (۵۰٬۰۰۰ ریال) باقی ماند.');
    expect(plain(receipt)).toContain('پرداخت‌شده: ۱۱۵٬۰۰۰ تومان (۱٬۱۵۰٬۰۰۰ ریال)');
    await club.deps.notices.drained();
    await club.stop();

    // "This wasn't me" on that receipt: the managers' alert is queued with the dispute and survives the stop.
    club = await startTestClub({ api, database, notifications: false });
    await member.press('⚠️ این خرید من نبود', { messageId: receipt.message_id });
    await member.waitFor(hasText(/به مدیر اطلاع دادیم/));
    const alerts = await database.db.selectFrom('notifications').select('status').where('member_id', '=', ownerId).where('kind', '=', 'dispute').execute();
    expect(alerts).toEqual([{ status: 'pending' }]);
    await club.stop();
    const alerted = owner.waitFor(hasText(/نسرین says purchase #\d+ \(120,000 Toman \(1,200,000 Rials\)\) wasn't them/));
    club = await startTestClub({ api, database });
    expect(inlineButtons(await alerted).map((b) => b.text)).toEqual([expect.stringMatching(/^🚫 Void #\d+$/), expect.stringMatching(/^✖️ Dismiss #\d+$/)]);
    await club.deps.notices.drained();
    expect(receipts(member)).toHaveLength(0);
    expect(member.messages.filter(hasText(/۱۱۵\+ امتیاز برای خرید/))).toHaveLength(1);
    expect(cashier.messages.filter(hasText(/نسرین approved paying/))).toHaveLength(1);
  });

  it('a lottery drawn on a process that stops right after the draw: the next one tells the winner once, in their saved language', async () => {
    // Saved Persian, app set to English: the notice follows the saved language.
    const member = api.user({ id: 7400000040, first_name: 'Ali', language_code: 'en' });
    const { id } = await join(member, 'علی', 'fa');
    const at = new Date();
    await database.db.transaction().execute((trx) =>
      credit(trx, { memberId: id, currency: 'points', amount: 300, kind: 'earn', reason: 'test', idempotencyKey: `outbox-lottery:${id}`, expiresAt: null, at }),
    );
    const input = { title: 'Autumn', prizes: [{ title: 'Cake', count: 1, points: 40 }], startsAt: new Date(at.getTime() - 3_600_000), endsAt: new Date(at.getTime() + 3_600_000), minTierId: null, optedInOnly: false, segmentId: null, ticketMode: 'bought' as const, pointsPerTicket: 100, uniqueWinners: true, excludeLast: 0 };
    const { lottery } = await createLottery(database.db, ownerId, input, at);
    await buyTickets(database.db, { lotteryId: lottery.id, memberId: id, tickets: 2, key: `outbox-lottery-buy:${id}`, now: at });
    const won = (m: FakeUser) => m.messages.filter(hasText(/شما در قرعه‌کشی «Autumn» برندهٔ «Cake» شدید/));

    // The draw commits on a process whose sender never runs: the prize is paid and the notice is a row.
    club = await startTestClub({ api, database, notifications: false });
    const env = { now: new Date(), timeZone: 'Asia/Tehran', defaults: { tierWindowDays: 365, validity: { mode: 'days' as const, days: 365 } } };
    expect((await drawLottery(database.db, lottery.id, env))?.proof.winners.map((w) => w.member)).toEqual([id]);
    expect(await statuses(id)).toEqual(['lottery_won:pending']);
    await club.stop();
    expect(won(member)).toHaveLength(0);

    // The next process tells the winner, in Persian, with the points credited.
    const told = member.waitFor(hasText(/🎉 شما در قرعه‌کشی «Autumn» برندهٔ «Cake» شدید\.\n۴۰ امتیاز به کیف امتیاز شما اضافه شد\./));
    club = await startTestClub({ api, database });
    await told;
    await club.deps.notices.drained();
    expect(await statuses(id)).toEqual(['lottery_won:sent']);
    await club.stop();

    // Drawing again changes nothing, and a third process sends nothing again.
    expect(await drawLottery(database.db, lottery.id, env)).toBeNull();
    club = await startTestClub({ api, database });
    await club.deps.notices.drained();
    expect(won(member)).toHaveLength(1);
    expect(await statuses(id)).toEqual(['lottery_won:sent']);
  });

  it('a process killed while sending: once its lease runs out, the next one sends what it had claimed', async () => {
    const member = api.user({ id: 7400000011, first_name: 'Kian', language_code: 'fa' });
    const { id } = await join(member, 'کیان', 'fa');
    club = await startTestClub({ api, database, notifications: false });
    await purchase(id);
    await club.stop();
    // What kill -9 leaves behind between the claim and the send: a claimed row, a lease not yet run out.
    await database.db.updateTable('notifications').set({ status: 'sending', claimed_at: new Date() }).where('member_id', '=', id).execute();
    await database.db.deleteFrom('dispatch_leases').execute();
    await database.db.insertInto('dispatch_leases').values({ platform: 'telegram', holder: 'killed-process', until: new Date(Date.now() + 1500), paused_until: null }).execute();

    const told = member.waitFor(hasText(/۱۲۰\+ امتیاز برای خرید/));
    club = await startTestClub({ api, database });
    await told;
    await club.deps.notices.drained();
    expect(receipts(member)).toHaveLength(1);
    expect(await statuses(id)).toEqual(['receipt:sent']);
  });

  it('a 429 from the Bot API delays notices; every one still arrives once', async () => {
    const members = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => {
        const user = api.user({ id: 7400000020 + i, first_name: `M${i}`, language_code: 'en' });
        return { user, id: (await join(user, `M${i}`, 'en')).id };
      }),
    );
    club = await startTestClub({ api, database });
    api.setRateLimit(2);
    const arrived = members.map((m) => m.user.waitFor(hasText(/🎁 5 points from us: sorry/), 15_000));
    for (const m of members) {
      await queueNotice(database.db, m.id, { kind: 'goodwill', lines: [{ key: 'tickets.goodwill_member', params: { points: 5, reason: 'sorry' } }] }, `test-429:${m.id}`, new Date());
    }
    club.deps.notices.kick();
    await Promise.all(arrived);
    await club.deps.notices.drained();
    expect(api.calls.some((c) => c.method === 'sendMessage' && c.status === 429)).toBe(true);
    for (const m of members) expect(m.user.messages.filter(hasText(/points from us/))).toHaveLength(1);
    const lease = await database.db.selectFrom('dispatch_leases').select('paused_until').where('platform', '=', 'telegram').executeTakeFirstOrThrow();
    expect(lease.paused_until).not.toBeNull();
  });

  it('a member who blocked the bot (403): the notice is marked blocked, the account too, and nothing more is queued for it', async () => {
    const member = api.user({ id: 7400000030, first_name: 'Sara', language_code: 'fa' });
    const { id } = await join(member, 'سارا', 'fa');
    member.block();
    club = await startTestClub({ api, database });
    await purchase(id);
    await club.deps.notices.drained();
    expect(await statuses(id)).toEqual(['receipt:blocked']);
    const account = await database.db.selectFrom('member_accounts').select('blocked').where('member_id', '=', id).executeTakeFirstOrThrow();
    expect(account.blocked).toBe(true);
    await purchase(id);
    expect(await statuses(id)).toEqual(['receipt:blocked']);
  });
});
