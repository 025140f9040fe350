import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub } from '../support/club.ts';
import { testDatabase } from '../support/db.ts';
import { FakeBotApi } from '../support/fake-bot-api.ts';
import { hasText } from '../support/messages.ts';
import { waitUntil } from '../support/process.ts';

/**
 * Graceful stop (SIGTERM, issue 14) in long polling: the club takes no update after the stop began,
 * finishes the ones in flight, and leaves the rest unconfirmed for the next process.
 */
describe('graceful stop (long polling)', () => {
  let api: FakeBotApi;
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await testDatabase();
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_stop_bot' });
    await api.start();
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
    await database?.close();
  });

  it('finishes the update in flight, takes none after, and the next process answers what came after', async () => {
    const user = api.user({ id: 7800000001, first_name: 'Sara', language_code: 'en', phone: '989128800001' });
    const club = await startTestClub({ api, database, env: { BOT_API_ROOT: api.callerRoot('stopping') } });
    // The answer to /start is under way (held at the Bot API) when the stop begins.
    api.freezeCaller('stopping');
    await user.send('/start');
    await waitUntil(() => api.heldCalls('stopping').length > 0, 10_000);
    let stopped = false;
    const stopping = club.stop().then(() => (stopped = true));
    // Arrives after the stop began: not taken by this process.
    await user.sendContact({ phone_number: user.init.phone!, user_id: user.id });
    // The stop waits for the update in flight...
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    api.thawCaller('stopping');
    // ...which is answered, then the stop ends.
    await waitUntil(() => user.messages.some(hasText(/Share my phone number/)), 10_000);
    await stopping;
    expect(user.messages.filter(hasText(/What should we call you/))).toHaveLength(0);
    // Nothing left in long polling's journal (PostgreSQL): the update in flight was finished.
    expect(await journalRows()).toEqual([]);

    // The next process gets the contact (never confirmed) and goes on; /start is not answered again.
    const next = await startTestClub({ api, database });
    try {
      await user.waitFor(hasText(/What should we call you/));
      await next.bots[0]!.settled();
      expect(user.messages.filter(hasText(/Share my phone number/))).toHaveLength(1);
    } finally {
      await next.stop();
    }
    expect(await journalRows()).toEqual([]);
  });

  const journalRows = async () => (await database.db.selectFrom('received_updates').select('update_id').execute()).map((r) => r.update_id);
});
