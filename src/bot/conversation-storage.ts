import type { VersionedState, VersionedStateStorage } from '@grammyjs/conversations';
import type { Context as BaseContext } from 'grammy';
import type { Db } from '../db/database.ts';
import type { Platform } from '../db/schema.ts';
import type { Intake } from '../club/updates.ts';

/** A chat's key in conversation_state: the platform and the chat ("telegram:12345"). */
export function conversationKey(platform: Platform, ctx: BaseContext): string | undefined {
  return ctx.chatId === undefined ? undefined : `${platform}:${ctx.chatId}`;
}

/** The context the storage is given: the update's intake, when onceEach read it (see takeUpdate). */
type StorageContext = BaseContext & { intake?: Intake | undefined };

/**
 * Conversation state in Postgres, so a restart or another process continues where the chat was.
 * The update's first statement (`takeUpdate`) already read the chat's state: the first read of an
 * update uses it, so no update pays a second round trip for it, and a chat with no conversation
 * (most updates) none at all.
 */
export function postgresConversationStorage<S>(db: Db, platform: Platform): VersionedStateStorage<StorageContext, S> {
  const keyOf = (ctx: StorageContext) => conversationKey(platform, ctx) ?? `${platform}:undefined`;
  return {
    async read(ctx) {
      const intake = ctx.intake;
      if (intake && !intake.conversationUsed) {
        // Read once: a second read in the same update (none today) goes to the database.
        intake.conversationUsed = true;
        return intake.conversation as VersionedState<S> | undefined;
      }
      const row = await db.selectFrom('conversation_state').select('value').where('key', '=', keyOf(ctx)).executeTakeFirst();
      return row?.value as VersionedState<S> | undefined;
    },
    async write(ctx, state) {
      const key = keyOf(ctx);
      const value = storableJson(state);
      await db
        .insertInto('conversation_state')
        .values({ key, value, updated_at: new Date() })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
        .execute();
    },
    async delete(ctx) {
      const key = keyOf(ctx);
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
