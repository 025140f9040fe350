import { ClubComposer } from '../composer.ts';
import { InputFile } from 'grammy';
import type { InlineKeyboardButton } from 'grammy/types';
import { ClubError } from '../../club/errors.ts';
import { buyTickets, currentLotteries, loadLottery, lotteryProof, myTickets, recentLotteries, type LotteryProof } from '../../club/lotteries.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDate } from '../../lib/jalali.ts';
import { runDraw } from '../../jobs/lotteries.ts';
import type { Context } from '../context.ts';
import { LOTTERY_NEW } from '../conversations/lotteries.ts';
import { escapeHtml } from '../i18n.ts';
import { branchNames } from '../../club/offer-branch.ts';
import { howText, percentText, periodText, prizesText, winnersText } from '../lottery-text.ts';
import { loadMember } from '../../club/members.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';

/** A text whose values are HTML already (pieces from other keys) or escaped by the caller. */
const raw = { interpolation: { escapeValue: false } };
/** Button labels are plain text: nothing to escape. */
const label = raw;

const BUY_COUNTS = [1, 5, 10];

/** The member's 🎟 screen: open lotteries with "My tickets" and the odds, then recent results with their proof. */
export async function showLotteries(ctx: Context) {
  const member = ctx.member;
  if (!member) {
    await ctx.answerCallbackQuery({ text: ctx.t('errors.not_member'), show_alert: true }).catch(() => undefined);
    return;
  }
  const { deps, t, locale } = ctx;
  const tz = deps.config.timeZone;
  const now = deps.now();
  const n = (v: number) => formatNumber(v, locale);
  const blocks: string[] = [];
  const buttons: InlineKeyboardButton[][] = [];
  for (const lottery of await currentLotteries(deps.db, now)) {
    const title = escapeHtml(lottery.title);
    const { mine, total, chance, eligible } = await myTickets(deps.db, lottery, member.id, now);
    const tickets = t('lotteries.my_tickets', { mine: n(mine), total: n(total), share: percentText(total ? mine / total : 0, locale) });
    if (lottery.status === 'open') {
      const lines = [t('lotteries.open_row', { ...raw, title, id: n(lottery.id), period: periodText(lottery, ctx, tz), how: howText(lottery, ctx), prizes: prizesText(lottery.prizes, ctx) })];
      if (lottery.branch_id !== null) lines.push(t('branch_offers.only_at', { branch: (await branchNames(deps.db)).get(lottery.branch_id) ?? '' }));
      if (!eligible) lines.push(t('lotteries.not_eligible'));
      else lines.push(tickets, t('lotteries.my_odds', { chance: percentText(chance, locale) }));
      lines.push(t('lotteries.commitment_line', { commitment: lottery.commitment }));
      blocks.push(lines.join('\n'));
      if (eligible && lottery.ticket_mode === 'bought' && now >= lottery.starts_at && now < lottery.ends_at) {
        buttons.push([{ text: t('lotteries.buy_button', { ...label, title: lottery.title }), callback_data: `lt:buy:${lottery.id}` }]);
      }
    } else {
      const proof = lottery.proof as LotteryProof;
      const winners = winnersText(proof.prizes, proof.winners, ctx, 10);
      blocks.push(
        [t('lotteries.drawn_row', { ...raw, title, id: n(lottery.id), date: formatDate(lottery.drawn_at!, locale, tz), winners, digest: proof.list_digest, seed: proof.seed }), tickets].join('\n'),
      );
      buttons.push([{ text: t('lotteries.proof_button', { ...label, title: lottery.title }), callback_data: `lt:proof:${lottery.id}` }]);
    }
  }
  buttons.push([{ text: t('menu.main'), callback_data: 'home' }]);
  await showScreen(ctx, [t('lotteries.title'), '', blocks.length ? blocks.join('\n\n') : t('lotteries.none')].join('\n'), { inline_keyboard: buttons });
}

/** The manager's list: status of each lottery, a new one, and a draw by hand. */
async function showManagerList(ctx: Context) {
  const { t, locale, deps } = ctx;
  const lotteries = await recentLotteries(deps.db);
  const rows = lotteries.map((l) =>
    t('lotteries.admin_row', { id: formatNumber(l.id, locale), title: l.title, status: t(`lotteries.status_${l.status}`), to: formatDate(new Date(l.ends_at.getTime() - 1), locale, deps.config.timeZone) }),
  );
  const buttons: InlineKeyboardButton[][] = [[{ text: t('lotteries.new_button'), callback_data: 'lt:new' }]];
  for (const l of lotteries) if (l.status === 'open') buttons.push([{ text: t('lotteries.draw_button', { ...label, title: l.title }), callback_data: `lt:draw:${l.id}` }]);
  await say(ctx, [t('lotteries.admin_title'), '', ...(rows.length ? rows : [t('lotteries.admin_none')])].join('\n'), { inline_keyboard: buttons });
}

const isManager = (ctx: Context) => ctx.role === 'owner' || ctx.role === 'manager';

export function lotteriesFeature() {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');

  privateChat.command('lotteries', staffOnly('owner', 'manager'), showManagerList);
  opens(composer, 'lotteries', MANAGERS, showManagerList);

  composer.callbackQuery('lt:list', async (ctx) => {
    await ctx.answerCallbackQuery();
    await showLotteries(ctx);
  });

  composer.callbackQuery('lt:new', async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!isManager(ctx)) return say(ctx, ctx.t('errors.manager_only'));
    await ctx.conversation.enter(LOTTERY_NEW);
  });

  composer.callbackQuery(/^lt:draw:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!isManager(ctx)) return say(ctx, ctx.t('errors.manager_only'));
    const lottery = await loadLottery(ctx.deps.db, Number(ctx.match[1]));
    await say(ctx, ctx.t('lotteries.draw_confirm', { title: lottery.title }), {
      inline_keyboard: [[{ text: ctx.t('lotteries.draw_yes'), callback_data: `lt:drawok:${lottery.id}` }, { text: ctx.t('lotteries.draw_no'), callback_data: 'lt:drawno' }]],
    });
  });

  composer.callbackQuery('lt:drawno', async (ctx) => {
    await ctx.answerCallbackQuery();
    await showScreen(ctx, ctx.t('till.cancelled'), { inline_keyboard: [] });
  });

  composer.callbackQuery(/^lt:drawok:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!isManager(ctx)) return say(ctx, ctx.t('errors.manager_only'));
    // Keyed by the lottery: a second press, or the scheduler at the same moment, draws nothing more.
    const result = await runDraw(ctx.deps, Number(ctx.match[1]));
    if (!result) return showScreen(ctx, ctx.t('lotteries.already_drawn'), { inline_keyboard: [] });
    const { proof, lottery } = result;
    const winners = winnersText(proof.prizes, proof.winners, ctx);
    await showScreen(ctx, ctx.t('lotteries.drawn', { ...raw, title: escapeHtml(lottery.title), winners, digest: proof.list_digest, seed: proof.seed }), { inline_keyboard: [] });
  });

  // Buying tickets with points: the member's own presses in their own chat are the consent.
  composer.callbackQuery(/^lt:buy:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    const lottery = await loadLottery(ctx.deps.db, Number(ctx.match[1]));
    const member = await loadMember(ctx.deps.db, ctx.member.id);
    const n = (v: number) => formatNumber(v, ctx.locale);
    await showScreen(ctx, ctx.t('lotteries.buy_ask', { title: lottery.title, price: n(lottery.points_per_ticket), balance: n(member.points_balance) }), {
      inline_keyboard: [
        BUY_COUNTS.map((c) => ({ text: ctx.t('lotteries.buy_count', { count: n(c) }), callback_data: `lt:bq:${lottery.id}:${c}` })),
        [{ text: ctx.t('menu.back'), callback_data: 'lt:list' }],
      ],
    });
  });

  composer.callbackQuery(/^lt:bq:(\d+):(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    const lottery = await loadLottery(ctx.deps.db, Number(ctx.match[1]));
    const count = Number(ctx.match[2]);
    const n = (v: number) => formatNumber(v, ctx.locale);
    // A message of its own: its id keys the purchase, so one offer is paid at most once.
    await say(ctx, ctx.t('lotteries.buy_confirm', { count: n(count), title: lottery.title, points: n(count * lottery.points_per_ticket) }), {
      inline_keyboard: [[{ text: ctx.t('lotteries.buy_yes'), callback_data: `lt:bok:${lottery.id}:${count}` }, { text: ctx.t('lotteries.buy_no'), callback_data: 'lt:bno' }]],
    });
  });

  composer.callbackQuery(/^lt:bok:(\d+):(\d+)$/, async (ctx) => {
    if (!ctx.member) return ctx.answerCallbackQuery({ text: ctx.t('errors.not_member'), show_alert: true });
    const lotteryId = Number(ctx.match[1]);
    const count = Number(ctx.match[2]);
    const message = ctx.callbackQuery.message;
    const key = `${ctx.adapter.platform}:${ctx.chat?.id ?? 0}:${message?.message_id ?? ctx.callbackQuery.id}`;
    const back = { inline_keyboard: [[{ text: ctx.t('menu.back'), callback_data: 'lt:list' }]] };
    try {
      const now = ctx.deps.now();
      const { points } = await buyTickets(ctx.deps.db, { lotteryId, memberId: ctx.member.id, tickets: count, key, now });
      const lottery = await loadLottery(ctx.deps.db, lotteryId);
      const { mine } = await myTickets(ctx.deps.db, lottery, ctx.member.id, now);
      const n = (v: number) => formatNumber(v, ctx.locale);
      await ctx.answerCallbackQuery();
      await showScreen(ctx, ctx.t('lotteries.bought', { count: n(count), points: n(points), mine: n(mine), title: lottery.title }), back);
    } catch (error) {
      if (!(error instanceof ClubError)) throw error;
      await ctx.answerCallbackQuery({ text: ctx.t(error.i18nKey, error.params), show_alert: true });
      await showScreen(ctx, ctx.t(error.i18nKey, error.params), back);
    }
  });

  composer.callbackQuery('lt:bno', async (ctx) => {
    await ctx.answerCallbackQuery();
    await showScreen(ctx, ctx.t('lotteries.buy_cancelled'), { inline_keyboard: [[{ text: ctx.t('menu.back'), callback_data: 'lt:list' }]] });
  });

  // After the draw anyone in the club may download the proof: member numbers only, no names or phones.
  composer.callbackQuery(/^lt:proof:(\d+)$/, async (ctx) => {
    if (!ctx.member) return ctx.answerCallbackQuery({ text: ctx.t('errors.not_member'), show_alert: true });
    await ctx.answerCallbackQuery();
    const id = Number(ctx.match[1]);
    const proof = await lotteryProof(ctx.deps.db, id);
    const file = `lottery-${id}.json`;
    const { text, parse_mode } = ctx.adapter.render(ctx.t('lotteries.proof_caption', { title: proof.title, file }));
    await ctx.replyWithDocument(new InputFile(Buffer.from(`${JSON.stringify(proof, null, 2)}\n`), file), { caption: text, ...(parse_mode ? { parse_mode } : {}) });
  });

  return composer;
}
