import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { announceBadges } from '../../src/jobs/badges.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';

describe(`quizzes, news and events through the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let ava: FakeUser;
  /** Reads Persian: the club's own announcements reach each member in their language. */
  let nima: FakeUser;
  let avaId: number;
  const clock = new Date('2026-12-01T08:30:00Z');

  const pointsOf = async (id: number) => (await database.db.selectFrom('members').select('points_balance').where('id', '=', id).executeTakeFirstOrThrow()).points_balance;

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_quiz_bot' });
    await api.start();
    club = await startTestClub({ api, database, now: () => clock });
    owner = api.user({ id: 7960000001, first_name: 'Owner', language_code: 'en' });
    ava = api.user({ id: 7960000002, first_name: 'Ava', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129960001'], now: clock };
    await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989129960001', firstName: 'Owner', locale: 'en' }, policy);
    nima = api.user({ id: 7960000003, first_name: 'Nima', language_code: 'fa' });
    await joinClub(database.db, { platform: 'telegram', userId: nima.id, chatId: nima.id }, { phone: '+989129960003', firstName: 'نیما', locale: 'fa' }, policy);
    avaId = (await joinClub(database.db, { platform: 'telegram', userId: ava.id, chatId: ava.id }, { phone: '+989129960002', firstName: 'Ava', lastName: 'Karimi', locale: 'en' }, policy)).member.id;
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

  it('a manager builds a quiz; a member answers it once, however fast they press; the leaderboard shows first name and initial', async () => {
    await owner.send('/quizzes');
    await owner.waitFor(hasText(/Quizzes[\s\S]*No quizzes yet/));
    await owner.press('➕ New quiz');
    await owner.waitFor(hasText(/A title for the quiz/));
    await owner.send('Tea quiz');
    await owner.waitFor(hasText(/Question 1:/));
    await owner.send('Where does Lahijan tea grow?');
    await owner.waitFor(hasText(/The options, one per line/));
    await owner.send('Gilan');
    await owner.waitFor(hasText(/send 2 to 4 options/));
    await owner.send('Gilan\nYazd\nKerman');
    await owner.waitFor(hasText(/Which one is right/));
    await owner.press('Gilan');
    await owner.waitFor(hasText(/Questions so far: 1\./));
    await owner.press('➕ Another question');
    await owner.waitFor(hasText(/Question 2:/));
    await owner.send('Best with?');
    await owner.waitFor(hasText(/The options/));
    await owner.send('Nabat\nSalt');
    await owner.waitFor(hasText(/Which one is right/));
    await owner.press('Nabat');
    await owner.waitFor(hasText(/Questions so far: 2\./));
    await owner.press("✅ That's all");
    await owner.waitFor(hasText(/Points for each right answer/));
    await owner.tapReply('10');
    await owner.waitFor(hasText(/time limit/));
    await owner.press('30 seconds');
    await owner.waitFor(hasText(/How long is it open/));
    await owner.press('3 days');
    await owner.waitFor(hasText(/Tea quiz: 2 questions, 10 points for each right answer, open until 4 December 2026/));
    const announced = ava.waitFor(hasText(/New quiz: «Tea quiz»\n2 questions, 10 points for each right answer, open until 4 December 2026[\s\S]*\/quiz/), 10_000);
    const announcedFa = nima.waitFor(hasText(/مسابقهٔ تازه: «Tea quiz»[\s\S]*۱۳ آذر ۱۴۰۵[\s\S]*\/quiz/), 10_000);
    await owner.press('✅ Publish');
    await owner.waitFor(hasText(/Quiz No\. 1 «Tea quiz» is published/));
    await announced;
    await announcedFa;

    const before = await pointsOf(avaId);
    await ava.send('/quiz');
    await ava.waitFor(hasText(/Tea quiz: 2 questions/));
    await ava.press('▶️ Tea quiz');
    const first = await ava.waitFor(hasText(/Tea quiz, question 1 of 2 \(30 seconds\)\s+Where does Lahijan tea grow/));
    expect(inlineButtons(first).map((b) => b.text)).toEqual(['Gilan', 'Yazd', 'Kerman']);
    // Two presses at once (a double tap, or the same chat open on two devices): one answer counts.
    const [right, wrong] = inlineButtons(first).map((b) => b.callback_data!);
    const second = ava.waitFor(hasText(/question 2 of 2/));
    await Promise.all([ava.pressData(right!, { messageId: first.message_id }), ava.pressData(right!, { messageId: first.message_id }), ava.pressData(wrong!, { messageId: first.message_id })]);
    const next = await second;
    expect(plain(first)).toMatch(/Right! \+10 points/);
    expect(await pointsOf(avaId)).toBe(before + 10);
    const answers = await database.db.selectFrom('quiz_answers').select(['choice', 'correct']).where('member_id', '=', avaId).orderBy('question_id').execute();
    expect(answers).toEqual([{ choice: 0, correct: true }, { choice: null, correct: null }]);

    const done = ava.waitFor(hasText(/you got 1 of 2 right/));
    await ava.press('Salt', { messageId: next.message_id });
    await done;
    expect(plain(next)).toMatch(/Not this one\. The answer was: Nabat/);
    expect(await pointsOf(avaId)).toBe(before + 10);
    // No second attempt.
    await ava.send('/quiz');
    const listing = await ava.waitFor(hasText(/You finished it: 1 of 2 right/));
    expect(inlineButtons(listing).map((b) => b.text)).toEqual(['🏆 Leaderboard: Tea quiz']);
    await ava.press('🏆 Leaderboard: Tea quiz');
    const board = await ava.waitFor(hasText(/🏆 Tea quiz/));
    expect(plain(board)).toMatch(/1\. Ava K\.: 1 right in 0 s/);
    expect(plain(board)).not.toContain('Karimi');
  });

  it('a manager posts news and an event with a photo, date and link, pushed to members; members browse them newest first', async () => {
    await owner.send('/news');
    await owner.waitFor(hasText(/Send the news: a text, or a photo/));
    await owner.send('Our new tea corner is open.');
    await owner.waitFor(hasText(/Is it an event\?/));
    await owner.tapReply('Skip');
    await owner.waitFor(hasText(/A link button\?/));
    // "Posted" and the question after it come one after the other: wait for the question.
    const ask = owner.waitFor(hasText(/Send it to members now as well/));
    await owner.tapReply('Skip');
    await ask;
    await owner.press("✅ No, that's all");
    await owner.waitFor(hasText(/^Done\.$/));

    await owner.send('/news');
    await owner.waitFor(hasText(/Send the news/));
    await owner.sendPhoto('Yalda night: poetry and pomegranates');
    await owner.waitFor(hasText(/Is it an event\?/));
    await owner.send('1405/9/31');
    await owner.waitFor(hasText(/not a Jalali date/));
    await owner.send('۱۴۰۵/۹/۳۰');
    await owner.waitFor(hasText(/A link button\?/));
    const askAgain = owner.waitFor(hasText(/Send it to members now as well/));
    await owner.send('Book a seat | https://example.com/yalda');
    await askAgain;
    const pushed = ava.waitFor((m) => m.photo === true && /Yalda night/.test(m.caption ?? ''), 10_000);
    const pushedFa = nima.waitFor((m) => m.photo === true && /Yalda night/.test(m.caption ?? ''), 10_000);
    await owner.press('📣 Send to members');
    await owner.waitFor(hasText(/on its way to 3 members/));
    const push = await pushed;
    expect(push.caption).toContain('📅 21 December 2026');
    expect((await pushedFa).caption).toContain('📅 ۳۰ آذر ۱۴۰۵');
    expect(inlineButtons(push)).toEqual([{ text: 'Book a seat', url: 'https://example.com/yalda' }]);

    await ava.send('/menu');
    await ava.waitFor((m) => inlineButtons(m).some((b) => b.text === '📰 News and events'));
    const newest = ava.waitFor((m) => m.photo === true && /1 of 2/.test(m.caption ?? ''));
    await ava.press('📰 News and events');
    const first = await newest;
    expect(first.caption).toMatch(/📅 21 December 2026\n\nYalda night: poetry and pomegranates\n\n1 of 2/);
    expect(inlineButtons(first).map((b) => b.text)).toEqual(['Book a seat', '◀️ Older', '🏠 Main menu']);
    await ava.press('◀️ Older', { messageId: first.message_id });
    const older = await ava.waitFor(hasText(/Our new tea corner is open\.\n\n2 of 2/));
    expect(inlineButtons(older).map((b) => b.text)).toEqual(['Newer ▶️', '🏠 Main menu']);
  });

  it('the owner sets a badge; a purchase at the till earns it, announced in chat and shown on "My points"', async () => {
    await owner.send('/badges');
    await owner.waitFor(hasText(/Badges[\s\S]*✅ 🛍 First purchase \(first_purchase\): 20 points[\s\S]*Streak bonuses \(weeks in a row: points\): 4: 50, 8: 100/));
    await owner.send('/badges first_purchase 25');
    await owner.waitFor(hasText(/Saved\.[\s\S]*First purchase \(first_purchase\): 25 points/));
    await owner.press('✅ 👤 Profile complete');
    await owner.waitFor(hasText(/⏸ 👤 Profile complete \(profile_complete\): off/));

    await owner.send(`/member ${avaId}`);
    await owner.waitFor(hasText(/Member \d+: Ava/));
    await owner.press('🧾 Record purchase');
    await owner.waitFor(hasText(/What is the amount/));
    await owner.send('500000');
    await owner.waitFor(hasText(/Receipt number/));
    await owner.tapReply('Skip');
    await owner.waitFor(hasText(/Points to earn/));
    await owner.press('✅ Confirm');
    await owner.waitFor(hasText(/recorded/));
    const before = await pointsOf(avaId);
    // The per-minute job (run by hand here: the tests hold the scheduler) finds the purchase.
    const told = ava.waitFor(hasText(/New badge: 🛍 First purchase, \+25 points/));
    expect(await announceBadges(club.deps)).toBe(1);
    await told;
    expect(await pointsOf(avaId)).toBe(before + 25);
    expect(await announceBadges(club.deps)).toBe(0);

    await ava.send('/menu');
    await ava.waitFor((m) => inlineButtons(m).some((b) => b.text === '⭐ My points'));
    await ava.press('⭐ My points');
    await ava.waitFor(hasText(/🏅 Badges: 🛍 First purchase$/));
  });
});
