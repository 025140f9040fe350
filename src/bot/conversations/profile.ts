import { memberIdOfAccount } from '../../club/members.ts';
import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import { ClubError } from '../../club/errors.ts';
import { HEARD_FROM, INTERESTS, updateProfileField, type ProfileField, type ProfileValue } from '../../club/profile.ts';
import { formatNumber } from '../../lib/format.ts';
import { parseJalaliBirthday } from '../../lib/jalali.ts';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { ClubDeps, Context, ConversationContext, Speech } from '../context.ts';
import { say } from '../ui.ts';

export const PROFILE = 'profile';
const MAX_TEXT = 2000;

type ProfileConversation = Conversation<Context, ConversationContext>;

/** Edits one profile field; the member may leave with Cancel or /cancel at any point. */
export function createProfileConversation(
  deps: ClubDeps,
  profileScreen: (memberId: number, speech: Speech) => Promise<{ html: string; keyboard: InlineKeyboardMarkup }>,
) {
  return async function profile(conversation: ProfileConversation, ctx: ConversationContext, field: ProfileField) {
    const { t, locale } = ctx;
    const memberId = await conversation.external(async () => {
      return memberIdOfAccount(deps.db, ctx.adapter.platform, ctx.from!.id);
    });
    if (memberId === null) return say(ctx, t('errors.not_member'));
    const cancel = t('till.cancel');

    const save = (value: ProfileValue) =>
      conversation.external(async () => {
        try {
          const r = await updateProfileField(deps.db, memberId, field, value, { env: { now: deps.now(), timeZone: deps.config.timeZone } });
          return { ok: true as const, points: r.pointsAwarded };
        } catch (error) {
          if (error instanceof ClubError) return { ok: false as const, key: error.i18nKey };
          throw error;
        }
      });

    let value: ProfileValue | undefined;
    let saved: Awaited<ReturnType<typeof save>> | undefined;
    if (field === 'interests') {
      const chosen = new Set<string>();
      const keyboard = () => ({
        inline_keyboard: [
          ...INTERESTS.map((i) => [{ text: `${chosen.has(i) ? '✅ ' : ''}${t(`profile.interest_${i}`)}`, callback_data: `pi:${i}` }]),
          [{ text: t('profile.done'), callback_data: 'pi:done' }, { text: cancel, callback_data: 'pi:cancel' }],
        ],
      });
      const message = await say(ctx, t('profile.ask_interests'), keyboard());
      for (;;) {
        const press = await conversation.waitForCallbackQuery(/^pi:/, { otherwise: (o) => say(o, t('till.use_buttons')) });
        const choice = press.callbackQuery.data.slice(3);
        if (choice === 'cancel') {
          await press.answerCallbackQuery();
          return say(press, t('profile.cancelled'));
        }
        if (choice === 'done') {
          if (chosen.size === 0) {
            await press.answerCallbackQuery({ text: t('profile.pick_one') });
            continue;
          }
          await press.answerCallbackQuery();
          value = [...chosen];
          saved = await save(value);
          break;
        }
        if (chosen.has(choice)) chosen.delete(choice);
        else chosen.add(choice);
        await press.answerCallbackQuery();
        if (ctx.adapter.editsKeyboards) await press.api.editMessageReplyMarkup(message.chat.id, message.message_id, { reply_markup: keyboard() }).catch(() => undefined);
        else await say(press, t('profile.ask_interests'), keyboard());
      }
    } else {
      const options =
        field === 'gender' ? [t('signup.gender_female'), t('signup.gender_male')] : field === 'heard_from' ? HEARD_FROM.map((h) => t(`profile.heard_${h}`)) : [];
      const kb = new Keyboard();
      for (const o of options) kb.text(o).row();
      kb.text(cancel).resized();
      await say(ctx, t(`profile.ask_${field}`), kb);
      while (saved === undefined || !saved.ok) {
        value = undefined;
        const update = await conversation.wait();
        if (update.callbackQuery) {
          await update.answerCallbackQuery({ text: t('till.finish_first') });
          continue;
        }
        const text = update.message?.text?.trim();
        if (text === undefined) {
          await say(update, t('till.text_please'), kb);
          continue;
        }
        if (text === cancel) return say(update, t('profile.cancelled'), { remove_keyboard: true });
        if (text.length > MAX_TEXT) {
          await say(update, t('errors.text_too_long', { max: formatNumber(MAX_TEXT, locale) }), kb);
          continue;
        }
        if (field === 'gender') {
          value = ctx.isLabel(text, 'signup.gender_female') ? 'female' : ctx.isLabel(text, 'signup.gender_male') ? 'male' : undefined;
          if (value === undefined) await say(update, t('signup.gender_invalid'), kb);
        } else if (field === 'heard_from') {
          value = HEARD_FROM.find((h) => ctx.isLabel(text, `profile.heard_${h}`));
          if (value === undefined) await say(update, t('signup.gender_invalid'), kb);
        } else if (field === 'birth_date') {
          const nowIso = await conversation.external(() => deps.now().toISOString());
          const parsed = parseJalaliBirthday(text, new Date(nowIso), deps.config.timeZone);
          if (parsed.ok) value = parsed.iso;
          else await say(update, t(`signup.birthday_${parsed.reason}`), kb);
        } else value = text;
        if (value === undefined) continue;
        saved = await save(value);
        // A value the club refuses (a bad email, a locked birthday) is explained; the question stays.
        if (!saved.ok) await say(update, t(saved.key), kb);
      }
    }
    if (!saved?.ok) return say(ctx, t(saved?.key ?? 'errors.generic'), { remove_keyboard: true });
    await say(ctx, t('profile.saved'), { remove_keyboard: true });
    if (saved.points > 0) await say(ctx, t('profile.completed', { points: formatNumber(saved.points, locale) }));
    const screen = await conversation.external(() => profileScreen(memberId, { t, locale, adapter: ctx.adapter }));
    await say(ctx, screen.html, screen.keyboard);
  };
}
