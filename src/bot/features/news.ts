import { ClubComposer } from '../composer.ts';
import type { InlineKeyboardButton } from 'grammy/types';
import { newsPage } from '../../club/news.ts';
import type { News } from '../../db/schema.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDate } from '../../lib/jalali.ts';
import type { Context, Speech } from '../context.ts';
import { NEWS_POST } from '../conversations/news.ts';
import { escapeHtml } from '../i18n.ts';
import { showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';

/** A post as members read it: the event's day and branch first, then the text (HTML, or plain for a campaign). */
export function newsText(news: Pick<News, 'text' | 'event_at'> & { branch_name: string | null }, { t, locale }: Pick<Speech, 't' | 'locale'>, tz: string, html = true): string {
  const lines: string[] = [];
  const plain = html ? {} : { interpolation: { escapeValue: false } };
  if (news.event_at) lines.push(t('news.event_date', { ...plain, date: formatDate(news.event_at, locale, tz) }));
  if (news.branch_name) lines.push(t('news.branch', { ...plain, branch: news.branch_name }));
  if (lines.length) lines.push('');
  lines.push(html ? escapeHtml(news.text) : news.text);
  return lines.join('\n');
}

/** «📰 News and events»: one post at a time, newest first, with older/newer buttons. */
export async function showNews(ctx: Context, offset = 0) {
  const { t, locale, deps } = ctx;
  const { item, total } = await newsPage(deps.db, offset);
  const home = [{ text: t('menu.main'), callback_data: 'home' }];
  if (!item) return showScreen(ctx, t('news.none'), { inline_keyboard: [home] });
  const nav: InlineKeyboardButton[] = [];
  if (offset + 1 < total) nav.push({ text: t('news.older'), callback_data: `nw:p:${offset + 1}` });
  if (offset > 0) nav.push({ text: t('news.newer'), callback_data: `nw:p:${offset - 1}` });
  const keyboard = { inline_keyboard: [...(item.button ? [[{ text: item.button.text, url: item.button.url }]] : []), ...(nav.length ? [nav] : []), home] };
  const html = `${newsText(item, ctx, deps.config.timeZone)}\n\n${t('news.position', { n: formatNumber(offset + 1, locale), total: formatNumber(total, locale) })}`;
  if (!item.photo_file_id) return showScreen(ctx, html, keyboard);
  const { text, parse_mode } = ctx.adapter.render(html);
  await ctx.replyWithPhoto(item.photo_file_id, { caption: text, ...(parse_mode ? { parse_mode } : {}), reply_markup: keyboard });
}

export function newsFeature() {
  const composer = new ClubComposer<Context>();
  composer.chatType('private').command('news', staffOnly('owner', 'manager'), (ctx) => ctx.conversation.enter(NEWS_POST));
  opens(composer, 'news', MANAGERS, (ctx) => ctx.conversation.enter(NEWS_POST));
  composer.callbackQuery(/^nw:p:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    await showNews(ctx, Number(ctx.match[1]));
  });
  return composer;
}
