import type { ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinClub } from '../../src/club/members.ts';
import { addStaff, listBranches } from '../../src/club/staff.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { TEST_TOKEN } from '../support/club.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { FakeBotApi, type FakeUser } from '../support/fake-bot-api.ts';
import { hasText } from '../support/messages.ts';
import { exited, startClubProcess, waitUntil } from '../support/process.ts';

const OWNER_PHONE = '+989128700000';
const CASHIERS = 6;
const LOOKUPS = 15;
const SECRET = 'multiprocess-secret-0123456789';

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

interface Forwarded {
  upstream: number;
  updateId: number;
  status: number;
}

/**
 * A load balancer in front of the club's processes: round-robin, no stickiness, no health checks.
 * A request whose upstream fails (refused, or the connection cut by a killed process) is answered
 * 502, as nginx does; the platform delivers it again.
 */
async function roundRobinProxy(upstreams: number[]) {
  let turn = 0;
  /** Per upstream, the requests it has not answered yet: their update's chat. */
  const open = upstreams.map(() => new Map<object, number>());
  const log: Forwarded[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upstream = turn++ % upstreams.length;
      const update = JSON.parse(body.toString('utf8')) as { update_id: number; message?: { chat: { id: number } }; callback_query?: { from: { id: number } } };
      const key = {};
      open[upstream]!.set(key, update.message?.chat.id ?? update.callback_query?.from.id ?? 0);
      const done = (status: number, headers: Record<string, string | string[] | undefined>, answer: Buffer | string) => {
        open[upstream]!.delete(key);
        log.push({ upstream, updateId: update.update_id, status });
        res.writeHead(status, headers);
        res.end(answer);
      };
      const forward = httpRequest({ host: '127.0.0.1', port: upstreams[upstream], method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => done(answer.statusCode ?? 502, answer.headers, Buffer.concat(parts)));
        answer.on('error', () => done(502, {}, 'bad gateway'));
      });
      forward.on('error', () => done(502, {}, 'bad gateway'));
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open,
    log,
    close: () => {
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      return closed;
    },
  };
}

/**
 * Several club processes behind one load balancer serve one bot (issue 14): two real processes
 * (`node --import tsx src/main.ts`) on one PostgreSQL schema, behind a round-robin proxy, fed by
 * the fake Bot API's webhook mode; one is killed with SIGKILL in the middle of the load.
 */
const sharedStorage = usingPostgres();
describe.skipIf(!sharedStorage)(
  `webhooks across two processes, one killed mid-load${sharedStorage ? '' : ' (skipped on PGlite: embedded storage cannot be shared by two processes; set DATABASE_URL)'}`,
  () => {
    let db: DatabaseHandle;
    let api: FakeBotApi;
    let proxy: Awaited<ReturnType<typeof roundRobinProxy>>;
    const cashiers: FakeUser[] = [];
    /** Each looked-up member's name, in the order every cashier looks them up (rotated per cashier). */
    const guests: { id: number; name: string }[] = [];
    const children: ChildProcess[] = [];

    beforeAll(async () => {
      db = await testDatabase();
      api = new FakeBotApi({ platform: 'telegram', botUsername: 'bashgah_multiprocess_bot' });
      await api.start();
      const now = new Date();
      const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [OWNER_PHONE], now };
      const join = async (userId: number, phone: string, firstName: string) =>
        (await joinClub(db.db, { platform: 'telegram', userId, chatId: userId }, { phone, firstName, locale: 'en' }, policy)).member.id;
      const ownerId = await join(7700000000, OWNER_PHONE, 'Owner');
      const [branch] = await listBranches(db.db);
      for (let i = 1; i <= CASHIERS; i++) {
        const phone = `+98912870010${i}`;
        const user = api.user({ id: 7700000100 + i, first_name: `Cashier${i}`, language_code: 'en' });
        await join(user.id, phone, `Cashier${i}`);
        await addStaff(db.db, { memberId: ownerId, role: 'owner' }, phone, 'cashier', branch!.id, now);
        cashiers.push(user);
      }
      for (let k = 1; k <= LOOKUPS; k++) guests.push({ id: await join(7700000200 + k, `+9891287002${String(k).padStart(2, '0')}`, `Guest${k}`), name: `Guest${k}` });
    }, 120_000);
    afterAll(async () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await api?.stop();
      await proxy?.close();
      await db?.close();
    });

    async function start(caller: string, port: number) {
      // The same schema for both processes: search_path through the connection string.
      const base = process.env.DATABASE_URL!;
      const databaseUrl = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.schema}`)}`;
      const env = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DOTENV_CONFIG_PATH: '/nonexistent',
        BOT_TOKEN: TEST_TOKEN,
        BOT_API_ROOT: api.callerRoot(caller),
        DATABASE_URL: databaseUrl,
        WEBHOOK_URL: proxy.url,
        WEBHOOK_SECRET: SECRET,
        PORT: String(port),
        OWNER_PHONES: OWNER_PHONE,
        LOG_LEVEL: 'info',
      };
      const club = await startClubProcess(env, 'bot is running (webhook)');
      children.push(club.child);
      return { caller, ...club };
    }
    /** The guests a cashier's answers name, in the order they came. */
    const namesShown = (user: FakeUser) => user.messages.slice(1).map((m) => /: (Guest\d+)\n/.exec(m.text ?? '')?.[1] ?? `not a lookup: ${m.text ?? ''}`);
    const lookupOrder = (i: number) => guests.map((_, k) => guests[(k + i) % guests.length]!);

    it('every update answered exactly once, in order per chat; a signup begun on the killed process goes on on the other', async () => {
      const ports = [await freePort(), await freePort()];
      proxy = await roundRobinProxy(ports);
      const processes = await Promise.all([start('a', ports[0]!), start('b', ports[1]!)]);
      expect(api.webhookInfo).toEqual({ url: `${proxy.url}/tg/${SECRET}`, secretToken: SECRET });
      // Each cashier's staff welcome (queued with the role, sent by the outbox's lease holder) comes first.
      await waitUntil(() => cashiers.every((c) => c.messages.length >= 1), 30_000, () => '');
      for (const cashier of cashiers) expect(cashier.messages[0]!.text).toMatch(/added to the club's staff/);

      // A signup begins; the process that took the contact (and saved the conversation) is the one killed.
      const newcomer = api.user({ id: 7700000001, first_name: 'Parisa', language_code: 'en', phone: '989128700001' });
      await newcomer.send('/start');
      await newcomer.waitFor(hasText(/Share my phone number/), 20_000);
      await newcomer.shareContact();
      const contact = api.lastUpdateId();
      await newcomer.waitFor(hasText(/What should we call you/), 20_000);
      // (The answer is sent before the update is recorded as handled, and the 200 after that.)
      await waitUntil(() => proxy.log.some((f) => f.updateId === contact && f.status === 200), 20_000, () => '');
      const victimIndex = proxy.log.find((f) => f.updateId === contact && f.status === 200)!.upstream;
      const victim = processes[victimIndex]!;
      const survivor = processes[1 - victimIndex]!;

      // The load: each cashier looks up every guest, in its own order, all sent at once (the
      // platform delivers a chat's updates one after another; the chats in parallel).
      const total = CASHIERS * LOOKUPS;
      cashiers.forEach((cashier, i) => {
        for (const guest of lookupOrder(i)) void cashier.send(`/member ${guest.id}`);
      });
      const answered = () => cashiers.reduce((n, c) => n + c.messages.length - 1, 0);
      await waitUntil(() => answered() >= total * 0.4, 30_000, victim.output);

      // Mid-load the victim stalls: each update it has (and each the balancer still gives it) stops
      // at its next Bot API call. Once every request it holds is stopped there, none of its updates
      // is between an answer and its record as handled: kill -9 now.
      api.freezeCaller(victim.caller);
      const stalled = () => {
        const chats = proxy.open[victimIndex]!;
        const held = new Set(api.heldCalls(victim.caller).map((c) => c.chatId));
        return chats.size > 0 && [...chats.values()].every((chat) => held.has(chat));
      };
      await waitUntil(stalled, 30_000, victim.output);
      const inFlightAtKill = proxy.open[victimIndex]!.size;
      expect(answered()).toBeLessThan(total);
      const killed = exited(victim.child);
      victim.child.kill('SIGKILL');
      expect(await killed).toBe('SIGKILL');
      // What it was sending never arrives.
      api.dropCaller(victim.caller);

      await waitUntil(() => answered() === total, 30_000, survivor.output);

      // The signup goes on at the name question, on the survivor.
      await newcomer.send('Parisa');
      await newcomer.waitFor(hasText(/When is your birthday/), 20_000);

      // Exactly once and in order: each cashier saw each guest once, in the order asked.
      cashiers.forEach((cashier, i) => expect(namesShown(cashier)).toEqual(lookupOrder(i).map((g) => g.name)));
      // The updates in flight at the kill were delivered again (the balancer answered 502) and
      // answered by the survivor; every update was answered 200 once.
      const redelivered = proxy.log.filter((f) => f.upstream === victimIndex && f.status === 502);
      expect(redelivered.length).toBeGreaterThanOrEqual(inFlightAtKill);
      expect(api.webhookFailures).toBeGreaterThanOrEqual(inFlightAtKill);
      // (The last answer goes out before its 200: wait for that.)
      const ok = () => proxy.log.filter((f) => f.status === 200).map((f) => f.updateId);
      await waitUntil(() => ok().length >= api.lastUpdateId(), 20_000, survivor.output);
      expect(new Set(ok()).size).toBe(api.lastUpdateId());
      expect(ok()).toHaveLength(api.lastUpdateId());
      for (const f of redelivered) expect(proxy.log.some((g) => g.updateId === f.updateId && g.status === 200 && g.upstream !== victimIndex)).toBe(true);
      // Nobody got anything twice: no stray message to the newcomer either.
      expect(newcomer.messages.filter(hasText(/When is your birthday/))).toHaveLength(1);

      const stopped = exited(survivor.child);
      survivor.child.kill('SIGTERM');
      expect(await stopped, survivor.output()).toBe(0);
    }, 180_000);
  },
);
