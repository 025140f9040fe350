import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningClub } from '../../src/club.ts';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { startTestClub } from '../support/club.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText } from '../support/messages.ts';
import { PG_BIN, PrivateCluster, privateClusterAvailable } from '../support/pg-cluster.ts';
import { waitUntil } from '../support/process.ts';

const APP = 'bashgah_outage_test';

/**
 * The club on a PostgreSQL server of its own (see test/support/pg-cluster.ts), whatever database
 * the rest of the suite uses: its connections are terminated, and the server is stopped and started
 * again, in the middle of a signup.
 */
describe.skipIf(!privateClusterAvailable())(`the club survives its database (needs ${PG_BIN})`, () => {
  let cluster: PrivateCluster;
  let database: DatabaseHandle;
  let api: FakeBotApi;
  let club: RunningClub;
  let lost = 0;
  let shirin: FakeUser;

  beforeAll(async () => {
    cluster = await PrivateCluster.create();
    await cluster.start();
    database = await createDatabase({ databaseUrl: cluster.url, schema: 'club', poolSize: 4, applicationName: APP });
    database.onConnectionLost(() => lost++);
    await migrateToLatest(database);
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_outage_bot' });
    await api.start();
    club = await startTestClub({ api, database });
    shirin = api.user({ id: 7700000001, first_name: 'Shirin', language_code: 'en', phone: '989127700001' });
  }, 60_000);
  afterAll(async () => {
    await club?.stop();
    await api?.stop();
    await database?.close();
    await cluster?.destroy();
  });

  async function atNameQuestion(user: FakeUser) {
    await user.send('/start');
    await user.waitFor(hasText(/Share my phone number/));
    await user.shareContact();
    await user.waitFor(hasText(/What should we call you/));
    // The answer goes out before the conversation's state is saved: let that finish first.
    await club.bots[0]!.settled();
  }

  /** Resolves once the pool has been told of `count` more closed connections. */
  async function poolNoticed(count: number, since: number) {
    const deadline = Date.now() + 5000;
    while (lost - since < count) {
      if (Date.now() > deadline) throw new Error(`the pool noticed ${lost - since} of ${count} closed connections`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('the server terminates the club connections (a failover, a proxy timeout): the journey goes on', async () => {
    const user = shirin;
    await atNameQuestion(user);

    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    const since = lost;
    const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [APP]);
    for (const { pid } of rows) await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    expect(rows.length).toBeGreaterThan(0);
    // Before this was handled, the first of these killed the process ("Unhandled 'error' event").
    await poolNoticed(rows.length, since);

    await user.send('Shirin');
    await user.waitFor(hasText(/When is your birthday/));
    await user.tapReply('Skip');
    await user.waitFor(hasText(/gender/));
    await user.tapReply('Skip');
    await user.waitFor(hasText(/Welcome to the club, Shirin/));
  });

  it('PostgreSQL stops mid-signup: the person is asked to try again in their language; once it is back, the signup goes on', async () => {
    const user = api.user({ id: 7700000002, first_name: 'Kaveh', language_code: 'fa', phone: '989127700002' });
    await user.send('/start');
    await user.waitFor(hasText(/ارسال شماره موبایل من/));
    await user.shareContact();
    await user.waitFor(hasText(/چه صدا کنیم/));
    await club.bots[0]!.settled();

    await cluster.stop();
    try {
      await user.send('کاوه');
      await user.waitFor(hasText(/یک دقیقهٔ دیگر دوباره بفرستید/));
      // A button pressed meanwhile gets the same answer, as an alert.
      await shirin.pressData('anything');
      await waitUntil(() => shirin.callbackAnswers.some((a) => a.show_alert && /again in a minute/.test(a.text ?? '')));
    } finally {
      await cluster.start();
    }

    await user.send('کاوه');
    await user.waitFor(hasText(/تاریخ تولدتان چیست/));
    await user.tapReply('رد شدن');
    await user.waitFor(hasText(/جنسیت/));
    await user.tapReply('رد شدن');
    await user.waitFor(hasText(/خوش آمدید/));
    const joined = await database.db.selectFrom('members').select(['first_name', 'points_balance']).where('phone', '=', '+989127700002').executeTakeFirstOrThrow();
    expect(joined).toEqual({ first_name: 'کاوه', points_balance: 50 });
  });
});
