import { createConversation, type ConversationBuilder } from '@grammyjs/conversations';
import type { MiddlewareFn } from 'grammy';
import { ClubComposer } from '../composer.ts';
import type { Context, ConversationContext } from '../context.ts';

export interface ConversationEntry {
  id: string;
  builder: ConversationBuilder<Context, ConversationContext>;
}

const nothingAfter = async () => undefined;

/**
 * The club's conversations as one middleware, installed after the conversations plugin.
 *
 * The plugin wants every conversation as a middleware of its own in front of the handlers: each one
 * registers itself on the update's context (so a handler can `ctx.conversation.enter` it) and resumes
 * it when it is running in this chat. With ~30 conversations that is ~30 middlewares, closures and
 * promises on every update, most of them for chats where nothing is running (a third of the
 * club's allocations on a /menu in `npm run bench:updates`). So:
 * - a chat with a conversation running goes through all of them, exactly as the plugin intends
 *   (it is resumed, or a command passes through to the handlers);
 * - a chat with none skips them, and they run (registering, with nothing to resume) the first time a
 *   handler of this update enters a conversation, right before the plugin's own `enter`.
 * Only the plugin's public controls are used.
 */
export function installConversations(entries: ConversationEntry[], plugins: MiddlewareFn<ConversationContext>[]): MiddlewareFn<Context> {
  const all = new ClubComposer<Context>(...entries.map((e) => createConversation<Context, ConversationContext>(e.builder, { id: e.id, plugins }))).middleware();
  return async (ctx, next) => {
    const controls = ctx.conversation;
    if (Object.keys(controls.active()).length > 0) return all(ctx, next);
    const enter = controls.enter.bind(controls);
    let registered = false;
    controls.enter = async (id, ...args) => {
      if (!registered) {
        registered = true;
        await all(ctx, nothingAfter);
      }
      return enter(id, ...args);
    };
    return next();
  };
}
