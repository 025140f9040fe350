import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, inlineButtons, plain } from '../support/messages.ts';
import { waitUntil } from '../support/process.ts';

const GENERIC = /something went wrong|مشکلی پیش آمد/;

/**
 * What reaches the bot that it did not expect: an update delivered twice, characters no one
 * types, a damaged deep link, a broken CSV. And what it writes to its log when a call fails.
 */
describe(`updates the bot did not expect (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  const log: string[] = [];

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_intake_bot' });
    await api.start();
    const logger = pino({ level: 'info' }, { write: (line: string) => void log.push(line) });
    club = await startTestClub({ api, database, logger, env: { OWNER_PHONES: '09128880001' } });
    owner = api.user({ id: 7800000001, first_name: 'Owner', language_code: 'en' });
    await joinClub(
      database.db,
      { platform: 'telegram', userId: owner.id, chatId: owner.id },
      { phone: '+989128880001', firstName: 'Owner', locale: 'en' },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989128880001'], now: new Date() },
    );
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  /** The messages a user received after `before` (a count of their messages). */
  const since = (user: FakeUser, before: number) => user.messages.slice(before).map((m) => plain(m));

  async function signUp(user: FakeUser, name: string) {
    await user.send('/start');
    await user.waitFor(hasText(/Share my phone number/));
    await user.shareContact();
    await user.waitFor(hasText(/What should we call you/));
    await user.send(name);
    await user.waitFor(hasText(/When is your birthday/));
    await user.tapReply('Skip');
    await user.waitFor(hasText(/gender/));
    const home = user.waitFor((m) => inlineButtons(m).some((b) => b.text === '⭐ My points'));
    await user.tapReply('Skip');
    return home;
  }

  it('an update delivered twice is answered once: a shared contact, a menu button, the till’s steps', async () => {
    const user = api.user({ id: 7800000010, first_name: 'Roya', language_code: 'en', phone: '989128880010' });
    await user.send('/start');
    await user.waitFor(hasText(/Share my phone number/));
    await user.shareContact();
    await user.waitFor(hasText(/What should we call you/));

    // Telegram delivers the contact again; the next answer shows it was handled before it (one chat, in order).
    let before = user.messages.length;
    api.redeliver();
    await user.send('Roya');
    await user.waitFor(hasText(/When is your birthday/));
    expect(since(user, before)).toEqual([expect.stringMatching(/When is your birthday/)]);

    await user.tapReply('Skip');
    await user.waitFor(hasText(/gender/));
    const home$ = user.waitFor((m) => inlineButtons(m).some((b) => b.text === '⭐ My points'));
    await user.tapReply('Skip');
    const home = await home$;

    // A button pressed once and delivered twice: before, the second answerCallbackQuery was
    // refused (the query was already answered) and the member read "something went wrong".
    await user.press('⭐ My points', { messageId: home.message_id });
    await user.waitFor(hasText(/Points earned in the last/));
    before = user.messages.length;
    api.redeliver();
    await user.send('/help');
    await user.waitFor(hasText(/\/card/));
    expect(since(user, before)).toHaveLength(1);
    expect(user.callbackAnswers).toHaveLength(1);

    // The till: the amount typed once, delivered twice, and the Confirm press delivered twice.
    const memberId = (await database.db.selectFrom('members').select('id').where('phone', '=', '+989128880010').executeTakeFirstOrThrow()).id;
    await owner.send(`/member ${memberId}`);
    const view = await owner.waitFor(hasText(/Member \d+: Roya/));
    await owner.press('🧾 Record purchase', { messageId: view.message_id });
    await owner.waitFor(hasText(/What is the amount in Toman/));
    await owner.send('50000');
    await owner.waitFor(hasText(/Receipt number/));
    before = owner.messages.length;
    api.redeliver();
    await owner.send('INV-42');
    await owner.waitFor(hasText(/Points to earn: 50/));
    expect(since(owner, before).filter((t) => /Receipt number|not an amount/.test(t))).toEqual([]);
    const receipt$ = user.waitFor(hasText(/\+50 points|50\+/));
    await owner.press('✅ Confirm');
    await owner.waitFor(hasText(/Purchase #\d+ recorded: \+50 points for Roya/));
    await receipt$;
    before = owner.messages.length;
    api.redeliver();
    await owner.send('/whoami');
    await owner.waitFor(hasText(/owner/i));
    expect(since(owner, before)).toHaveLength(1);

    for (const person of [user, owner]) expect(person.messages.filter((m) => GENERIC.test(plain(m)))).toEqual([]);
    expect(await database.db.selectFrom('purchases').select('id').where('member_id', '=', memberId).execute()).toHaveLength(1);
    expect(await ledgerViolations(database.db, memberId)).toEqual([]);
    expect(api.calls.filter((c) => c.status >= 400 && !c.description?.includes('not modified'))).toEqual([]);
  });

  it('a NUL or another control character is refused where it is typed; the question stays open', async () => {
    const user = api.user({ id: 7800000020, first_name: 'Babak', language_code: 'en', phone: '989128880020' });
    await user.send('/start');
    await user.waitFor(hasText(/Share my phone number/));
    await user.shareContact();
    await user.waitFor(hasText(/What should we call you/));
    await user.send('Ba\u0000bak');
    await user.waitFor(hasText(/a character we cannot accept/));
    await user.send('Babak\u001b[31m');
    await user.waitFor(hasText(/a character we cannot accept/));
    // A menu button's data may carry any byte (@grammyjs/menu hashes into it): pressed while a
    // conversation waits, the update is kept in the conversation's state, which still saves.
    await user.pressData('main/0/0//h\u0000\u0001\u0002');
    await waitUntil(() => user.callbackAnswers.some((a) => /finish|first/i.test(a.text ?? '')));
    await user.send('Babak');
    await user.waitFor(hasText(/When is your birthday/));
    expect(user.messages.filter((m) => GENERIC.test(plain(m)))).toEqual([]);
    expect(await database.db.selectFrom('members').select('id').where('first_name', 'like', 'Ba%bak%').execute()).toEqual([]);
  });

  it('a deep link with a NUL or characters no link of the club has is refused; /start still works', async () => {
    const user = api.user({ id: 7800000030, first_name: 'Leila', language_code: 'fa', phone: '989128880030' });
    await user.send('/start r_abc\u0000def');
    await user.waitFor(hasText(/نویسه‌ای دارد که پذیرفته نمی‌شود/));
    await user.send('/start r_abc!<def>');
    await user.waitFor(hasText(/این پیوند خراب است/));
    await user.send(`/start j_${'x'.repeat(80)}`);
    await user.waitFor(hasText(/این پیوند خراب است/));
    await user.send('/start');
    await user.waitFor(hasText(/ارسال شماره موبایل من/));
    expect(user.messages.filter((m) => GENERIC.test(plain(m)))).toEqual([]);
    expect(await database.db.selectFrom('referrals').select('id').execute()).toEqual([]);
  });

  it('a voucher file with an unclosed quote is reported by line; the wizard waits for a fixed file', async () => {
    await owner.send('/vouchers');
    await owner.waitFor(hasText(/Voucher pools/));
    await owner.press('➕ New pool');
    await owner.waitFor(hasText(/A name for it/));
    await owner.send('Nowruz');
    await owner.waitFor(hasText(/The discount/));
    await owner.send('15%');
    await owner.waitFor(hasText(/Valid until when/));
    await owner.tapReply('30');
    await owner.waitFor(hasText(/How many codes from this pool/));
    await owner.tapReply('1');
    await owner.waitFor(hasText(/Who is it for/));
    await owner.press('👥 All members');
    await owner.waitFor(hasText(/make them here, or upload/));
    await owner.press('📄 Upload a file');
    await owner.waitFor(hasText(/Send the CSV or TXT file/));

    await owner.sendDocument(Buffer.from('code\nNWZ-0001\n"NWZ-0002\nNWZ-0003\nNWZ-0004\n'), 'codes.csv');
    const report = await owner.waitFor(hasText(/could not be read/));
    expect(plain(report)).toMatch(/on line 3\./);
    await owner.sendDocument(Buffer.from('code\nNWZ-0001\n"NWZ-0002"\nNWZ-0003\n'), 'codes.csv');
    await owner.waitFor(hasText(/Pool Nowruz is ready with 3 codes/));
    expect(owner.messages.filter((m) => GENERIC.test(plain(m)))).toEqual([]);
  });

  it('the log never carries what people wrote, even when a Bot API call with it fails', async () => {
    // A manager whose chat the Bot API does not know (400 "chat not found"): the new complaint
    // cannot reach them, and the failed call (its text: the member's name and complaint) is logged.
    await joinClub(
      database.db,
      { platform: 'telegram', userId: 7800000099, chatId: 7800000099 },
      { phone: '+989128880099', firstName: 'Absent', locale: 'en' },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989128880099'], now: new Date() },
    );
    const user = api.user({ id: 7800000040, first_name: 'Zhaleh', language_code: 'en', phone: '989128880040' });
    const home = await signUp(user, 'Zhalehunique');
    await user.press('💬 Contact us', { messageId: home.message_id });
    await user.waitFor(hasText(/A manager reads every message/));
    await user.press('😞 Complaint');
    await user.waitFor(hasText(/What is the complaint about/));
    await user.press('Staff');
    await user.waitFor(hasText(/Please write it in one message/));
    await user.send('The cashier Kourosh-secret-words was rude');
    await user.waitFor(hasText(/add a photo/));
    await user.tapReply('Skip');
    await user.waitFor(hasText(/Your ticket number is/));
    // And a reply that fails inside an update: the member blocked the bot, then wrote to it.
    user.block();
    await user.send('/menu');
    await waitUntil(() => log.some((l) => l.includes('update failed')));
    user.unblock();

    // The managers' alert goes out from the notification outbox, on its own time.
    await club.deps.notices.drained();
    const refused = api.calls.filter((c) => c.status === 400 && c.description?.includes('chat not found'));
    expect(refused.length).toBeGreaterThan(0);
    expect(JSON.stringify(refused[0]!.params)).toContain('Kourosh-secret-words');
    expect(log.some((l) => l.includes('notification not delivered'))).toBe(true);
    const all = log.join('\n');
    expect(all).not.toContain('Kourosh-secret-words');
    expect(all).not.toContain('Zhalehunique');
    expect(all).toContain('chat not found');
  });
});
