import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { startTestClub, TEST_TOKEN } from '../support/club.ts';
import { testDatabase } from '../support/db.ts';
import { FakeBotApi } from '../support/fake-bot-api.ts';
import { hasText } from '../support/messages.ts';
import { exited, startClubProcess } from '../support/process.ts';


describe('a signup half done survives a restart', () => {
  let api: FakeBotApi;
  beforeAll(async () => {
    api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_restart_bot' });
    await api.start();
  });
  afterAll(() => api?.stop());

  it('in process: a new club on the same database continues at the name question', async () => {
    const database: DatabaseHandle = await testDatabase();
    try {
      const user = api.user({ id: 7200000001, first_name: 'Parisa', language_code: 'en', phone: '989121230001' });
      let club = await startTestClub({ api, database });
      await user.send('/start');
      await user.waitFor(hasText(/Share my phone number/));
      await user.shareContact();
      await user.waitFor(hasText(/What should we call you/));
      await club.stop();

      club = await startTestClub({ api, database });
      try {
        await user.send('Parisa');
        await user.waitFor(hasText(/When is your birthday/));
        await user.tapReply('Skip');
        await user.waitFor(hasText(/gender/));
        await user.tapReply('Female');
        await user.waitFor(hasText(/Welcome to the club, Parisa/));
        const member = await database.db.selectFrom('members').selectAll().where('phone', '=', '+989121230001').executeTakeFirstOrThrow();
        expect(member).toMatchObject({ first_name: 'Parisa', gender: 'female', points_balance: 50 });
      } finally {
        await club.stop();
      }
    } finally {
      await database.close();
    }
  });

  it('as a real process on embedded storage: SIGTERM stops cleanly and `npm start` resumes the chat', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'bashgah-data-'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: api.apiRoot, DATA_DIR: dataDir, LOG_LEVEL: 'info' };
    const start = () => startClubProcess(env);
    const stop = async (child: ChildProcess) => {
      const stopped = exited(child);
      child.kill('SIGTERM');
      return stopped;
    };
    try {
      const user = api.user({ id: 7200000002, first_name: 'Omid', language_code: 'fa', phone: '09121230002' });
      let proc = await start();
      await user.send('/start');
      await user.waitFor(hasText(/ارسال شماره موبایل من/), 20_000);
      await user.shareContact();
      await user.waitFor(hasText(/چه صدا کنیم/), 20_000);
      expect(await stop(proc.child)).toBe(0);
      expect(proc.output()).toContain('stopped');

      proc = await start();
      try {
        await user.send('امید');
        await user.waitFor(hasText(/تاریخ تولدتان چیست/), 20_000);
      } finally {
        expect(await stop(proc.child)).toBe(0);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('without a token `npm start` opens the playground: the log gives its address, the page and its club answer, SIGTERM stops it', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'bashgah-playground-'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DOTENV_CONFIG_PATH: '/nonexistent', PORT: '0', PLAYGROUND_DATA_DIR: dataDir, LOG_LEVEL: 'info' };
    const { child, output } = await startClubProcess(env, /Playground at http:\/\/localhost:\d+ — set BOT_TOKEN or BALE_BOT_TOKEN to run for real/);
    const stopped = exited(child);
    try {
      const url = /Playground at (http:\/\/localhost:\d+)/.exec(output())![1]!;
      expect(await (await fetch(url)).text()).toContain('<main id="chats"');
      const state = (await (await fetch(`${url}/api/state`)).json()) as { personas: { role: string }[] };
      expect(state.personas.map((p) => p.role)).toEqual(['owner', 'cashier', 'customer', 'customer']);
      expect(output()).toContain(path.join(dataDir, 'pgdata'));
    } finally {
      child.kill('SIGTERM');
      expect(await stopped).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
