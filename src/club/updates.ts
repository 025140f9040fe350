import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Platform } from '../db/schema.ts';

/** How long an update is remembered: Telegram keeps one it could not deliver for 24 hours. */
export const HANDLED_UPDATES_KEPT_MS = 2 * 86_400_000;

export interface UpdateRef {
  platform: Platform;
  botId: number;
  updateId: number;
}

/**
 * Takes on an update: true the first time, false when this update_id was already taken on (a
 * redelivery), by this process or another one.
 */
export async function claimUpdate(db: Db, ref: UpdateRef, now: Date): Promise<boolean> {
  const row = await db
    .insertInto('handled_updates')
    .values({ platform: ref.platform, bot_id: ref.botId, update_id: ref.updateId, handled_at: now })
    .onConflict((oc) => oc.doNothing())
    .returning('update_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Forgets updates too old to be delivered again; returns how many. */
export async function pruneHandledUpdates(db: Db, now: Date): Promise<number> {
  const result = await db.deleteFrom('handled_updates').where('handled_at', '<', new Date(now.getTime() - HANDLED_UPDATES_KEPT_MS)).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Whether this update was handled already, by this process or another one. */
export async function wasHandled(db: Db, ref: UpdateRef): Promise<boolean> {
  const row = await db
    .selectFrom('handled_updates')
    .select('update_id')
    .where('platform', '=', ref.platform)
    .where('bot_id', '=', ref.botId)
    .where('update_id', '=', ref.updateId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Records an update as handled: from now on a delivery of the same update_id is dropped. */
export async function markHandled(db: Db, ref: UpdateRef, now: Date): Promise<void> {
  await db
    .insertInto('handled_updates')
    .values({ platform: ref.platform, bot_id: ref.botId, update_id: ref.updateId, handled_at: now })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/**
 * Runs `work` while holding a PostgreSQL advisory lock named by `key` (a chat): across any number
 * of processes on one database, one holder at a time, the others wait. The lock is held by a
 * session on a reserved connection (the work's own queries use other connections of the pool), so
 * a process that dies releases it with its connection.
 */
export async function withAdvisoryLock<T>(db: Db, key: string, work: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(hashtextextended(${key}, 0))`.execute(conn);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended(${key}, 0))`.execute(conn);
    }
  });
}
