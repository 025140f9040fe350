import type { Conversation } from '@grammyjs/conversations';
import { clubProfile, saveClubProfile, updateBranch, type ClubProfile } from '../../club/identity.ts';
import { staffAtTill } from '../../club/staff.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { askText } from './ask.ts';

export const CLUB_SETTING = 'club_setting';

/** A text field of the club's profile, or a branch's address (`address:<branch id>`), or the logo. */
export type ClubField = 'name' | 'phone' | 'hours' | 'instagram' | 'website' | 'logo' | `address:${number}`;
const MAX: Record<string, number> = { name: 64, phone: 32, hours: 200, instagram: 64, website: 200, address: 200 };

/** Edits one club setting: a typed answer (Clear empties it), or a photo for the logo. */
export function createClubSettingConversation(deps: ClubDeps, done: (ctx: ConversationContext) => Promise<unknown>) {
  return async function clubSetting(conversation: Conversation<Context, ConversationContext>, ctx: ConversationContext, field: ClubField) {
    const { t } = ctx;
    const staffId = await conversation.external(async () => (await staffAtTill(deps.db, ctx.adapter.platform, ctx.from!.id, ['owner']))?.memberId ?? null);
    if (staffId === null) return say(ctx, t('errors.owner_only'));
    const [kind, branch] = field.split(':') as [string, string | undefined];

    if (kind === 'logo') {
      await say(ctx, t('club_settings.ask_logo'), { keyboard: [[{ text: t('till.cancel') }]], resize_keyboard: true });
      for (;;) {
        const update = await conversation.wait();
        const photo = update.message?.photo?.at(-1);
        if (photo) {
          await conversation.external(async () => {
            const logo = { ...(await clubProfile(deps.db)).logo, [ctx.adapter.platform]: photo.file_id };
            await saveClubProfile(deps.db, { logo }, staffId, deps.now());
          });
          break;
        }
        if (update.callbackQuery) await update.answerCallbackQuery({ text: t('till.finish_first') });
        else if (ctx.isLabel(update.message?.text, 'till.cancel')) return say(update, t('club_settings.unchanged'), { remove_keyboard: true });
        else await say(update, t('club_settings.ask_logo'));
      }
    } else {
      const text = await askText(conversation, ctx, t(`club_settings.ask_${kind}`), { extra: [t('club_settings.clear')], cancelledKey: 'club_settings.unchanged', max: MAX[kind] ?? 200 });
      if (text === null) return;
      const value = ctx.isLabel(text, 'club_settings.clear') ? '' : text;
      if (kind === 'name' && !value) return say(ctx, t('club_settings.name_required'), { remove_keyboard: true });
      await conversation.external(async () => {
        if (branch !== undefined) await updateBranch(deps.db, staffId, Number(branch), { address: value }, deps.now());
        else await saveClubProfile(deps.db, { [kind as keyof ClubProfile]: kind === 'instagram' ? value.replace(/^@/, '') : value }, staffId, deps.now());
      });
    }
    await say(ctx, t('club_settings.saved'), { remove_keyboard: true });
    await done(ctx);
  };
}
