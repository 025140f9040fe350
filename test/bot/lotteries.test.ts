import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { createLottery, type LotteryProof } from '../../src/club/lotteries.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { drawDueLotteries } from '../../src/jobs/lotteries.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

const run = promisify(execFile);

/** `npm run verify-lottery -- <file>` as a member would run it: exit code and output. */
async function verifyLottery(file: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run('npm', ['run', '--silent', 'verify-lottery', '--', file], { cwd: path.resolve(import.meta.dirname, '../..') });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe(`lotteries through the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let ownerId: number;
  const users: Record<string, FakeUser> = {};
  const ids: Record<string, number> = {};
  // 12:00 in Tehran on 10 Azar 1405; the tests move the club's clock, never wait for the real one.
  let clock = new Date('2026-12-01T08:30:00Z');
  let commitment = '';

  const pointsOf = async (id: number) => (await database.db.selectFrom('members').select('points_balance').where('id', '=', id).executeTakeFirstOrThrow()).points_balance;

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_lottery_bot' });
    await api.start();
    club = await startTestClub({ api, database, now: () => clock });
    owner = api.user({ id: 7950000001, first_name: 'Owner', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129950001'], now: clock };
    ownerId = (await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129950001', firstName: 'Owner', locale: 'en' }, policy)).member.id;
    await database.db.updateTable('members').set({ marketing_opt_in: false }).where('id', '=', ownerId).execute();
    for (const [i, [name, locale]] of ([['Ava', 'en'], ['Bita', 'fa'], ['Cyrus', 'en']] as const).entries()) {
      users[name] = api.user({ id: 7950000010 + i, first_name: name, language_code: locale });
      const { member } = await joinClub(database.db, { platform: 'telegram', userId: users[name].id, chatId: users[name].id }, { phone: `+98912995001${i}`, firstName: name, locale }, policy);
      ids[name] = member.id;
    }
    // Cyrus turned offers off: no announcements for him.
    await database.db.updateTable('members').set({ marketing_opt_in: false }).where('id', '=', ids.Cyrus!).execute();
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });
  afterEach(async () => {
    expect(await ledgerViolations(database.db)).toEqual([]);
    expect(api.calls.filter((c) => c.status === 400 && !c.description?.includes('message is not modified'))).toEqual([]);
  });

  it('a manager creates a lottery with buttons; it is announced with the commitment to its seed', async () => {
    await owner.send('/lotteries');
    await owner.waitFor(hasText(/Lotteries[\s\S]*No lotteries yet/));
    await owner.press('➕ New lottery');
    await owner.waitFor(hasText(/A title for the lottery/));
    await owner.send('Yalda lottery');
    await owner.waitFor(hasText(/Prize 1: what is it called/));
    await owner.send('Cake');
    await owner.waitFor(hasText(/How many of this prize/));
    await owner.send('none');
    await owner.waitFor(hasText(/whole number from 1 to 100/));
    await owner.tapReply('1');
    await owner.waitFor(hasText(/What does the winner get/));
    await owner.press('🎁 The prize itself (collected at the shop)');
    await owner.waitFor(hasText(/Prizes so far:\s*• 1 × Cake/));
    await owner.press('➕ Another prize');
    await owner.waitFor(hasText(/Prize 2/));
    await owner.send('Bonus');
    await owner.waitFor(hasText(/How many of this prize/));
    await owner.tapReply('1');
    await owner.waitFor(hasText(/What does the winner get/));
    await owner.press('⭐ Points');
    await owner.waitFor(hasText(/How many points/));
    await owner.tapReply('500');
    await owner.waitFor(hasText(/Prizes so far:\s*• 1 × Cake\s*• 1 × Bonus \(500 points\)/));
    await owner.press("✅ That's all");
    await owner.waitFor(hasText(/First day of the period/));
    await owner.tapReply('1405/09/10');
    await owner.waitFor(hasText(/Last day of the period/));
    await owner.send('1405/9/5');
    await owner.waitFor(hasText(/That is not a Jalali date/));
    await owner.send('۱۴۰۵/۹/۲۰');
    await owner.waitFor(hasText(/lowest tier/));
    await owner.press('Every tier');
    await owner.waitFor(hasText(/Only members who receive offers/));
    await owner.press('No');
    await owner.waitFor(hasText(/How are tickets earned/));
    await owner.press('⭐ 1 per N points earned');
    await owner.waitFor(hasText(/One ticket for how many points/));
    await owner.tapReply('100');
    await owner.waitFor(hasText(/win more than one prize/));
    await owner.press('No, one prize each');
    await owner.waitFor(hasText(/Leave out the winners/));
    await owner.press('No');
    const summary = await owner.waitFor(hasText(/Create it and announce it/));
    expect(plain(summary)).toMatch(/Yalda lottery\nFrom 1 December 2026 to the end of 11 December 2026\n1 ticket for every 100 points[\s\S]*Who: every member\nOne prize per member/);

    const inboxes = [users.Ava!, users.Bita!].map((u) => u.waitFor(hasText(/Yalda lottery/), 10_000));
    await owner.press('✅ Create and announce');
    const created = await owner.waitFor(hasText(/Lottery No\. 1 «Yalda lottery» is created and announced/));
    commitment = /Commitment: ([0-9a-f]{64})/.exec(plain(created))![1]!;
    const lottery = await database.db.selectFrom('lotteries').selectAll().executeTakeFirstOrThrow();
    expect(lottery).toMatchObject({ commitment, ticket_mode: 'points', points_per_ticket: 100, unique_winners: true, status: 'open' });
    expect(lottery.ends_at.toISOString()).toBe('2026-12-11T20:30:00.000Z');
    // Announced to members who take offers, each in their own language, with the commitment.
    const [toAva, toBita] = await Promise.all(inboxes);
    expect(plain(toAva!)).toMatch(/^🎟 New lottery: «Yalda lottery» \(No\. 1\)\n\nFrom 1 December 2026 to the end of 11 December 2026/);
    expect(plain(toBita!)).toMatch(/^🎟 قرعه‌کشی تازه: «Yalda lottery» \(شمارهٔ ۱\)\n\nاز ۱۰ آذر ۱۴۰۵ تا پایان ۲۰ آذر ۱۴۰۵/);
    for (const message of [toAva!, toBita!]) expect(plain(message)).toContain(commitment);
    expect(users.Cyrus!.messages.some(hasText(/Yalda/))).toBe(false);
  });

  it('members earn tickets with points at the till and see "My tickets" with their odds', async () => {
    for (const [name, amount] of [['Ava', '3000000'], ['Bita', '1000000']] as const) {
      await owner.send(`/member ${ids[name]}`);
      await owner.waitFor(hasText(new RegExp(`Member \\d+: ${name}`)));
      await owner.press('🧾 Record purchase');
      await owner.waitFor(hasText(/What is the amount/));
      await owner.send(`${amount} ریال`);
      await owner.waitFor(hasText(/Receipt number/));
      await owner.tapReply('Skip');
      await owner.waitFor(hasText(/Points to earn/));
      await owner.press('✅ Confirm');
      await owner.waitFor(hasText(/recorded/));
    }
    const ava = users.Ava!;
    await ava.send('/menu');
    await ava.waitFor((m) => inlineButtons(m).some((b) => b.text === '🎟 Lottery'));
    await ava.press('🎟 Lottery');
    const screen = await ava.waitFor(hasText(/Lotteries[\s\S]*Yalda lottery/));
    expect(plain(screen)).toContain('🎟 My tickets: 3 of 4 (75%)');
    expect(plain(screen)).toContain('Chance of winning a prize: about 100%');
    expect(plain(screen)).toContain(commitment);

    const bita = users.Bita!;
    await bita.send('/menu');
    await bita.waitFor((m) => inlineButtons(m).some((b) => b.text === '🎟 قرعه‌کشی'));
    await bita.press('🎟 قرعه‌کشی');
    const persian = await bita.waitFor(hasText(/قرعه‌کشی‌ها/));
    expect(plain(persian)).toContain('بلیت‌های من: ۱ از ۴ (۲۵٪)');
    // Two members with tickets and two prizes, one each: both will win.
    expect(plain(persian)).toContain('شانس بردن یک جایزه: حدود ۱۰۰٪');
    expect(plain(persian)).toContain('به ازای هر ۱۰۰ امتیازی');

    // Cyrus has no points in the period: no tickets, no chance, but he sees the lottery.
    await users.Cyrus!.send('/menu');
    await users.Cyrus!.waitFor((m) => inlineButtons(m).some((b) => b.text === '🎟 Lottery'));
    await users.Cyrus!.press('🎟 Lottery');
    expect(plain(await users.Cyrus!.waitFor(hasText(/My tickets/)))).toMatch(/My tickets: 0 of 4 \(0%\)\nChance of winning a prize: about 0%/);
  });

  it('tickets bought with points: the member approves in their own chat, and a double press pays once', async () => {
    await createLottery(
      database.db,
      ownerId,
      { title: 'Spring', prizes: [{ title: 'Tea set', count: 1 }], startsAt: clock, endsAt: new Date(clock.getTime() + 30 * 86_400_000), minTierId: null, optedInOnly: true, segmentId: null, ticketMode: 'bought', pointsPerTicket: 50, uniqueWinners: true, excludeLast: 0 },
      clock,
    );
    const ava = users.Ava!;
    const before = await pointsOf(ids.Ava!);
    await ava.send('/menu');
    await ava.waitFor((m) => inlineButtons(m).some((b) => b.text === '🎟 Lottery'));
    await ava.press('🎟 Lottery');
    await ava.waitFor(hasText(/Spring/));
    await ava.press('🎟 Buy tickets: Spring');
    await ava.waitFor(hasText(new RegExp(`A ticket costs 50 points; you have ${before}\\. How many`)));
    await ava.press('5 🎟');
    const offer = await ava.waitFor(hasText(/Buy 5 tickets for «Spring» for 250 points from your wallet/));
    const yes = inlineButtons(offer).find((b) => b.text === '✅ Yes, buy')!.callback_data!;
    const done = ava.waitFor(hasText(/Done: 5 tickets for 250 points\. You now have 5 tickets in «Spring»/));
    await ava.pressData(yes, { messageId: offer.message_id });
    await ava.pressData(yes, { messageId: offer.message_id });
    await done;
    expect(await pointsOf(ids.Ava!)).toBe(before - 250);
    // Cyrus does not take offers: this lottery (offers only) has no buy button for him.
    await users.Cyrus!.send('/menu');
    await users.Cyrus!.waitFor((m) => inlineButtons(m).some((b) => b.text === '🎟 Lottery'));
    await users.Cyrus!.press('🎟 Lottery');
    const cyrus = await users.Cyrus!.waitFor(hasText(/Spring/));
    expect(plain(cyrus)).toContain('This lottery is not open to you.');
    expect(inlineButtons(cyrus).map((b) => b.text)).not.toContain('🎟 Buy tickets: Spring');
  });

  it('a manager draws by hand once; the period-end draw runs once across two processes; winners are told; the proof verifies and a tampered one fails', async () => {
    // By hand, before the period ends.
    await owner.send('/lotteries');
    await owner.waitFor(hasText(/No\. 2 «Spring»: open/));
    await owner.press('🎲 Draw now: Spring');
    const confirm = await owner.waitFor(hasText(/Draw «Spring» now\?/));
    const drawData = inlineButtons(confirm)[0]!.callback_data!;
    const avaWins = users.Ava!.waitFor(hasText(/You won «Tea set» in the lottery «Spring»\.\nTo collect it, show this message and your member card/));
    await owner.press('🎲 Draw', { messageId: confirm.message_id });
    await owner.waitFor(hasText(new RegExp(`Lottery «Spring» is drawn\\.\\nWinners:\\n• Tea set: member ${ids.Ava}`)));
    await avaWins;
    await owner.pressData(drawData, { messageId: confirm.message_id });
    await owner.waitFor(hasText(/already been drawn/));

    // The Yalda lottery's period ends: two processes' minute ticks at once draw it once.
    clock = new Date('2026-12-11T20:31:00Z');
    // Each winner is told, and everyone gets the result, in their own language.
    const told = [users.Ava!.waitFor(hasText(/You won «(Cake|Bonus)»/), 10_000), users.Bita!.waitFor(hasText(/برندهٔ «(Cake|Bonus)»/), 10_000)];
    const results = [users.Bita!.waitFor(hasText(/نتیجهٔ قرعه‌کشی «Yalda lottery»/), 10_000), users.Ava!.waitFor(hasText(/Results of the lottery «Yalda lottery»/), 10_000)];
    const before = { Ava: await pointsOf(ids.Ava!), Bita: await pointsOf(ids.Bita!) };
    await Promise.all([drawDueLotteries(club.deps), drawDueLotteries(club.deps)]);
    const winners = await database.db.selectFrom('lottery_winners').innerJoin('lotteries', 'lotteries.id', 'lottery_id').select(['member_id', 'prize_index', 'notified_at']).where('title', '=', 'Yalda lottery').orderBy('position').execute();
    expect(winners.map((w) => w.member_id).sort()).toEqual([ids.Ava, ids.Bita]);
    await Promise.all(told);
    const bonusWinner = winners.find((w) => w.prize_index === 1)!.member_id;
    const gained = { Ava: (await pointsOf(ids.Ava!)) - before.Ava, Bita: (await pointsOf(ids.Bita!)) - before.Bita };
    expect(gained).toEqual({ Ava: bonusWinner === ids.Ava ? 500 : 0, Bita: bonusWinner === ids.Bita ? 500 : 0 });
    const bonusUser = bonusWinner === ids.Ava ? users.Ava! : users.Bita!;
    expect(bonusUser.messages.some(hasText(/500 points have been added to your wallet|۵۰۰ امتیاز به کیف امتیاز شما اضافه شد/))).toBe(true);
    // The result went out once through the campaign outbox, with the digest and the revealed seed.
    const announced = plain(await results[0]!);
    await results[1];
    const lottery = await database.db.selectFrom('lotteries').selectAll().where('title', '=', 'Yalda lottery').executeTakeFirstOrThrow();
    expect(announced).toContain(lottery.list_digest!);
    expect(announced).toContain(lottery.seed);
    expect(await database.db.selectFrom('campaigns').select('id').where('id', '=', lottery.result_campaign_id!).execute()).toHaveLength(1);

    // A member downloads the ticket list and the seed: member numbers only.
    const ava = users.Ava!;
    await ava.send('/menu');
    await ava.waitFor((m) => inlineButtons(m).some((b) => b.text === '🎟 Lottery'));
    await ava.press('🎟 Lottery');
    const screen = await ava.waitFor(hasText(/Yalda lottery \(No\. 1\), drawn on/));
    expect(plain(screen)).toContain(lottery.seed);
    const file = ava.waitFor((m) => m.document === true);
    await ava.press('📄 Ticket list and seed: Yalda lottery');
    const document = await file;
    expect(plain(document)).toContain('npm run verify-lottery -- lottery-1.json');
    const text = document.documentBytes!.toString('utf8');
    expect(text).not.toMatch(/Ava|Bita|\+98|0912/);
    const proof = JSON.parse(text) as LotteryProof;
    expect(proof.tickets).toEqual([{ member: ids.Ava, tickets: 3 }, { member: ids.Bita, tickets: 1 }]);

    const dir = mkdtempSync(path.join(tmpdir(), 'lottery-'));
    const good = path.join(dir, 'lottery-1.json');
    writeFileSync(good, text);
    const verified = await verifyLottery(good);
    expect(verified.out).toMatch(/verified/);
    expect(verified.code).toBe(0);

    // One ticket more for Bita: the list no longer matches the digest that was published.
    const tampered = path.join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify({ ...proof, tickets: [proof.tickets[0], { member: ids.Bita, tickets: 2 }] }));
    const refused = await verifyLottery(tampered);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/NOT VERIFIED: the ticket list does not match its digest/);
  }, 30_000);
});
