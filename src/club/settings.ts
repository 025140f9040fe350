import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { Trx } from './ledger.ts';
import { audit } from './audit.ts';

/**
 * The secret that signs member-card tokens. Made once and kept in the database, so every bot
 * process of the club (and every restart) agrees on it without another setting to manage.
 */
export async function cardSecret(db: Db, now: Date): Promise<string> {
  const fresh = randomBytes(32).toString('base64url');
  await db
    .insertInto('club_settings')
    .values({ key: 'card_secret', value: JSON.stringify(fresh), updated_at: now })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('club_settings').select('value').where('key', '=', 'card_secret').executeTakeFirstOrThrow();
  return row.value as unknown as string;
}

/**
 * A group of club settings kept as one JSON row in club_settings, read through a zod schema that
 * fills the defaults, and saved with an audit entry.
 */
export function settingsStore<S extends z.ZodType<object>>(key: string, schema: S) {
  type Value = z.infer<S>;
  async function read(db: Db | Trx, defaults: Partial<Value> = {}): Promise<Value> {
    const row = await db.selectFrom('club_settings').select('value').where('key', '=', key).executeTakeFirst();
    return schema.parse({ ...defaults, ...((row?.value as object | undefined) ?? {}) });
  }
  async function save(db: Db, patch: Partial<Value>, actorMemberId: number | null, now: Date): Promise<Value> {
    const next = schema.parse({ ...(await read(db)), ...patch });
    const value = JSON.stringify(next);
    await db
      .insertInto('club_settings')
      .values({ key, value, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
      .execute();
    await audit(db, { actor: actorMemberId, action: `settings.${key}`, payload: patch, at: now });
    return next;
  }
  return { read, save };
}
