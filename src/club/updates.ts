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
