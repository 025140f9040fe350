import type { MiddlewareFn } from 'grammy';
import { handledRecorder, intakeReader, noteRecorded } from '../club/updates.ts';
import { conversationKey } from './conversation-storage.ts';
import type { Platform } from '../db/schema.ts';
import { containsInvalidCharacter } from '../lib/text.ts';
import type { ClubDeps, Context } from './context.ts';
import { resolveLocale } from './i18n.ts';
import type { PlatformAdapter } from './platform.ts';
import { say } from './ui.ts';

/**
 * Each update once: one delivered again with the same update_id (the platform did not see it
 * confirmed) is dropped, so the person sees the first answer only, not a second, different one
 * (a contact at the name question) or an error (a button's query answered twice).
 *
 * An update counts as done once it was handled, not when it arrived: one whose process was killed
 * mid-way is handled again when the platform delivers it again. Checking first and recording
 * after is safe because a chat's updates are handled one at a time: in this process by
 * sequentialize, across webhook processes by the chat lock (`deps.chatLock`).
 */
export function onceEach(platform: Platform, deps: ClubDeps): MiddlewareFn<Context> {
  // Updates finished together are recorded by one statement (see handledRecorder).
  const markHandled = handledRecorder(deps.db, deps.journaled ?? false);
  // Updates arriving together are read by one statement too (see intakeReader).
  const takeUpdate = intakeReader(deps.db);
  return async (ctx, next) => {
    const ref = { platform, botId: ctx.me.id, updateId: ctx.update.update_id };
    const once = async () => {
      // The same statement loads what the update needs (member, role, conversation): see takeUpdates.
      const intake = await takeUpdate({ ref, userId: ctx.from?.id, conversationKey: conversationKey(platform, ctx) });
      if (intake.handled) {
        deps.logger.info({ platform, update_id: ref.updateId }, 'update delivered again; already handled');
        return;
      }
      ctx.intake = intake;
      try {
        await next();
      } finally {
        // A failed update was answered (bot.catch): it is done too. Only a dead process leaves it open.
        await markHandled(ref, deps.now()).then(
          () => noteRecorded(ctx.update),
          (error: unknown) => deps.logger.warn({ err: error, platform, update_id: ref.updateId }, 'could not record the update as handled'),
        );
      }
    };
    const chat = ctx.chat?.id ?? ctx.from?.id;
    return deps.chatLock && chat !== undefined ? deps.chatLock(`${platform}:${chat}`, once) : once();
  };
}

/**
 * Parts of a message the person did not write in it: the message it replies to or quotes, the
 * bot's own buttons, and names from profiles (which typing again cannot fix; the club only offers
 * them as suggestions). Button presses are not checked either: @grammyjs/menu puts raw hash bytes,
 * control characters included, into its buttons' data. (Whatever a conversation keeps of an update
 * is made storable by the conversation storage.)
 */
const NOT_WRITTEN_HERE = new Set([
  'reply_to_message', 'external_reply', 'quote', 'pinned_message', 'reply_markup',
  'from', 'chat', 'sender_chat', 'forward_origin', 'via_bot', 'first_name', 'last_name', 'vcard',
]);

/**
 * A NUL or another control character in what a person sends (a text or caption, and so a deep
 * link; a shared contact; a file name) is refused here, before any conversation or feature could
 * write it. The question the person was at stays open.
 */
export function refuseInvalidText(): MiddlewareFn<Context> {
  return async (ctx, next) => {
    if (!ctx.message || !containsInvalidCharacter(ctx.message, NOT_WRITTEN_HERE)) return next();
    await say(ctx, ctx.t('errors.invalid_character'));
  };
}

/**
 * The database cannot be reached: ask the person to try again in a minute. Their stored language
 * cannot be read now, so the messenger's language (or the club's default) is used.
 */
export async function askToRetryLater(ctx: Context, adapter: PlatformAdapter, deps: ClubDeps): Promise<void> {
  const t = deps.i18n.getFixedT(ctx.locale ?? resolveLocale(null, ctx.from?.language_code, deps.config));
  const text = t('errors.try_again_later');
  if (ctx.callbackQuery) {
    const alerted = await ctx.answerCallbackQuery({ text, show_alert: true }).then(
      () => true,
      () => false,
    );
    if (alerted) return;
  }
  // The update may have failed before the club's context was put on it.
  ctx.adapter ??= adapter;
  if (ctx.chat) await say(ctx, text).catch(() => undefined);
}
