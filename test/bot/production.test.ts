import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startClub, StartError, type RunningClub } from '../../src/club.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { TEST_TOKEN } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi } from '../support/fake-bot-api.ts';
import { hasText } from '../support/messages.ts';

/** Everything the club logs, as parsed JSON lines. */
function capturingLogger() {
  const lines: { msg: string; level: number; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines, messages: () => lines.map((l) => l.msg) };
}

/** Accepts connections and never answers: what api.telegram.org looks like from a server in Iran. */
async function blackHole() {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** An HTTP CONNECT proxy that counts the tunnels it opened. */
async function connectProxy() {
  const state = { tunnels: 0 };
  const server: Server = createHttpServer();
  const sockets = new Set<Socket>();
  server.on('connect', (req, client: Socket, head) => {
    state.tunnels++;
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream).add(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

const cleanups: (() => Promise<unknown>)[] = [];
// The worker's embedded database opens here (seconds on a busy machine), not inside the first test.
beforeAll(async () => (await testDatabase()).close());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fake(options: ConstructorParameters<typeof FakeBotApi>[0]) {
  const api = new FakeBotApi(options);
  await api.start();
  cleanups.push(() => api.stop());
  return api;
}

async function database(): Promise<DatabaseHandle> {
  const handle = await testDatabase();
  cleanups.push(() => handle.close());
  return handle;
}

async function start(env: Record<string, string>, db: DatabaseHandle, logger = pino({ level: 'silent' })): Promise<RunningClub> {
  const club = await startClub({ config: loadConfig({ LOG_LEVEL: 'silent', ...env }), logger, database: db, scheduler: false });
  cleanups.push(() => club.stop());
  return club;
}

describe('start-up: each platform checked, the ones that work served', () => {
  it('Telegram refusing the token (401) is said plainly, and Bale keeps serving', async () => {
    const telegram = await fake({ platform: 'telegram', token: '999:another-token-that-is-the-real-one' });
    const bale = await fake({ platform: 'bale', unsupported: ['setMyCommands'] });
    const log = capturingLogger();
    const club = await start(
      { BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: telegram.apiRoot, BALE_BOT_TOKEN: TEST_TOKEN, BALE_API_ROOT: bale.apiRoot },
      await database(),
      log.logger,
    );
    expect(log.messages()).toContain('Telegram refused the token (401): check BOT_TOKEN');
    expect(club.bots.map((b) => b.bot.botInfo.username)).toHaveLength(1);
    const user = bale.user({ id: 7300000001, first_name: 'Bita', language_code: 'en' });
    await user.send('/start');
    await user.waitFor(hasText(/phone/i));
  });

  it('Telegram unreachable (a black hole) is reported within the check time; Bale keeps serving', async () => {
    const hole = await blackHole();
    cleanups.push(() => hole.close());
    const bale = await fake({ platform: 'bale', unsupported: ['setMyCommands'] });
    const log = capturingLogger();
    const started = Date.now();
    await start(
      { BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: hole.url, BALE_BOT_TOKEN: TEST_TOKEN, BALE_API_ROOT: bale.apiRoot, STARTUP_CHECK_SECONDS: '1' },
      await database(),
      log.logger,
    );
    // Bounded by the check (1 s here, 10 s by default), not by the kernel's connect timeout.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(log.messages().some((m) => m.startsWith('Telegram unreachable: set HTTPS_PROXY or use only Bale'))).toBe(true);
    const user = bale.user({ id: 7300000002, first_name: 'Babak', language_code: 'en' });
    await user.send('/start');
    await user.waitFor(hasText(/phone/i));
  });

  it('with no platform that works, start fails with the reason', async () => {
    const telegram = await fake({ platform: 'telegram', token: '999:another-token-that-is-the-real-one' });
    const db = await database();
    const failed = startClub({ config: loadConfig({ BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: telegram.apiRoot }), logger: pino({ level: 'silent' }), database: db, scheduler: false });
    await expect(failed).rejects.toThrow(StartError);
    await expect(failed).rejects.toThrow('Telegram refused the token (401): check BOT_TOKEN');
  });

  it('HTTPS_PROXY: Telegram is reached through the proxy', async () => {
    const telegram = await fake({ platform: 'telegram' });
    const proxy = await connectProxy();
    cleanups.push(() => proxy.close());
    await start({ BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: telegram.apiRoot, HTTPS_PROXY: proxy.url }, await database());
    expect(proxy.state.tunnels).toBeGreaterThan(0);
    const user = telegram.user({ id: 7300000003, first_name: 'Pouya', language_code: 'en' });
    await user.send('/start');
    await user.waitFor(hasText(/phone/i));
  });
});

describe('health, readiness and metrics on PORT', () => {
  it('answers /healthz, /readyz and /metrics with the updates handled', async () => {
    const telegram = await fake({ platform: 'telegram' });
    const club = await start({ BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: telegram.apiRoot, PORT: '0' }, await database());
    const base = `http://127.0.0.1:${club.http!.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { database: true, telegram: true } });

    const user = telegram.user({ id: 7300000004, first_name: 'Mina', language_code: 'en' });
    await user.send('/start');
    await user.waitFor(hasText(/phone/i));
    await club.bots[0]!.settled();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/bashgah_updates_total\{platform="telegram",kind="command",outcome="ok"\} 1/);
    expect(metrics).toMatch(/bashgah_update_seconds_count\{platform="telegram",kind="command"\} 1/);
    expect(metrics).toContain('bashgah_purchases_last_day 0');
    if (usingPostgres()) expect(metrics).toMatch(/bashgah_db_pool_connections\{state="total"\} [1-9]/);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });

  it('/readyz is 503 when the database cannot be reached', async () => {
    const telegram = await fake({ platform: 'telegram' });
    const db = await testDatabase();
    const club = await startClub({
      config: loadConfig({ BOT_TOKEN: TEST_TOKEN, BOT_API_ROOT: telegram.apiRoot, PORT: '0', LOG_LEVEL: 'silent' }),
      logger: pino({ level: 'silent' }),
      database: db,
      scheduler: false,
    });
    const base = `http://127.0.0.1:${club.http!.port}`;
    await db.close();
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, checks: { database: false } });
    await club.stop().catch(() => undefined);
  });
});

describe('webhook mode (WEBHOOK_URL)', () => {
  it('sets the webhook with a secret, answers updates posted to it, refuses a wrong secret, deletes nothing at stop', async () => {
    const telegram = await fake({ platform: 'telegram' });
    const port = await freePort();
    const club = await startClub({
      config: loadConfig({
        BOT_TOKEN: TEST_TOKEN,
        BOT_API_ROOT: telegram.apiRoot,
        WEBHOOK_URL: `http://127.0.0.1:${port}/`,
        WEBHOOK_SECRET: 'a-secret-of-the-club-0123456789',
        PORT: String(port),
        LOG_LEVEL: 'silent',
      }),
      logger: pino({ level: 'silent' }),
      database: await database(),
      scheduler: false,
    });
    expect(telegram.webhookInfo).toEqual({ url: `http://127.0.0.1:${port}/tg/a-secret-of-the-club-0123456789`, secretToken: 'a-secret-of-the-club-0123456789' });

    const user = telegram.user({ id: 7300000005, first_name: 'Nima', language_code: 'en', phone: '989121230005' });
    await user.send('/start');
    await user.waitFor(hasText(/Share my phone number/));
    await user.shareContact();
    await user.waitFor(hasText(/What should we call you/));
    // The same update delivered again is answered once.
    const before = user.messages.length;
    telegram.redeliver();
    await user.send('Nima');
    await user.waitFor(hasText(/When is your birthday/));
    await club.bots[0]!.settled();
    expect(user.messages.length).toBe(before + 1);

    const forged = await fetch(`http://127.0.0.1:${port}/tg/a-secret-of-the-club-0123456789`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong' },
      body: JSON.stringify({ update_id: 999999, message: { message_id: 1, date: 0, chat: { id: 1, type: 'private' }, from: { id: 1, is_bot: false, first_name: 'x' }, text: '/start' } }),
    });
    expect(forged.status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/tg/not-the-secret`, { method: 'POST', body: '{}' })).status).toBe(404);

    await club.stop();
    expect(telegram.calls.map((c) => c.method)).not.toContain('deleteWebhook');
    expect(telegram.webhookInfo).toBeDefined();
  });
});
