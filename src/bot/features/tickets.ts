import { ClubComposer } from '../composer.ts';
import { clubContactText } from '../club-contact.ts';
import { ClubError } from '../../club/errors.ts';
import { closeTicket, grantGoodwill, memberTickets, openTickets, rateTicket, ticketReport, ticketThread, TICKET_KINDS } from '../../club/tickets.ts';
import type { TicketKind } from '../../db/schema.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import type { Context } from '../context.ts';
import { staffTicketButtons, TICKET_NEW, TICKET_REPLY } from '../conversations/tickets.ts';
import { formatDate, formatDateTime } from '../../lib/jalali.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';

export async function showContact(ctx: Context) {
  if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
  const reach = await clubContactText(ctx);
  await showScreen(ctx, reach ? `${reach}\n\n${ctx.t('tickets.contact')}` : ctx.t('tickets.contact'), {
    inline_keyboard: [
      ...TICKET_KINDS.map((k) => [{ text: ctx.t(`tickets.new_${k}`), callback_data: `tk:new:${k}` }]),
      [{ text: ctx.t('tickets.mine'), callback_data: 'tk:my' }],
      [{ text: ctx.t('menu.main'), callback_data: 'home' }],
    ],
  });
}

/** Complaints, suggestions and questions: the member's side and the staff's side. */
export function ticketsFeature() {
  const composer = new ClubComposer<Context>();
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

  // The member's own tickets and where each stands.
  composer.callbackQuery('tk:my', async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
    const mine = await memberTickets(ctx.deps.db, ctx.member.id);
    const lines = mine.map((tk) =>
      ctx.t('tickets.mine_row', {
        id: formatNumber(tk.id, ctx.locale),
        kind: ctx.t(`tickets.kind_${tk.kind}`),
        date: formatDate(tk.created_at, ctx.locale, ctx.deps.config.timeZone),
        state: ctx.t(tk.status === 'closed' ? 'tickets.state_closed' : tk.first_response_at ? 'tickets.state_answered' : 'tickets.state_waiting'),
        photo: tk.has_photo ? ' 📷' : '',
      }),
    );
    await showScreen(ctx, [ctx.t('tickets.mine_title'), '', ...(lines.length ? lines : [ctx.t('tickets.mine_none')])].join('\n'), {
      inline_keyboard: [
        ...mine.map((tk) => [{ text: `${ctx.t('tickets.thread')} ${formatNumber(tk.id, ctx.locale)}`, callback_data: `tk:vw:${tk.id}` }]),
        [{ text: ctx.t('menu.main'), callback_data: 'home' }],
      ],
    });
  });

  // A ticket's thread, photos included, for staff or for the member who opened it.
  composer.callbackQuery(/^tk:vw:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
    const staff = ctx.role === 'owner' || ctx.role === 'manager';
    const thread = await ticketThread(ctx.deps.db, Number(ctx.match[1]), { memberId: ctx.member.id, staff });
    if (!thread) return say(ctx, ctx.t('errors.ticket_not_found'));
    const { ticket, messages } = thread;
    const id = formatNumber(ticket.id, ctx.locale);
    const lines = messages.map((m) =>
      ctx.t('tickets.thread_line', {
        who: m.from_staff ? ctx.t('tickets.thread_staff') : ticket.first_name,
        when: formatDateTime(m.created_at, ctx.locale, ctx.deps.config.timeZone),
        text: m.text,
        photo: m.photo_file_id ? ' 📷' : '',
      }),
    );
    const head = ctx.t('tickets.thread_title', { id, kind: ctx.t(`tickets.kind_${ticket.kind}`), category: ctx.t(`tickets.category_${ticket.category}`), state: ctx.t(ticket.status === 'closed' ? 'tickets.state_closed' : 'tickets.state_open') });
    const buttons = staff && ticket.status === 'open' ? staffTicketButtons(ctx.t, ticket.id).inline_keyboard[0]!.slice(0, 2) : [];
    await say(ctx, [head, '', ...lines].join('\n\n'), buttons.length ? { inline_keyboard: [buttons] } : undefined);
    // A file id works only with the bot that received it: photos from the other platform are named, not shown.
    for (const m of messages) {
      if (m.photo_file_id && m.photo_platform === ctx.adapter.platform) await ctx.replyWithPhoto(m.photo_file_id, { caption: ctx.t('tickets.thread_photo', { id }) });
    }
  });

  const listTickets = async (ctx: Context) => {
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
      }) + (tk.has_photo ? ' 📷' : ''),
    );
    await say(ctx, [ctx.t('tickets.open_title'), '', ...lines, '', ctx.t('tickets.usage')].join('\n'), {
      inline_keyboard: open.slice(0, 10).map((tk) => [
        { text: `${ctx.t('tickets.reply')} #${formatNumber(tk.id, ctx.locale)}`, callback_data: `tk:rp:${tk.id}` },
        { text: `${ctx.t('tickets.close')} #${formatNumber(tk.id, ctx.locale)}`, callback_data: `tk:cl:${tk.id}` },
        { text: `${ctx.t('tickets.thread')} #${formatNumber(tk.id, ctx.locale)}`, callback_data: `tk:vw:${tk.id}` },
      ]),
    });
  };
  opens(composer, 'tickets', MANAGERS, listTickets);

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
    await listTickets(ctx);
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
