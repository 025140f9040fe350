import type { VersionedState, VersionedStateStorage } from '@grammyjs/conversations';
import type { Db } from '../db/database.ts';

/** Conversation state in Postgres, so a restart or another process continues where the chat was. */
export function postgresConversationStorage<S>(db: Db): VersionedStateStorage<string, S> {
  return {
    async read(key) {
      const row = await db.selectFrom('conversation_state').select('value').where('key', '=', key).executeTakeFirst();
      return row?.value as VersionedState<S> | undefined;
    },
    async write(key, state) {
      const value = storableJson(state);
      await db
        .insertInto('conversation_state')
        .values({ key, value, updated_at: new Date() })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
        .execute();
    },
    async delete(key) {
      await db.deleteFrom('conversation_state').where('key', '=', key).execute();
    },
  };
}

/**
 * JSON that jsonb accepts: PostgreSQL refuses the escape \u0000, which a kept update can carry (a
 * menu button's hash bytes, a profile name). It becomes U+FFFD; an escaped backslash before
 * "u0000" ("\\u0000", typed text) is left alone.
 */
export function storableJson(value: unknown): string {
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
}
