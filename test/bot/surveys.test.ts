import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { recordPurchase } from '../../src/club/purchases.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, plain } from '../support/messages.ts';
import { parse as parseCsv } from 'csv-parse/sync';


describe(`surveys built and answered in the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  const members: { user: FakeUser; id: number }[] = [];

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_survey_bot' });
    await api.start();
    club = await startTestClub({ api, database });
    owner = api.user({ id: 7800000001, first_name: 'Owner', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989128880001'], now: new Date() };
    await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989128880001', firstName: 'Owner', locale: 'en' }, policy);
    for (const [i, name] of ['Ava', 'Babak', 'Cima'].entries()) {
      const user = api.user({ id: 7800000010 + i, first_name: name, language_code: 'en' });
      const { member } = await joinClub(database.db, { platform: 'telegram', userId: user.id, chatId: user.id }, { phone: `+98912888001${i}`, firstName: name, locale: 'en' }, policy);
      members.push({ user, id: member.id });
    }
    const branchId = (await database.db.selectFrom('branches').select('id').executeTakeFirstOrThrow()).id;
    await recordPurchase(database.db, { memberId: members[0]!.id, branchId, cashierMemberId: members[1]!.id, amountRials: 100_000, operationId: 'survey-test-purchase' }, { now: new Date(), timeZone: 'Asia/Tehran' });
    // Cima turned offers off: surveys never reach her.
    await database.db.updateTable('members').set({ marketing_opt_in: false }).where('id', '=', members[2]!.id).execute();
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('the owner builds and publishes a survey; members answer with buttons and are rewarded once; results and CSV', async () => {
    await owner.send('/surveys');
    await owner.waitFor(hasText(/Surveys[\s\S]*No surveys yet/));
    await owner.press('➕ New survey');
    await owner.waitFor(hasText(/Survey title/));
    await owner.send('نظر شما دربارهٔ فروشگاه | Your view of the shop');
    await owner.waitFor(hasText(/Question 1: what kind/));
    await owner.press('⭐ Rating 1–5');
    await owner.waitFor(hasText(/The question/));
    await owner.send('کیفیت کالا؟ | Product quality?');
    await owner.waitFor(hasText(/Must members answer it/));
    await owner.press('Required');
    await owner.waitFor(hasText(/Question 2/));
    await owner.press('🔘 One choice');
    await owner.waitFor(hasText(/The question/));
    await owner.send('Which branch do you visit most?');
    await owner.waitFor(hasText(/The choices/));
    await owner.send('only one');
    await owner.waitFor(hasText(/2 to 10 choices/));
    await owner.send('North, South, Online');
    await owner.waitFor(hasText(/Must members answer it/));
    await owner.press('Required');
    await owner.waitFor(hasText(/Question 3/));
    await owner.press('☑️ Several choices');
    await owner.waitFor(hasText(/The question/));
    await owner.send('What do you buy?');
    await owner.waitFor(hasText(/The choices/));
    await owner.send('Bread\nCake\nCoffee');
    await owner.waitFor(hasText(/Must members answer it/));
    await owner.press('Optional');
    await owner.waitFor(hasText(/Question 4/));
    await owner.press('📈 NPS 0–10');
    await owner.waitFor(hasText(/The question/));
    await owner.send('Would you recommend us?');
    await owner.waitFor(hasText(/Must members answer it/));
    await owner.press('Required');
    await owner.waitFor(hasText(/Question 5/));
    await owner.press('✍️ Free text');
    await owner.waitFor(hasText(/The question/));
    await owner.send('Anything else?');
    await owner.waitFor(hasText(/Must members answer it/));
    await owner.press('Optional');
    await owner.waitFor(hasText(/Question 6/));
    await owner.press('✅ No more questions');
    await owner.waitFor(hasText(/Reward in points/));
    await owner.send('-5');
    await owner.waitFor(hasText(/whole number of points/));
    await owner.send('30');
    await owner.waitFor(hasText(/Who receives it/));
    await owner.press('All members');
    await owner.waitFor(hasText(/Close it after how many days/));
    await owner.tapReply('Skip');
    const actions = owner.waitFor(hasText(/Preview it, then publish it/));
    await owner.waitFor(hasText(/Survey #\d+ saved as a draft with 5 questions/));
    await actions;
    const survey = await database.db.selectFrom('surveys').selectAll().executeTakeFirstOrThrow();
    await owner.press(`👁 Preview #${survey.id}`);
    await owner.waitFor(hasText(/Your view of the shop \(reward 30 points\)[\s\S]*2\. Which branch do you visit most\? · 🔘 One choice \(North \/ South \/ Online\)/));

    const [ava, babak, cima] = members;
    const avaInvite = ava!.user.waitFor(hasText(/Your view of the shop\n5 short questions, and 30 points/));
    const babakInvite = babak!.user.waitFor(hasText(/Your view of the shop/));
    await owner.press(`🚀 Publish #${survey.id}`);
    await owner.waitFor(hasText(/published: 3 members will receive it/)); // the owner is a member too
    const invite = await avaInvite;
    await babakInvite;
    expect(cima!.user.messages).toHaveLength(0);

    // Ava answers everything, with a restart in the middle.
    const a = ava!.user;
    await a.press('▶️ Start', { messageId: invite.message_id });
    await a.waitFor(hasText(/1\/5 Product quality\?/));
    await a.press('4⭐');
    await a.waitFor(hasText(/2\/5 Which branch/));
    await a.press('South');
    const multi = await a.waitFor(hasText(/3\/5 What do you buy/));
    await club.stop();
    club = await startTestClub({ api, database });
    await a.press('Cake', { messageId: multi.message_id });
    await a.waitFor((m) => m.message_id === multi.message_id && JSON.stringify(m.reply_markup).includes('✅ Cake'));
    await a.press('Coffee', { messageId: multi.message_id });
    await a.waitFor((m) => m.message_id === multi.message_id && JSON.stringify(m.reply_markup).includes('✅ Coffee'));
    await a.press('✅ Done', { messageId: multi.message_id });
    await a.waitFor(hasText(/4\/5 Would you recommend us/));
    await a.press('10');
    await a.waitFor(hasText(/5\/5 Anything else/));
    // Answers are what members typed: `&` and `<` must not break the results message.
    await a.send('More cakes & <fresh> bread, please');
    await a.waitFor(hasText(/Thank you for answering: \+30 points/));

    // Babak skips the optional choice, answers with what a spreadsheet would run as a formula;
    // pressing an old button is answered, not crashed.
    const b = babak!.user;
    await b.press('▶️ Start');
    await b.waitFor(hasText(/1\/5/));
    await b.press('2⭐');
    await b.waitFor(hasText(/2\/5/));
    await b.press('North');
    const third = await b.waitFor(hasText(/3\/5/));
    await b.press('Skip', { messageId: third.message_id });
    await b.waitFor(hasText(/4\/5/));
    await b.press('3');
    await b.waitFor(hasText(/5\/5/));
    await b.send('=HYPERLINK("http://evil.example","win")');
    await b.waitFor(hasText(/Thank you for answering: \+30 points/));
    await b.press('▶️ Start');
    await b.waitFor(hasText(/already answered this survey/));

    const points = await database.db.selectFrom('members').select(['id', 'points_balance']).where('id', 'in', members.map((m) => m.id)).orderBy('id').execute();
    expect(points.map((p) => p.points_balance)).toEqual([30 + 10, 30, 0]); // Ava also earned 10 on her purchase

    // Cima is outside the audience (offers off, never invited): a forged start button is refused.
    const c = cima!.user;
    await c.send('/menu');
    const menu = await c.waitFor(() => true);
    await c.pressData(`sv:go:${survey.id}`, { messageId: menu.message_id });
    await c.waitFor(hasText(/This survey is not for you/));
    expect(c.messages.some(hasText(/1\/5/))).toBe(false);
    const cimaRow = await database.db.selectFrom('members').select('points_balance').where('id', '=', cima!.id).executeTakeFirstOrThrow();
    expect(cimaRow.points_balance).toBe(0);
    expect(await database.db.selectFrom('survey_responses').select('id').where('member_id', '=', cima!.id).execute()).toEqual([]);

    await owner.send('/surveys');
    await owner.waitFor(hasText(/#\d+ نظر شما|#\d+ Your view of the shop: open, 2 answers/));
    await owner.press(`📊 Results #${survey.id}`);
    const results = await owner.waitFor(hasText(/Your view of the shop: 2 answers/));
    expect(plain(results)).toMatch(/1\. Product quality\? \(2\)\n  1⭐: 0 · 2⭐: 1 · 3⭐: 0 · 4⭐: 1 · 5⭐: 0\n  average 3/);
    // Ava bought at the main branch, so her scores count for it; Babak never bought.
    expect(plain(results)).toMatch(/average 3\n  شعبهٔ مرکزی: average 4 \(1\)/);
    expect(plain(results)).toMatch(/3\. What do you buy\? \(1\)\n  Bread: 0 · Cake: 1 · Coffee: 1/);
    expect(plain(results)).toMatch(/NPS 0/); // one promoter (10), one detractor (3)
    expect(plain(results)).toContain('5. Anything else? (2)\n  “More cakes & <fresh> bread, please”\n  “=HYPERLINK("http://evil.example","win")”');
    await owner.press('📄 CSV file');
    const file = await owner.waitFor((m) => m.document === true);
    const csv = file.documentBytes!.toString('utf8');
    expect(csv.split('\n')[0]).toBe('\ufeffmember,completed_at,کیفیت کالا؟,Which branch do you visit most?,What do you buy?,Would you recommend us?,Anything else?');
    expect(csv).toContain(`${ava!.id},`);
    const rows = parseCsv(csv.replace(/^\ufeff/, '')) as string[][];
    expect(rows.slice(1).map((r) => r.slice(2))).toEqual([
      ['4', 'South', 'Cake; Coffee', '10', 'More cakes & <fresh> bread, please'],
      // Neutralised: a spreadsheet shows it as text instead of running it.
      ['2', 'North', '', '3', `'=HYPERLINK("http://evil.example","win")`],
    ]);

    await owner.press(`🔒 Close #${survey.id}`);
    await owner.waitFor(hasText(/is closed/));
    await a.press('▶️ Start', { messageId: invite.message_id });
    await a.waitFor(hasText(/This survey is closed/));
  });
});
