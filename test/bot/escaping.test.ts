import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText, plain } from '../support/messages.ts';

// Text people typed goes into HTML messages escaped exactly once: `&` and `<` read as typed, never
// break a message (Telegram refuses it) and never show as `&amp;` (the fake Bot API notes that).
describe(`what members typed, in HTML messages (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let owner: FakeUser;
  const name = 'Tom & <Jerry>';

  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_escape_bot' });
    await api.start();
    club = await startTestClub({ api, database, env: { OWNER_PHONES: '09129997000' } });
    owner = api.user({ id: 7970000001, first_name: 'Tom', language_code: 'en' });
    const { member } = await joinClub(
      database.db,
      { platform: 'telegram', userId: owner.id, chatId: owner.id },
      { phone: '+989129997000', firstName: name, locale: 'en' },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989129997000'], now: new Date() },
    );
    await database.db.updateTable('members').set({ city: 'Karaj & <Fardis>', email: 'a&b@example.com' }).where('id', '=', member.id).execute();
  });
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
  });

  it('the profile screen shows the fields as typed', async () => {
    await owner.send('/profile');
    const screen = plain(await owner.waitFor(hasText(/My profile/)));
    expect(screen).toContain(`First name: ${name}\n`);
    expect(screen).toContain('City: Karaj & <Fardis>\n');
    expect(screen).toContain('Email: a&b@example.com\n');
  });

  it("an automation's greeting shows the manager's name once escaped", async () => {
    await owner.send('/automations');
    await owner.waitFor(hasText(/Automations/));
    await owner.press('⏸ 🎂 Birthday');
    const detail = await owner.waitFor(hasText(/Today it would reach/));
    expect(plain(detail)).toContain(`Message: 🎂 Happy birthday, ${name}! The whole club`);
  });

  it('the home screen greets by the name as typed', async () => {
    await owner.send('/menu');
    expect(plain(await owner.waitFor(hasText(/Tom/)))).toContain(name);
  });
});
