import type { Conversation } from '@grammyjs/conversations';
import { countSegment, loadSegment } from '../../club/segments.ts';
import { postNews, pushNews, type NewsInput } from '../../club/news.ts';
import { formatNumber } from '../../lib/format.ts';
import { parseJalaliMoment } from '../../lib/jalali.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { announcementRef } from '../announcements.ts';
import { say } from '../ui.ts';
import { askText, attempt, managerIdOf, pickButton } from './ask.ts';
import { listActiveBranches } from '../../club/staff.ts';
import { listSegments } from '../../club/segments.ts';

export const NEWS_POST = 'news_post';

type NewsConversation = Conversation<Context, ConversationContext>;

export function createNewsConversations(deps: ClubDeps) {
  /** A post: text or photo with caption, an optional event day, branch and link button; then, if wanted, pushed to a segment. */
  async function post(conversation: NewsConversation, ctx: ConversationContext) {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const opts = { cancelledKey: 'news.cancelled' };
    const tz = deps.config.timeZone;

    await say(ctx, t('news.ask_text'));
    let text = '';
    let photo: string | null = null;
    while (!text) {
      const update = await conversation.wait();
      if (update.message?.text === '/cancel') return say(update, t('news.cancelled'));
      const sizes = update.message?.photo;
      const body = (update.message?.text ?? update.message?.caption ?? '').trim();
      if (update.callbackQuery) await update.answerCallbackQuery({ text: t('till.finish_first') });
      else if (sizes?.length && !body) await say(update, t('news.caption_needed'));
      else if (body) {
        text = body;
        photo = sizes?.length ? sizes[sizes.length - 1]!.file_id : null;
      } else await say(update, t('news.ask_text'));
    }

    let eventAt: Date | null = null;
    for (let p = t('news.ask_date'); ; p = t('news.date_invalid')) {
      const raw = await askText(conversation, ctx, p, { ...opts, extra: [t('news.skip')], max: 20 });
      if (raw === null) return;
      if (raw === t('news.skip')) break;
      const day = parseJalaliMoment(raw, tz);
      if (day) {
        eventAt = day.at;
        break;
      }
    }

    const branches = await conversation.external(() => listActiveBranches(deps.db));
    let branchId: number | null = null;
    if (branches.length > 1) {
      const choice = await pickButton(conversation, ctx, t('news.ask_branch'), [[[t('news.all_branches'), 'all']], ...branches.map((b): [string, string][] => [[b.name, `b${b.id}`]])]);
      branchId = choice === 'all' ? null : Number(choice.slice(1));
    }

    let button: NewsInput['button'] = null;
    for (let p = t('news.ask_link'); ; p = t('news.link_invalid')) {
      const raw = await askText(conversation, ctx, p, { ...opts, extra: [t('news.skip')], max: 300 });
      if (raw === null) return;
      if (raw === t('news.skip')) break;
      const [label, url] = raw.split('|').map((s) => s.trim());
      if (label && url && /^https:\/\/\S+$/.test(url) && label.length <= 40) {
        button = { text: label, url };
        break;
      }
    }

    const posted = await conversation.external(() => attempt(async () => (await postNews(deps.db, actor, { text, photoFileId: photo, eventAt, branchId, button }, deps.now())).id));
    if (!posted.ok) return say(ctx, t(posted.key, posted.params), { remove_keyboard: true });
    await say(ctx, t('news.posted'), { remove_keyboard: true });

    const push = await pickButton(conversation, ctx, t('news.ask_push'), [[[t('news.push'), 'push'], [t('news.no_push'), 'no']]]);
    if (push === 'no') return say(ctx, t('news.done'));
    const segments = await conversation.external(() => listSegments(deps.db));
    let segmentId: number | null = null;
    if (segments.length) {
      const choice = await pickButton(conversation, ctx, t('news.ask_segment'), [[[t('news.all_members'), 'all']], ...segments.map((s): [string, string][] => [[s.name, `s${s.id}`]])]);
      segmentId = choice === 'all' ? null : Number(choice.slice(1));
    }
    const count = await conversation.external(async () => {
      // The post as each member reads it, in their language, written out when it is sent.
      const campaignId = await pushNews(deps.db, actor, posted.value, segmentId, announcementRef('news', posted.value), deps.now());
      if (campaignId !== null) deps.broadcaster.kick(campaignId);
      return countSegment(deps.db, await loadSegment(deps.db, segmentId), deps.now());
    });
    await say(ctx, t('news.pushed', { count: formatNumber(count, locale) }));
  }

  return { post };
}
