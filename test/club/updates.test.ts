import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveConversationState } from '../../src/club/conversation-state.ts';
import { joinClub } from '../../src/club/members.ts';
import { handledRecorder, intakeReader, markHandled, wasHandled, withAdvisoryLock } from '../../src/club/updates.ts';
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
      from pg_locks l, (select hashtextextended('telegram:3', 0) as k) key
      where l.locktype = 'advisory' and l.granted and l.objsubid = 1
        and l.classid::text::int8 = (key.k >> 32) & 4294967295 and l.objid::text::int8 = key.k & 4294967295`.execute(a.db);
    expect(await waiter).toBe('taken over');
    // (Let the dead process's work end, so its pool can be closed.)
    endDying();
    await dyingWork;
    await dying.close().catch(() => undefined);
  });
});
