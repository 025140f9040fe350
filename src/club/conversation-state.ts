import type { Db } from '../db/database.ts';

/**
 * Where a chat's conversations stand (key: platform and chat, see conversationKey), kept in
 * PostgreSQL so a restart or another process continues where the chat was.
 */
export async function readConversationState(db: Db, key: string): Promise<unknown> {
  const row = await db.selectFrom('conversation_state').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/** Saves the chat's state: `json` is already text PostgreSQL's jsonb accepts (see storableJson). */
export async function saveConversationState(db: Db, key: string, json: string, at: Date): Promise<void> {
  await db
    .insertInto('conversation_state')
    .values({ key, value: json, updated_at: at })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: json, updated_at: at }))
    .execute();
}

export async function forgetConversationState(db: Db, key: string): Promise<void> {
  await db.deleteFrom('conversation_state').where('key', '=', key).execute();
}
