import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { sendDueSatisfactionChecks } from '../../src/jobs/feedback.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons } from '../support/messages.ts';


describe(`the after-purchase question (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  let member: FakeUser;
  let memberId: number;
  let clock = new Date('2026-11-22T08:00:00Z');

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_feedback_bot' });
    await api.start();
    club = await startTestClub({ api, database, now: () => clock });
    owner = api.user({ id: 7700000001, first_name: 'Owner', language_code: 'en' });
    member = api.user({ id: 7700000002, first_name: 'Leyla', language_code: 'en' });
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989127770001'], now: clock };
    await joinClub(database.db, { platform: 'telegram', userId: owner.id, chatId: owner.id }, { phone: '+989127770001', firstName: 'Owner', locale: 'en' }, policy);
    memberId = (await joinClub(database.db, { platform: 'telegram', userId: member.id, chatId: member.id }, { phone: '+989127770002', firstName: 'Leyla', locale: 'en' }, policy)).member.id;
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  async function purchase() {
    await owner.send(`/member ${memberId}`);
    await owner.waitFor(hasText(/Member \d+: Leyla/));
    await owner.press('🧾 Record purchase');
    await owner.waitFor(hasText(/What is the amount/));
    await owner.send('300000');
    await owner.waitFor(hasText(/Receipt number/));
    await owner.tapReply('Skip');
    await owner.waitFor(hasText(/Points to earn/));
    await owner.press('✅ Confirm');
    await owner.waitFor(hasText(/recorded/));
  }

  it('asks two hours after a purchase, once; a low score opens a ticket with the comment in its thread', async () => {
    await purchase();
    const deps = club.deps;
    expect(await sendDueSatisfactionChecks(deps, new Date(clock.getTime() + 119 * 60_000))).toBe(0);
    const asked = member.waitFor(hasText(/How was your visit to شعبهٔ مرکزی/));
    expect(await sendDueSatisfactionChecks(deps, new Date(clock.getTime() + 121 * 60_000))).toBe(1);
    expect(await sendDueSatisfactionChecks(deps, new Date(clock.getTime() + 122 * 60_000))).toBe(0);
    const question = await asked;

    const staffTold = owner.waitFor(hasText(/Low score 2⭐ from Leyla: ticket #\d+ was opened/));
    await member.press('2⭐', { messageId: question.message_id });
    await member.waitFor(hasText(/sorry it was only 2⭐/));
    await staffTold;
    await member.press('✍️ Add a comment');
    await member.waitFor(hasText(/Your comment/));
    const commentTold = owner.waitFor(hasText(/Leyla answered on ticket #\d+:\nThe queue was long/));
    await member.send('The queue was long');
    await member.waitFor(hasText(/we've noted it/));
    await commentTold;
    const ticket = await database.db.selectFrom('tickets').selectAll().where('member_id', '=', memberId).executeTakeFirstOrThrow();
    expect(ticket).toMatchObject({ kind: 'low_score', status: 'open' });
    const thread = await database.db.selectFrom('ticket_messages').select('text').where('ticket_id', '=', ticket.id).orderBy('id').execute();
    expect(thread.map((m) => m.text)).toEqual(['★ 2/5', 'The queue was long']);
    // Pressing a score again changes nothing.
    await member.pressData(`sat:${ticket.purchase_id}:5`, { messageId: question.message_id });
    await member.waitFor(hasText(/already scored this visit/));
  });

  it('a good score opens no ticket, and the owner can switch the question off', async () => {
    await owner.send('/feedback delay 30');
    await owner.waitFor(hasText(/on, 30 minutes after the purchase/));
    await purchase();
    const asked = member.waitFor(hasText(/How was your visit/));
    expect(await sendDueSatisfactionChecks(club.deps, new Date(clock.getTime() + 31 * 60_000))).toBe(1);
    const question = await asked;
    await member.press('5⭐', { messageId: question.message_id });
    await member.waitFor(hasText(/Thank you for the 5⭐/));
    expect(await database.db.selectFrom('tickets').select('id').where('member_id', '=', memberId).execute()).toHaveLength(1);

    await owner.send('/feedback off');
    await owner.waitFor(hasText(/After-purchase question: off/));
    await purchase();
    expect(await sendDueSatisfactionChecks(club.deps, new Date(clock.getTime() + 24 * 3_600_000))).toBe(0);
  });

  it('a voided or disputed purchase is never followed by "how was your visit?"', async () => {
    await owner.send('/feedback on');
    await owner.waitFor(hasText(/After-purchase question: on/));
    clock = new Date(clock.getTime() + 2 * 86_400_000);
    // Receipts go out from the outbox, after the cashier hears: wait for this purchase's own, not a late one.
    const since = (await database.db.selectFrom('purchases').select('id').where('member_id', '=', memberId).orderBy('id', 'desc').executeTakeFirst())?.id ?? 0;
    const receipt = member.waitFor((m) => hasText(/points for your purchase/)(m) && inlineButtons(m).some((b) => /^dp:\d+$/.test(b.callback_data ?? '') && Number(b.callback_data!.slice(3)) > since));
    await purchase();
    const disputed = await receipt;
    await member.press("⚠️ This wasn't me", { messageId: disputed.message_id });
    await member.waitFor(hasText(/told the manager|manager/));

    await purchase();
    const last = await database.db.selectFrom('purchases').select('id').where('member_id', '=', memberId).orderBy('id', 'desc').executeTakeFirstOrThrow();
    await owner.send(`/void ${last.id}`);
    await owner.waitFor(hasText(/What is the reason/));
    await owner.send('wrong member');
    await owner.waitFor(hasText(/Reason: wrong member/));
    await owner.press('✅ Confirm');
    await owner.waitFor(hasText(/is void/));

    const before = member.messages.length;
    expect(await sendDueSatisfactionChecks(club.deps, new Date(clock.getTime() + 24 * 3_600_000))).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(member.messages.slice(before).filter(hasText(/How was your visit/))).toEqual([]);
  });
});

