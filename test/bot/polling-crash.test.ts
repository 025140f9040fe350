import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinClub } from '../../src/club/members.ts';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { TEST_TOKEN } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { inlineButtons } from '../support/messages.ts';
import { exited, startClubProcess, waitUntil } from '../support/process.ts';

const USERS = 5;
const PRESSES = 10;

const postgres = usingPostgres();

/**
 * Long polling and kill -9 (issue 14): a process killed while it handles updates it fetched loses
 * none of them. (@grammyjs/runner confirmed a batch at the next getUpdates, before it was handled:
 * the updates in flight at the kill were gone.) On PostgreSQL the club confirms a page once its
 * journal holds it (see startPolling), so the platform has forgotten them by the kill and the next
 * process finds them in the journal; it is started before the kill and waits for the bot's
 * journal. On embedded storage they stay unconfirmed at the platform until handled. Real
 * processes, as `npm start` runs them.
 */
describe(`long polling: the updates in flight at kill -9 are handled by the next process (${postgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let api: FakeBotApi;
  let dataDir: string | undefined;
  let shared: DatabaseHandle | undefined;
  const users: FakeUser[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_polling_crash_bot' });
    await api.start();
    if (postgres) shared = await testDatabase();
    else dataDir = await mkdtemp(path.join(tmpdir(), 'bashgah-polling-crash-'));
    const handle = shared ?? (await createDatabase({ dataDir }));
    try {
      if (!shared) await migrateToLatest(handle);
      for (let i = 1; i <= USERS; i++) {
        const user = api.user({ id: 7600000000 + i, first_name: `Member${i}`, language_code: 'en' });
        await joinClub(
          handle.db,
          { platform: 'telegram', userId: user.id, chatId: user.id },
          { phone: `+98912860000${i}`, firstName: `Member${i}`, locale: 'en' },
          { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: [], now: new Date() },
        );
        users.push(user);
      }
    } finally {
      if (!shared) await handle.close();
    }
  }, 120_000);
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await api?.stop();
    await shared?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function start(caller: string, ready = 'bot is running') {
    // PostgreSQL: the test's schema, through the connection string's search_path.
    const base = process.env.DATABASE_URL;
    const storage = shared && base ? { DATABASE_URL: `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${shared.schema}`)}` } : { DATA_DIR: dataDir };
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DOTENV_CONFIG_PATH: '/nonexistent', BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: api.callerRoot(caller), ...storage, LOG_LEVEL: 'info' };
    const club = await startClubProcess(env, ready);
    children.push(club.child);
    return club;
  }

  it(`${USERS} members press Refresh ${PRESSES} times each; a kill -9 halfway loses no press and answers none twice`, async () => {
    const first = await start('first');
    const screens = new Map<FakeUser, number>();
    for (const user of users) {
      await user.send('/menu');
      await user.waitFor((m) => inlineButtons(m).some((b) => b.text === '⭐ My points'), 20_000);
      await user.press('⭐ My points');
      const screen = await user.waitFor((m) => inlineButtons(m).some((b) => b.text === '🔄 Refresh'), 20_000);
      screens.set(user, screen.message_id);
    }
    const pressRefresh = (times: number) => {
      for (let i = 0; i < times; i++) for (const user of users) void user.press('🔄 Refresh', { messageId: screens.get(user)! });
    };
    const answered = () => users.reduce((n, u) => n + u.callbackAnswers.length, 0);

    // The first half is answered by the first process.
    pressRefresh(PRESSES / 2);
    await waitUntil(() => answered() === USERS * (1 + PRESSES / 2), 30_000, first.output);

    // The second half arrives while the process stalls: every chat's next press stops at its
    // answer (the rest wait behind it, in order); nothing of the second half has been answered.
    api.freezeCaller('first');
    pressRefresh(PRESSES / 2);
    await waitUntil(() => new Set(api.heldCalls('first').map((c) => c.chatId)).size === USERS, 30_000, first.output);
    // PostgreSQL: the journal holds them, so the platform was told they arrived and has forgotten
    // them. PGlite keeps no journal: the platform keeps them until they are handled.
    if (postgres) await waitUntil(() => api.unconfirmed() === 0, 30_000, first.output);
    else await waitUntil(() => api.unconfirmed() === USERS * (PRESSES / 2), 30_000, first.output);
    expect(answered()).toBe(USERS * (1 + PRESSES / 2));
    // PostgreSQL: a second process started now waits while the first polls the bot.
    const waiting = postgres ? await start('second', 'another process is polling this bot') : undefined;
    const killed = exited(first.child);
    first.child.kill('SIGKILL');
    expect(await killed).toBe('SIGKILL');
    api.dropCaller('first');

    // The next process handles them: from the journal, or from the platform.
    const second = waiting ?? (await start('second'));
    try {
      await waitUntil(() => answered() === USERS * (1 + PRESSES), 30_000, second.output);
    } finally {
      const stopped = exited(second.child);
      second.child.kill('SIGTERM');
      expect(await stopped, second.output()).toBe(0);
    }
    // Every press answered, each once: no second answer was even tried (the Bot API would refuse it).
    for (const user of users) {
      expect(user.callbackAnswers).toHaveLength(1 + PRESSES);
      expect(new Set(user.callbackAnswers.map((a) => a.callback_query_id)).size).toBe(1 + PRESSES);
    }
    const answers = api.calls.filter((c) => c.method === 'answerCallbackQuery');
    expect(answers.filter((c) => c.status !== 200)).toEqual([]);
    expect(answers).toHaveLength(USERS * (1 + PRESSES));
  }, 180_000);
});
