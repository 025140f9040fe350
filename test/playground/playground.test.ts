import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { joinClub } from '../../src/club/members.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import type { ChatMessage, ChatState } from '../../src/playground/emulator.ts';
import { startPlayground, type RunningPlayground } from '../../src/playground/server.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

/** The playground without a browser: its HTTP actions, links between chats, the clock and the demo data. */
describe(`the playground's club (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: DatabaseHandle;
  let running: RunningPlayground;
  const DAY = 86_400_000;

  const post = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${running.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** The next bot message in a chat (new, or edited) that satisfies pred. */
  const next = (key: string, pred: (m: ChatMessage) => boolean) =>
    new Promise<ChatMessage>((resolve, reject) => {
      const emulator = running.playground.emulator;
      const seen = new Set(emulator.chat(key)!.messages.map((m) => `${m.id}:${m.text ?? m.caption}`));
      const timer = setTimeout(() => reject(new Error(`nothing in ${key}: ${JSON.stringify(emulator.chat(key)!.messages.slice(-3))}`)), 10_000);
      const listener = (chat: ChatState) => {
        if (chat.key !== key) return;
        const found = chat.messages.find((m) => m.from === 'bot' && !seen.has(`${m.id}:${m.text ?? m.caption}`) && pred(m));
        if (!found) return;
        clearTimeout(timer);
        emulator.off('chat', listener);
        resolve(found);
      };
      emulator.on('chat', listener);
    });
  const says = (re: RegExp) => (m: ChatMessage) => re.test(m.text ?? m.caption ?? '');

  beforeAll(async () => {
    database = await testDatabase();
    running = await startPlayground({ env: { LOG_LEVEL: 'silent' }, logger: pino({ level: 'silent' }), port: 0, database, scheduler: false });
  });
  afterAll(async () => {
    await running?.stop();
    await database?.close();
  });

  it('the owner and the cashier are staff from the start; customers are not members yet', async () => {
    const roles = await database.db.selectFrom('staff').innerJoin('members', 'members.id', 'staff.member_id').select(['members.phone', 'staff.role']).orderBy('members.phone').execute();
    expect(roles).toEqual([
      { phone: '+989120000001', role: 'owner' },
      { phone: '+989120000002', role: 'cashier' },
    ]);
    const state = running.playground.state();
    expect(state.personas.map((p) => p.role)).toEqual(['owner', 'cashier', 'customer', 'customer']);
  });

  it('a customer opens the invitation shown in another customer\'s chat; a scan with no card shown says so', async () => {
    const [sara, reza] = running.playground.personas.filter((p) => p.role === 'customer');
    const saraChat = sara!.chats.telegram;
    await joinClub(database.db, { platform: 'telegram', userId: running.playground.emulator.chat(saraChat)!.user.id, chatId: running.playground.emulator.chat(saraChat)!.user.id },
      { phone: sara!.phone, firstName: 'سارا', locale: 'fa' }, { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: [], now: running.playground.clock.now() });
    const home = next(saraChat, (m) => (m.inline ?? []).flat().some((b) => b.text === '👥 دعوت از دوستان'));
    expect((await post(`/api/chats/${saraChat}/send`, { text: '/menu' })).status).toBe(200);
    const menu = await home;
    const invite = next(saraChat, (m) => Boolean(m.photo) && /start=r_/.test(m.caption ?? ''));
    await post(`/api/chats/${saraChat}/press`, { messageId: menu.id, data: (menu.inline ?? []).flat().find((b) => b.text === '👥 دعوت از دوستان')!.callback_data });
    const link = /https:\/\/t\.me\/\S+?start=r_[A-Za-z0-9_-]+/.exec((await invite).caption!)![0];

    // The link is for the Telegram bot: Reza's Bale chat refuses it, his Telegram chat opens it.
    expect((await post(`/api/chats/${reza!.chats.bale}/open`, { url: link })).body).toMatchObject({ description: 'other_platform' });
    const welcome = next(reza!.chats.telegram, says(/خوش آمدید/));
    expect((await post(`/api/chats/${reza!.chats.telegram}/open`, { url: link })).status).toBe(200);
    await welcome;
    expect(running.playground.emulator.chat(reza!.chats.telegram)!.messages[0]).toMatchObject({ from: 'user', text: expect.stringMatching(/^\/start r_/) });

    // The cashier's camera finds no card in Reza's chat (he has not opened one).
    expect((await post(`/api/chats/${running.playground.personas[1]!.chats.telegram}/scan`, { from: reza!.chats.telegram })).body).toMatchObject({ description: 'no_card' });
    expect(running.playground.emulator.refusals).toEqual([]);
  });

  it('seeds three months of a café, and fast-forward moves the club\'s clock and runs the night', async () => {
    const before = running.playground.clock.now().getTime();
    const seeded = await running.playground.seed(12);
    expect(seeded).toMatchObject({ seeded: true, members: 12 });
    const span = await database.db.selectFrom('purchases').select((eb) => [eb.fn.min('created_at').as('first'), eb.fn.max('created_at').as('last'), eb.fn.countAll<number>().as('n')]).executeTakeFirstOrThrow();
    expect(Number(span.n)).toBe(seeded.purchases);
    expect(Number(span.n)).toBeGreaterThan(12);
    expect(new Date(span.first as Date).getTime()).toBeLessThan(before - 60 * DAY);
    expect(new Date(span.last as Date).getTime()).toBeLessThanOrEqual(before + 1000);
    expect(await ledgerViolations(database.db)).toEqual([]);
    // A second press adds nothing.
    expect(await running.playground.seed(12)).toMatchObject({ seeded: false });

    const moved = await post('/api/clock', { days: 30 });
    expect(moved.status).toBe(200);
    expect(new Date(moved.body.now as string).getTime() - before).toBeGreaterThanOrEqual(30 * DAY);
    expect(moved.body).toMatchObject({ nightly: { ran: true } });
    expect((await post('/api/clock', { days: 3 })).status).toBe(400);
  }, 60_000);
});
