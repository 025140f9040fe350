import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.ts';

/**
 * The secret that signs member-card tokens. Made once and kept in the database, so every bot
 * process of the club (and every restart) agrees on it without another setting to manage.
 */
export async function cardSecret(db: Db): Promise<string> {
  const fresh = randomBytes(32).toString('base64url');
  await db
    .insertInto('club_settings')
    .values({ key: 'card_secret', value: JSON.stringify(fresh) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('club_settings').select('value').where('key', '=', 'card_secret').executeTakeFirstOrThrow();
  return row.value as unknown as string;
}
