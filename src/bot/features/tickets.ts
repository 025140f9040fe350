import { Composer } from 'grammy';
import { ClubError } from '../../club/errors.ts';
import { closeTicket, grantGoodwill, openTickets, rateTicket, ticketReport, TICKET_KINDS } from '../../club/tickets.ts';
import type { TicketKind } from '../../db/schema.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import type { Context } from '../context.ts';
import { TICKET_NEW, TICKET_REPLY } from '../conversations/tickets.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';

export async function showContact(ctx: Context) {
  if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
  await showScreen(ctx, ctx.t('tickets.contact'), {
    inline_keyboard: [...TICKET_KINDS.map((k) => [{ text: ctx.t(`tickets.new_${k}`), callback_data: `tk:new:${k}` }]), [{ text: ctx.t('menu.main'), callback_data: 'home' }]],
  });
}

/** Complaints, suggestions and questions: the member's side and the staff's side. */
export function ticketsFeature() {
  const composer = new Composer<Context>();
  const managers = staffOnly('owner', 'manager');

  composer.callbackQuery(/^tk:new:(complaint|suggestion|question)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
    await ctx.conversation.enter(TICKET_NEW, ctx.match[1] as TicketKind);
  });

  composer.callbackQuery(/^tk:(rp|an):(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return;
    if (ctx.match[1] === 'rp' && ctx.role !== 'owner' && ctx.role !== 'manager') return say(ctx, ctx.t('errors.manager_only'));
    await ctx.conversation.enter(TICKET_REPLY, Number(ctx.match[2]));
  });

  composer.callbackQuery(/^tk:cl:(\d+)$/, async (ctx) => {
    if (ctx.role !== 'owner' && ctx.role !== 'manager') return ctx.answerCallbackQuery({ text: ctx.t('errors.manager_only'), show_alert: true });
    const closed = await closeTicket(ctx.deps.db, Number(ctx.match[1]), ctx.member!.id, ctx.deps.now());
    await ctx.answerCallbackQuery({ text: ctx.t(closed ? 'tickets.closed_staff' : 'tickets.already_closed') });
    if (closed) ctx.deps.notices.kick();
  });

  composer.callbackQuery(/^tk:rt:(\d+):([1-5])$/, async (ctx) => {
    if (!ctx.member) return ctx.answerCallbackQuery();
    const rated = await rateTicket(ctx.deps.db, Number(ctx.match[1]), ctx.member.id, Number(ctx.match[2]));
    await ctx.answerCallbackQuery();
    await showScreen(ctx, ctx.t(rated ? 'tickets.thanks_rating' : 'tickets.already_rated'), { inline_keyboard: [] });
  });

  composer.chatType('private').command('tickets', managers, async (ctx) => {
    if (ctx.match.trim() === 'report') {
      const report = await ticketReport(ctx.deps.db, new Date(ctx.deps.now().getTime() - 30 * 86_400_000));
      const n = (v: number) => formatNumber(v, ctx.locale);
      const row = (r: (typeof report.byCategory)[number], label: string) =>
        ctx.t('tickets.report_row', { group: label, open: n(r.open), closed: n(r.closed), median: r.medianFirstResponseMinutes === null ? '—' : n(r.medianFirstResponseMinutes), rating: r.averageRating ?? '—' });
      return say(
        ctx,
        [
          ctx.t('tickets.report_title'),
          ctx.t('tickets.report_by_category'),
          ...report.byCategory.map((r) => row(r, ctx.t(`tickets.category_${r.group}`))),
          ctx.t('tickets.report_by_branch'),
          ...report.byBranch.map((r) => row(r, r.group)),
        ].join('\n'),
      );
    }
    const open = await openTickets(ctx.deps.db);
    if (open.length === 0) return say(ctx, ctx.t('tickets.none_open'));
    const now = ctx.deps.now().getTime();
    const lines = open.map((tk) =>
      ctx.t('tickets.row', {
        id: formatNumber(tk.id, ctx.locale),
        kind: ctx.t(`tickets.kind_${tk.kind}`),
        category: ctx.t(`tickets.category_${tk.category}`),
        name: tk.first_name,
        hours: formatNumber(Math.floor((now - tk.created_at.getTime()) / 3_600_000), ctx.locale),
        answered: ctx.t(tk.first_response_at ? 'tickets.answered' : 'tickets.unanswered'),
      }),
    );
    await say(ctx, [ctx.t('tickets.open_title'), '', ...lines, '', ctx.t('tickets.usage')].join('\n'), {
      inline_keyboard: open.slice(0, 10).map((tk) => [
        { text: `${ctx.t('tickets.reply')} #${formatNumber(tk.id, ctx.locale)}`, callback_data: `tk:rp:${tk.id}` },
        { text: `${ctx.t('tickets.close')} #${formatNumber(tk.id, ctx.locale)}`, callback_data: `tk:cl:${tk.id}` },
      ]),
    });
  });

  composer.chatType('private').command('goodwill', managers, async (ctx) => {
    const match = /^(\d+)\s+(\d+)\s+(.+)$/.exec(toLatinDigits(ctx.match.trim()));
    if (!match) return say(ctx, ctx.t('tickets.goodwill_usage'));
    try {
      const r = await grantGoodwill(ctx.deps.db, Number(match[1]), ctx.member!.id, Number(match[2]), match[3]!, { now: ctx.deps.now(), timeZone: ctx.deps.config.timeZone });
      if (r.duplicate) return say(ctx, ctx.t('tickets.goodwill_already', { id: formatNumber(r.ticket.id, ctx.locale), points: formatNumber(r.points, ctx.locale) }));
      await say(ctx, ctx.t('tickets.goodwill_done', { id: formatNumber(r.ticket.id, ctx.locale), points: formatNumber(r.points, ctx.locale) }));
      ctx.deps.notices.kick();
    } catch (error) {
      if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, error.params));
      throw error;
    }
  });

  return composer;
}
