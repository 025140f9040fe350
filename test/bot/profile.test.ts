import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import { updateProfileField } from '../../src/club/profile.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText } from '../support/messages.ts';


describe(`profile completion through the bot (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let user: FakeUser;
  let memberId: number;
  const member = () => database.db.selectFrom('members').selectAll().where('id', '=', memberId).executeTakeFirstOrThrow();

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_profile_bot' });
    await api.start();
    club = await startTestClub({ api, database });
    user = api.user({ id: 7500000001, first_name: 'Mahsa', language_code: 'en' });
    memberId = (
      await joinClub(database.db, { platform: 'telegram', userId: user.id, chatId: user.id }, { phone: '+989125550001', firstName: 'Mahsa', locale: 'en' }, { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now: new Date() })
    ).member.id;
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  async function edit(field: RegExp, answer: string | (() => Promise<void>), expect: RegExp) {
    await user.press(field);
    await user.next();
    if (typeof answer === 'string') await user.send(answer);
    else await answer();
    return user.waitFor(hasText(expect));
  }

  it('fills every field with clear refusals for bad input, and pays the completion points once', async () => {
    await user.send('/menu');
    const home = await user.waitFor((m) => JSON.stringify(m.reply_markup ?? {}).includes('My profile ✨'));
    await user.press('👤 My profile ✨', { messageId: home.message_id });
    await user.waitFor(hasText(/Complete your profile \(7 fields left\) and get 100 points/));

    await edit(/Last name/, 'Karimi', /My profile[\s\S]*Last name: Karimi/);
    await edit(/✏️ Email/, 'not-an-email', /not an email address/);
    await user.send('Mahsa.K@Example.com');
    await user.waitFor(hasText(/Email: mahsa\.k@example\.com/));
    await edit(/✏️ City/, 'x'.repeat(2001), /That is too long: at most 2,000 characters/);
    await user.send('Tabriz');
    await user.waitFor(hasText(/City: Tabriz/));
    await edit(/Birthday/, '1400/12/30', /does not exist in the Persian calendar/);
    await user.send('1375/1/20');
    await user.waitFor(hasText(/Birthday: 8 April 1996/));
    await edit(/✏️ Gender/, async () => user.tapReply('Female'), /Gender: Female/);
    await edit(/Heard of us/, async () => user.tapReply('Instagram'), /Heard of us from: Instagram/);

    await user.press(/Interests/);
    const picker = await user.waitFor(hasText(/What are you interested in/));
    await user.press('✅ Done', { messageId: picker.message_id });
    await expect.poll(() => user.callbackAnswers.at(-1)?.text).toBe('Choose at least one.');
    await user.press('📚 Books', { messageId: picker.message_id });
    await user.waitFor((m) => m.message_id === picker.message_id && JSON.stringify(m.reply_markup).includes('✅ 📚 Books'));
    await user.press('🍰 Food', { messageId: picker.message_id });
    await user.waitFor((m) => m.message_id === picker.message_id && JSON.stringify(m.reply_markup).includes('✅ 🍰 Food'));
    await user.press('✅ Done', { messageId: picker.message_id });
    await user.waitFor(hasText(/Your profile is complete: \+100 points/));
    const done = await member();
    expect(done).toMatchObject({ last_name: 'Karimi', email: 'mahsa.k@example.com', city: 'Tabriz', birth_date: '1996-04-08', gender: 'female', heard_from: 'instagram', points_balance: 100 });
    expect([...done.interests].sort()).toEqual(['books', 'food']);

    // Changing a field later pays nothing more; the birthday is locked now.
    await edit(/✏️ City/, 'Shiraz', /City: Shiraz/);
    await user.press(/Birthday/);
    await user.waitFor(hasText(/only a manager can change it/));
    await expect(updateProfileField(database.db, memberId, 'birth_date', '1996-04-09', { env: { now: new Date(), timeZone: 'Asia/Tehran' } })).rejects.toMatchObject({ i18nKey: 'errors.birthday_locked' });
    expect((await member()).points_balance).toBe(100);
  });

  it('an edit half done survives a restart, and /cancel leaves without a change', async () => {
    await user.send('/profile');
    await user.waitFor(hasText(/My profile/));
    await user.press(/✏️ City/);
    await user.waitFor(hasText(/Which city/));
    await club.stop();
    club = await startTestClub({ api, database });
    await user.send('Isfahan');
    await user.waitFor(hasText(/City: Isfahan/));
    await user.press(/✏️ City/);
    await user.waitFor(hasText(/Which city/));
    await user.send('/cancel');
    await user.waitFor(hasText(/Nothing was changed/));
    expect((await member()).city).toBe('Isfahan');
  });
});
