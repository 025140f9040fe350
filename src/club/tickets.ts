import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Platform, Ticket, TicketCategory, TicketKind } from '../db/schema.ts';
import { ClubError } from './errors.ts';
import { credit } from './ledger.ts';
import type { LoyaltyEnv } from './rules.ts';
import { loyaltySettings, lotExpiry } from './rules.ts';
import { audit } from './audit.ts';
import type { Trx } from './ledger.ts';
import { queueNotice, queueNotices, type Notice } from './notifications.ts';

export const TICKET_KINDS: readonly TicketKind[] = ['complaint', 'suggestion', 'question'];
export const TICKET_CATEGORIES: readonly TicketCategory[] = ['product', 'service', 'staff', 'price', 'other'];
export const MAX_TICKET_TEXT = 2000;

function checkText(text: string) {
  const t = text.trim();
  if (!t) throw new ClubError('errors.text_empty');
  if (t.length > MAX_TICKET_TEXT) throw new ClubError('errors.text_too_long', { max: MAX_TICKET_TEXT });
  return t;
}

/** Everyone who should hear of a ticket: owners and managers. */
async function ticketStaff(trx: Trx) {
  return (await trx.selectFrom('staff').select('member_id').where('role', 'in', ['owner', 'manager']).execute()).map((r) => r.member_id);
}

/** What staff can do with a ticket message (as staffTicketButtons in the bot). */
const staffButtons = (ticketId: number): Notice['buttons'] => [
  [
    { label: { key: 'tickets.reply' }, data: `tk:rp:${ticketId}` },
    { label: { key: 'tickets.close' }, data: `tk:cl:${ticketId}` },
    { label: { key: 'tickets.thread' }, data: `tk:vw:${ticketId}` },
  ],
];

export interface TicketInput {
  memberId: number;
  kind: TicketKind;
  category: TicketCategory;
  text: string;
  /** A photo the member sent, with the platform whose bot received it (its file id works only there). */
  photo?: { fileId: string; platform: Platform } | null;
  branchId?: number | null;
  purchaseId?: number | null;
}

export async function openTicket(db: Db, input: TicketInput, now: Date): Promise<Ticket> {
  const text = checkText(input.text);
  return db.transaction().execute((trx) => openTicketIn(trx, input, text, now));
}

/**
 * Opens a ticket inside the caller's transaction; owners and managers hear of it (by `staffNotice`
 * when the caller says it better, as a low visit score does), queued with it.
 */
export async function openTicketIn(trx: Trx, input: TicketInput, text: string, now: Date, staffNotice?: (ticket: Ticket, memberName: string) => Notice): Promise<Ticket> {
  const ticket = await trx
    .insertInto('tickets')
    .values({
      member_id: input.memberId,
      kind: input.kind,
      category: input.category,
      branch_id: input.branchId ?? null,
      purchase_id: input.purchaseId ?? null,
      rating: null,
      first_response_at: null,
      closed_at: null,
      closed_by: null,
      created_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('ticket_messages')
    .values({ ticket_id: ticket.id, from_staff: false, author_member_id: input.memberId, text, photo_file_id: input.photo?.fileId ?? null, photo_platform: input.photo?.platform ?? null, created_at: now })
    .execute();
  const member = await trx.selectFrom('members').select('first_name').where('id', '=', input.memberId).executeTakeFirstOrThrow();
  const notice: Notice = staffNotice?.(ticket, member.first_name) ?? {
    kind: 'ticket',
    lines: [{ key: 'tickets.to_staff', params: { id: ticket.id, kind: { key: `tickets.kind_${input.kind}` }, category: { key: `tickets.category_${input.category}` }, name: member.first_name, text } }],
    buttons: staffButtons(ticket.id),
    ...(input.photo ? { photo: input.photo } : {}),
  };
  await queueNotices(trx, await ticketStaff(trx), notice, `ticket:${ticket.id}:opened`, now);
  return ticket;
}

/** What staff can do with a ticket message, for notices written elsewhere (a low visit score). */
export const ticketStaffButtons = staffButtons;

/** A message in a ticket's thread. Staff's first reply sets the first-response time. */
export async function addTicketMessage(db: Db, ticketId: number, author: { memberId: number; staff: boolean }, text: string, now: Date) {
  return db.transaction().execute((trx) => addTicketMessageIn(trx, ticketId, author, text, now));
}

/** A message in a ticket's thread, inside the caller's transaction. */
export async function addTicketMessageIn(trx: Trx, ticketId: number, author: { memberId: number; staff: boolean }, text: string, now: Date) {
  const body = checkText(text);
  const ticket = await trx.selectFrom('tickets').selectAll().where('id', '=', ticketId).forUpdate().executeTakeFirst();
  if (!ticket || (!author.staff && ticket.member_id !== author.memberId)) throw new ClubError('errors.ticket_not_found');
  if (ticket.status === 'closed') throw new ClubError('errors.ticket_closed');
  const message = await trx
    .insertInto('ticket_messages')
    .values({ ticket_id: ticketId, from_staff: author.staff, author_member_id: author.memberId, text: body, photo_file_id: null, created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (author.staff && ticket.first_response_at === null) {
    await trx.updateTable('tickets').set({ first_response_at: now }).where('id', '=', ticketId).execute();
  }
  // The other side of the thread hears it: the member a reply, the managers an answer.
  const key = `ticket_message:${message.id}`;
  if (author.staff) {
    const notice: Notice = { kind: 'ticket_reply', lines: [{ key: 'tickets.reply_to_member', params: { id: ticketId, text: body } }], buttons: [[{ label: { key: 'tickets.answer' }, data: `tk:an:${ticketId}` }]] };
    await queueNotice(trx, ticket.member_id, notice, key, now);
  } else {
    const member = await trx.selectFrom('members').select('first_name').where('id', '=', author.memberId).executeTakeFirstOrThrow();
    const notice: Notice = { kind: 'ticket_answer', lines: [{ key: 'tickets.answer_to_staff', params: { id: ticketId, name: member.first_name, text: body } }], buttons: staffButtons(ticketId) };
    await queueNotices(trx, await ticketStaff(trx), notice, key, now);
  }
  return ticket;
}

export async function closeTicket(db: Db, ticketId: number, staffMemberId: number, now: Date) {
  return db.transaction().execute(async (trx) => {
    const closed = await trx
      .updateTable('tickets')
      .set({ status: 'closed', closed_at: now, closed_by: staffMemberId })
      .where('id', '=', ticketId)
      .where('status', '=', 'open')
      .returningAll()
      .executeTakeFirst();
    if (!closed) return null;
    await audit(trx, { actor: staffMemberId, action: 'ticket.close', payload: { ticket_id: ticketId }, at: now });
    // The member is told, and asked to rate how it was handled.
    const notice: Notice = {
      kind: 'ticket_closed',
      lines: [{ key: 'tickets.closed_member', params: { id: ticketId } }],
      buttons: [[1, 2, 3, 4, 5].map((n) => ({ label: { key: 'tickets.rate_button', params: { n } }, data: `tk:rt:${ticketId}:${n}` }))],
    };
    await queueNotice(trx, closed.member_id, notice, `ticket:${ticketId}:closed`, now);
    return closed;
  });
}

/** The member rates how a closed ticket was handled: once. */
export async function rateTicket(db: Db, ticketId: number, memberId: number, rating: number) {
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) throw new ClubError('errors.rating_invalid');
  const rated = await db
    .updateTable('tickets')
    .set({ rating })
    .where('id', '=', ticketId)
    .where('member_id', '=', memberId)
    .where('status', '=', 'closed')
    .where('rating', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return rated ?? null;
}

export async function openTickets(db: Db) {
  return db
    .selectFrom('tickets')
    .innerJoin('members', 'members.id', 'tickets.member_id')
    .select(['tickets.id', 'tickets.kind', 'tickets.category', 'tickets.created_at', 'tickets.first_response_at', 'members.first_name', hasPhoto])
    .where('tickets.status', '=', 'open')
    .orderBy('tickets.created_at')
    .limit(50)
    .execute();
}

const hasPhoto = sql<boolean>`exists (select 1 from ticket_messages m where m.ticket_id = tickets.id and m.photo_file_id is not null)`.as('has_photo');

/** A member's own tickets, newest first, with where each stands. */
export async function memberTickets(db: Db, memberId: number, limit = 10) {
  return db
    .selectFrom('tickets')
    .select(['tickets.id', 'tickets.kind', 'tickets.category', 'tickets.status', 'tickets.created_at', 'tickets.first_response_at', hasPhoto])
    .where('tickets.member_id', '=', memberId)
    .orderBy('tickets.id', 'desc')
    .limit(limit)
    .execute();
}

/** The thread of a ticket for its member or for staff; null for anyone else (or no such ticket). */
export async function ticketThread(db: Db, ticketId: number, viewer: { memberId: number; staff: boolean }) {
  const ticket = await db.selectFrom('tickets').innerJoin('members', 'members.id', 'tickets.member_id').select(['tickets.id', 'tickets.member_id', 'tickets.kind', 'tickets.category', 'tickets.status', 'members.first_name']).where('tickets.id', '=', ticketId).executeTakeFirst();
  if (!ticket || (!viewer.staff && ticket.member_id !== viewer.memberId)) return null;
  const messages = await db.selectFrom('ticket_messages').selectAll().where('ticket_id', '=', ticketId).orderBy('id').execute();
  return { ticket, messages };
}

/** Goodwill points for a ticket, with a reason; at most once per ticket. */
export async function grantGoodwill(db: Db, ticketId: number, managerId: number, points: number, reason: string, env: LoyaltyEnv) {
  if (!Number.isSafeInteger(points) || points <= 0) throw new ClubError('errors.points_invalid');
  const why = reason.trim();
  if (!why) throw new ClubError('errors.reason_required');
  return db.transaction().execute(async (trx) => {
    const ticket = await trx.selectFrom('tickets').selectAll().where('id', '=', ticketId).executeTakeFirst();
    if (!ticket) throw new ClubError('errors.ticket_not_found');
    const settings = await loyaltySettings(trx, env.defaults);
    const { duplicate, entry } = await credit(trx, {
      memberId: ticket.member_id,
      currency: 'points',
      amount: points,
      kind: 'adjust',
      reason: 'goodwill',
      idempotencyKey: `goodwill:${ticketId}`,
      expiresAt: lotExpiry(env.now, settings.validity, env.timeZone),
      actorMemberId: managerId,
      meta: { ticket_id: ticketId, reason: why },
      at: env.now,
    });
    if (!duplicate) {
      await audit(trx, { actor: managerId, action: 'ticket.goodwill', payload: { ticket_id: ticketId, points, reason: why }, at: env.now });
      const notice: Notice = { kind: 'goodwill', lines: [{ key: 'tickets.goodwill_member', params: { points: entry.amount, reason: why } }] };
      await queueNotice(trx, ticket.member_id, notice, `goodwill:${ticketId}`, env.now);
    }
    return { ticket, duplicate, points: entry.amount };
  });
}

export interface TicketReportRow {
  group: string;
  open: number;
  closed: number;
  medianFirstResponseMinutes: number | null;
  averageRating: string | null;
}

/** Open/closed, median first response and ratings, by category and by branch. */
export async function ticketReport(db: Db, since: Date): Promise<{ byCategory: TicketReportRow[]; byBranch: TicketReportRow[] }> {
  const measures = [
    sql<number>`count(*) filter (where t.status = 'open')`.as('open'),
    sql<number>`count(*) filter (where t.status = 'closed')`.as('closed'),
    sql<number | null>`round((percentile_cont(0.5) within group (order by extract(epoch from t.first_response_at - t.created_at)) / 60)::numeric)::int8`.as('median'),
    sql<string | null>`round(avg(t.rating)::numeric, 1)::text`.as('rating'),
  ] as const;
  const byCategory = await db.selectFrom('tickets as t').select(['t.category as group', ...measures]).where('t.created_at', '>=', since).groupBy('t.category').orderBy('t.category').execute();
  const byBranch = await db
    .selectFrom('tickets as t')
    .leftJoin('branches as b', 'b.id', 't.branch_id')
    .select([sql<string>`coalesce(b.name, '—')`.as('group'), ...measures])
    .where('t.created_at', '>=', since)
    .groupBy('b.name')
    .execute();
  const shape = (r: { group: string; open: number; closed: number; median: number | null; rating: string | null }): TicketReportRow => ({
    group: r.group,
    open: r.open,
    closed: r.closed,
    medianFirstResponseMinutes: r.median,
    averageRating: r.rating,
  });
  return { byCategory: byCategory.map(shape), byBranch: byBranch.map(shape) };
}
