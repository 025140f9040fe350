import type { MiddlewareFn } from 'grammy';
import type { Context } from '../context.ts';

/** `/voucher ABC` -> `voucher`; `/cancel@club_bot` -> `cancel`; anything else -> null. */
export function commandOf(text: string | undefined): string | null {
  return /^\/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s|$)/.exec(text ?? '')?.[1]?.toLowerCase() ?? null;
}

/**
 * The one place where a command leaves whatever conversation is running, installed before the
 * conversations: no step (a question, a confirmation with inline buttons, a survey) takes a command
 * as its answer. The command then runs as it would outside: `/cancel` says so and shows the main
 * menu (features/start.ts), `/voucher CODE` typed while the till asks for a code checks that code.
 */
export function commandsLeaveConversations(): MiddlewareFn<Context> {
  return async (ctx, next) => {
    if (ctx.chat?.type === 'private' && commandOf(ctx.message?.text) !== null && Object.keys(ctx.conversation.active()).length > 0) {
      await ctx.conversation.exitAll();
    }
    return next();
  };
}
