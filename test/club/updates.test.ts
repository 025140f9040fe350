import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveConversationState } from '../../src/club/conversation-state.ts';
import { joinClub } from '../../src/club/members.ts';
import { handledRecorder, intakeReader, markHandled, pruneHandledUpdates, updateJournal, wasHandled, withAdvisoryLock } from '../../src/club/updates.ts';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';
import { QueryCounter } from '../support/query-counter.ts';

describe('handled updates', () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await testDatabase();
  });
  afterAll(() => handle?.close());

  it('an update is done once it is recorded as handled, not when it arrives', async () => {
    const ref = { platform: 'telegram' as const, botId: 1, updateId: 41 };
    expect(await wasHandled(handle.db, ref)).toBe(false);
    await markHandled(handle.db, ref, new Date('2026-11-29T10:00:00Z'));
    await markHandled(handle.db, ref, new Date('2026-11-29T10:00:01Z'));
    expect(await wasHandled(handle.db, ref)).toBe(true);
    expect(await wasHandled(handle.db, { ...ref, platform: 'bale' })).toBe(false);
  });

  it('updates finished while a record is being written are recorded together, each caller told once its own row is in', async () => {
    const counter = new QueryCounter();
    const record = handledRecorder(handle.db.withPlugin(counter));
    const now = new Date('2026-11-29T10:00:00Z');
    const refs = Array.from({ length: 50 }, (_, i) => ({ platform: 'telegram' as const, botId: 2, updateId: 100 + i }));
    const recorded: number[] = [];
    // The first is written at once, alone; the 49 that finish meanwhile go in one more statement.
    await Promise.all(refs.map((ref) => record(ref, now).then(() => recorded.push(ref.updateId))));
    expect(counter.seen).toEqual(['insert handled_updates', 'insert handled_updates']);
    expect(recorded.sort()).toEqual(refs.map((r) => r.updateId));
    for (const ref of refs) expect(await wasHandled(handle.db, ref)).toBe(true);
    // One update alone is written at once: no waiting for company.
    counter.reset();
    await record({ platform: 'telegram', botId: 2, updateId: 99 }, now);
    expect(counter.seen).toEqual(['insert handled_updates']);
    expect(await wasHandled(handle.db, { platform: 'telegram', botId: 2, updateId: 99 })).toBe(true);
  });

  it('updates arriving together are read by one intake statement, each given its own member, state and handled flag', async () => {
    const now = new Date('2026-11-29T10:00:00Z');
    const joined = await joinClub(
      handle.db,
      { platform: 'telegram', userId: 7700000001, chatId: 7700000001 },
      { phone: '+989128870001', firstName: 'Mina', locale: 'en' },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: [], now },
    );
    await saveConversationState(handle.db, 'telegram:7700000002', JSON.stringify({ signup: [] }), now);
    await markHandled(handle.db, { platform: 'telegram', botId: 5, updateId: 3 }, now);
    const counter = new QueryCounter();
    const take = intakeReader(handle.db.withPlugin(counter));
    const ask = (updateId: number, userId: number | undefined) => ({
      ref: { platform: 'telegram' as const, botId: 5, updateId },
      userId,
      conversationKey: userId === undefined ? undefined : `telegram:${userId}`,
    });
    // The first is read at once, alone; the three arriving meanwhile by one more statement.
    const [first, member, stranger, redelivered] = await Promise.all([
      take(ask(1, 7700000002)),
      take(ask(2, 7700000001)),
      take(ask(4, 7700000002)),
      take(ask(3, undefined)),
    ]);
    expect(counter.seen).toHaveLength(2);
    expect(first!.account).toBeUndefined();
    expect(first!.conversation).toEqual({ signup: [] });
    expect(member!.account?.member.id).toBe(joined.member.id);
    expect(member!.account?.member.first_name).toBe('Mina');
    expect(member!.tier?.id).toBe(joined.member.tier_id);
    expect(member!.conversation).toBeUndefined();
    expect(member!.handled).toBe(false);
    expect(stranger!.account).toBeUndefined();
    expect(stranger!.conversation).toEqual({ signup: [] });
    expect(redelivered!.handled).toBe(true);
    expect(redelivered!.account).toBeUndefined();
  });

  it('a record that cannot be written fails for each update of its group, and the next group is written', async () => {
    const record = handledRecorder(handle.db);
    const now = new Date('2026-11-29T10:00:00Z');
    // update_id is int8: a value beyond it makes the first statement fail.
    const results = await Promise.allSettled([
      record({ platform: 'telegram', botId: 3, updateId: 2 ** 70 }, now),
      record({ platform: 'telegram', botId: 3, updateId: 1 }, now),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(await wasHandled(handle.db, { platform: 'telegram', botId: 3, updateId: 1 })).toBe(true);
  });
});

describe("long polling's journal of fetched updates", () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await testDatabase();
  });
  afterAll(() => handle?.close());

  const update = (id: number, text: string) => ({ update_id: id, message: { message_id: id, date: 0, chat: { id: 1, type: 'private' }, text } });
  const rows = async (botId: number) =>
    (await handle.db.selectFrom('received_updates').select('update_id').where('bot_id', '=', botId).orderBy('update_id').execute()).map((r) => r.update_id);

  it('keeps a page until each update is handled; the next process gets back what was left, in order, and nothing handled or too old', async () => {
    let now = new Date('2026-11-29T10:00:00Z');
    const journal = updateJournal({ handle, platform: 'telegram', botId: 11, now: () => now });
    expect(await journal.open()).toEqual([]);
    await journal.keep([update(5, 'سلام «دنیا»'), update(6, 'b'), update(7, 'c'), update(8, 'd')]);
    // Kept twice (a page fetched again): once.
    await journal.keep([update(8, 'd')]);
    expect(await rows(11)).toEqual([5, 6, 7, 8]);
    // A handled record deletes the update's row in the same statement; `done` deletes another.
    await handledRecorder(handle.db, true)({ platform: 'telegram', botId: 11, updateId: 6 }, now);
    await journal.done(8);
    expect(await rows(11)).toEqual([5, 7]);
    // A row whose handled record came without deleting it (it was written after): dropped at the next open.
    await markHandled(handle.db, { platform: 'telegram', botId: 11, updateId: 4 }, now);
    await journal.keep([update(4, 'handled already')]);
    await journal.close();

    // The next process, a day and a minute later for one of them.
    now = new Date('2026-11-29T12:00:00Z');
    const next = updateJournal({ handle, platform: 'telegram', botId: 11, now: () => now });
    expect(await next.open()).toEqual([update(5, 'سلام «دنیا»'), update(7, 'c')]);
    expect(await rows(11)).toEqual([5, 7]);
    await next.close();
    now = new Date('2026-11-30T10:01:00Z');
    const late = updateJournal({ handle, platform: 'telegram', botId: 11, now: () => now });
    await late.keep([update(9, 'new')]);
    // Telegram itself drops an update after a day: so does the replay; the nightly prune deletes them later.
    expect(await late.open()).toEqual([update(9, 'new')]);
    await late.close();
    // Another bot's journal is its own.
    expect(await rows(12)).toEqual([]);
    await pruneHandledUpdates(handle.db, new Date('2026-12-01T10:30:00Z'));
    expect(await rows(11)).toEqual([9]);
  });
});

describe.skipIf(!usingPostgres())('one poller per bot across processes (PostgreSQL)', () => {
  let a: DatabaseHandle;
  let b: DatabaseHandle;
  let other: DatabaseHandle;
  beforeAll(async () => {
    a = await testDatabase();
    // Another process of the same club: its own pool on the same database.
    b = await createDatabase({ databaseUrl: process.env.DATABASE_URL!, schema: a.schema });
    // Another club (schema) on the same database.
    other = await testDatabase();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await other?.close();
  });

  it("a second process's journal waits until the first lets go of it; another bot, or another club, does not wait", async () => {
    const now = () => new Date('2026-11-29T10:00:00Z');
    const first = updateJournal({ handle: a, platform: 'telegram', botId: 21, now });
    await first.open();
    await first.keep([{ update_id: 1 }]);
    let waited = 0;
    const second = updateJournal({ handle: b, platform: 'telegram', botId: 21, now, onWait: () => waited++ });
    let opened: unknown[] | undefined;
    const opening = second.open().then((left) => (opened = left));
    const otherBot = updateJournal({ handle: b, platform: 'bale', botId: 21, now });
    expect(await otherBot.open()).toEqual([]);
    const otherClub = updateJournal({ handle: other, platform: 'telegram', botId: 21, now });
    expect(await otherClub.open()).toEqual([]);
    while (waited === 0) await new Promise((r) => setTimeout(r, 10));
    expect(opened).toBeUndefined();
    await first.close();
    // The first process's unfinished update is the second's now.
    await opening;
    expect(opened).toEqual([{ update_id: 1 }]);
    // A stop while still waiting gives up at once.
    const third = updateJournal({ handle: a, platform: 'telegram', botId: 21, now });
    const thirdOpening = third.open();
    await third.close();
    expect(await thirdOpening).toEqual([]);
    for (const j of [second, otherBot, otherClub]) await j.close();
  });

  it('a lock whose connection the server closes is said, and taken again on a new connection, once the server answers again', async () => {
    const now = () => new Date('2026-11-29T10:00:00Z');
    // The backends holding the bot's lock, found as the existing chat-lock test finds one.
    const holders = async () =>
      (
        await sql<{ pid: number }>`
          select l.pid from pg_locks l, (select hashtextextended(${`${a.schema}:received_updates:telegram:22`}, 0) as k) key
          where l.locktype = 'advisory' and l.granted and l.objsubid = 1
            and l.classid::text::int8 = (key.k >> 32) & 4294967295 and l.objid::text::int8 = key.k & 4294967295`.execute(a.db)
      ).rows.map((r) => r.pid);
    const lost: unknown[] = [];
    // The server is still away for the first two new connections (nothing listens on port 1).
    const away = await createDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none' });
    let sessions = 0;
    const flaky = { ...a, session: (onLost?: (error: Error) => void) => (++sessions === 2 || sessions === 3 ? away.session!(onLost) : a.session!(onLost)) };
    const journal = updateJournal({ handle: flaky, platform: 'telegram', botId: 22, now, onLockLost: (error) => lost.push(error) });
    await journal.open();
    const [first] = await holders();
    expect(first).toBeDefined();
    await sql`select pg_terminate_backend(${first!})`.execute(a.db);
    while (lost.length === 0) await new Promise((r) => setTimeout(r, 10));
    let again: number[] = [];
    while (again.length === 0 || again[0] === first) {
      again = await holders();
      await new Promise((r) => setTimeout(r, 10));
    }
    // Held again: another process waits for it.
    let waited = 0;
    const other = updateJournal({ handle: b, platform: 'telegram', botId: 22, now, onWait: () => waited++ });
    const opening = other.open();
    while (waited === 0) await new Promise((r) => setTimeout(r, 10));
    await journal.close();
    await opening;
    await other.close();
    await away.close();
    // Said once; taken again on the fourth connection.
    expect(lost).toHaveLength(1);
    expect(sessions).toBe(4);
  });
});

describe.skipIf(!usingPostgres())('a chat lock across processes (PostgreSQL)', () => {
  let a: DatabaseHandle;
  let b: DatabaseHandle;
  beforeAll(async () => {
    a = await testDatabase();
    // Another process of the same club: its own pool on the same database.
    b = await createDatabase({ databaseUrl: process.env.DATABASE_URL!, schema: a.schema });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('one holder at a time for a chat; other chats go on; a dead holder releases it', async () => {
    const events: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = withAdvisoryLock(a.db, 'telegram:1', async () => {
      events.push('a in');
      entered();
      await held;
      events.push('a out');
    });
    await inside;
    const second = withAdvisoryLock(b.db, 'telegram:1', async () => void events.push('b in'));
    // Another chat is not held up by the first one.
    await withAdvisoryLock(b.db, 'telegram:2', async () => void events.push('other chat'));
    expect(events).toEqual(['a in', 'other chat']);
    release();
    await Promise.all([first, second]);
    expect(events).toEqual(['a in', 'other chat', 'a out', 'b in']);

    // A process killed while holding the lock: its connection closes and the lock goes with it.
    const dying = await createDatabase({ databaseUrl: process.env.DATABASE_URL!, schema: a.schema, poolSize: 2 });
    let dyingEntered!: () => void;
    const dyingInside = new Promise<void>((r) => (dyingEntered = r));
    let endDying!: () => void;
    const dyingWork = withAdvisoryLock(dying.db, 'telegram:3', async () => {
      dyingEntered();
      await new Promise<void>((r) => (endDying = r));
    }).catch(() => undefined);
    await dyingInside;
    const waiter = withAdvisoryLock(a.db, 'telegram:3', async () => 'taken over');
    // SIGKILL of that process, as the server sees it: its session ends.
    // (A bigint lock key shows in pg_locks as its high 32 bits in classid and its low 32 in objid.)
    await sql`
      select pg_terminate_backend(l.pid)
      from pg_locks l, (select hashtextextended(${`${a.schema}:telegram:3`}, 0) as k) key
      where l.locktype = 'advisory' and l.granted and l.objsubid = 1
        and l.classid::text::int8 = (key.k >> 32) & 4294967295 and l.objid::text::int8 = key.k & 4294967295`.execute(a.db);
    expect(await waiter).toBe('taken over');
    // (Let the dead process's work end, so its pool can be closed.)
    endDying();
    await dyingWork;
    await dying.close().catch(() => undefined);
  });
});
