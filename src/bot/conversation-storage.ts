import type { VersionedState, VersionedStateStorage } from '@grammyjs/conversations';
import type { Context as BaseContext } from 'grammy';
import type { Db } from '../db/database.ts';
import type { Platform } from '../db/schema.ts';
import type { Intake } from '../club/updates.ts';
import { forgetConversationState, readConversationState, saveConversationState } from '../club/conversation-state.ts';

/** A chat's key in conversation_state: the platform and the chat ("telegram:12345"). */
export function conversationKey(platform: Platform, ctx: BaseContext): string | undefined {
  return ctx.chatId === undefined ? undefined : `${platform}:${ctx.chatId}`;
}

/** The context the storage is given: the update's intake, when onceEach read it (see takeUpdates). */
type StorageContext = BaseContext & { intake?: Intake | undefined };

/**
 * Conversation state in Postgres, so a restart or another process continues where the chat was.
 * The update's first statement (`takeUpdates`) already read the chat's state: the first read of an
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
      return (await readConversationState(db, keyOf(ctx))) as VersionedState<S> | undefined;
    },
    async write(ctx, state) {
      await saveConversationState(db, keyOf(ctx), storableJson(state), new Date());
    },
    async delete(ctx) {
      await forgetConversationState(db, keyOf(ctx));
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
