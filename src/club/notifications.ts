import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Locale, NotificationStatus, Platform } from '../db/schema.ts';
import type { Trx } from './ledger.ts';

/**
 * The notification outbox: what the club owes a member because something happened to their money
 * or their case. A domain function queues its notice in the same transaction as the change, so a
 * crash after the commit delays the message and never loses it; the bot renders and sends it.
 */

/** A value formatted when the message is sent, in the recipient's language. */
export type NoticeValue =
  /** A count, an id or points: Persian digits in fa. */
  | number
  /** Said as is: a name, a reason, a code. */
  | string
  /** A change of points: +5 or −5. */
  | { signed: number }
  /** Rials, said in Rials. */
  | { rials: number }
  /** Money at the till, in Rials: said in Toman with the Rials beside (formatMoney). */
  | { money: number }
  /** Another text of the locale files (a role, a ticket kind, an error), with its own values. */
  | NoticeText
  /** The club's own words in both languages (tier and reward names). */
  | { fa: string; en: string }
  /** The last day something is valid, for an exclusive end (ISO time): a Jalali date in fa. */
  | { validUntil: string };

export interface NoticeText {
  key: string;
  params?: Record<string, NoticeValue>;
}

export interface Notice {
  /** What it is about ('receipt', 'void', ...): for people reading the table. */
  kind: string;
  /** Lines of the message, joined with newlines. */
  lines: NoticeText[];
  /** Inline buttons that answer with callback data. */
  buttons?: { label: NoticeText; data: string }[][];
  /** A photo shown with the text, only on the platform whose bot received it (a file id works only there). */
  photo?: { fileId: string; platform: Platform };
}

/**
 * Queues a notice for every messenger account of the member that has not blocked the bot. `key`
 * names why it exists ('void:12'): queueing it again is a no-op.
 */
export async function queueNotice(db: Db | Trx, memberId: number, notice: Notice, key: string | null, now: Date): Promise<void> {
  await sql`
    insert into notifications (member_id, platform, chat_id, kind, body, idempotency_key, status, created_at)
    select a.member_id, a.platform, a.chat_id, ${notice.kind}, ${JSON.stringify(notice)}::jsonb, ${key}, 'pending', ${now}
    from member_accounts a
    where a.member_id = ${memberId} and not a.blocked
    on conflict do nothing`.execute(db);
}

/** Notices of the same change to several people (every manager, say). */
export async function queueNotices(db: Db | Trx, memberIds: number[], notice: Notice, key: string | null, now: Date): Promise<void> {
  for (const id of new Set(memberIds)) await queueNotice(db, id, notice, key, now);
}

export interface ReceiptFacts {
  purchase: number;
  points: number;
  balance: number;
  amount: number;
  branch: string;
  tier_discount: number;
  voucher_discount: number;
  /** The voucher code used up; null with a voucher discount means the welcome voucher. */
  voucher_code: string | null;
  credit_used: number;
  credit_left: number;
  promoted: { fa: string; en: string } | null;
}

/**
 * The receipt is queued by the purchase's own statement (see recordPurchase), which knows only
 * facts; this turns them into the message, with "This wasn't me".
 */
export function receiptNotice(f: ReceiptFacts): Notice {
  const paid = f.amount - f.tier_discount - f.voucher_discount - f.credit_used;
  const lines: (NoticeText | false)[] = [
    { key: 'till.member_receipt', params: { points: f.points, branch: f.branch, amount: { money: f.amount }, balance: f.balance } },
    f.tier_discount > 0 && { key: 'till.member_tier_discount', params: { discount: { money: f.tier_discount } } },
    f.voucher_discount > 0 && f.voucher_code === null && { key: 'till.member_welcome_used', params: { discount: { money: f.voucher_discount } } },
    f.voucher_discount > 0 && f.voucher_code !== null && { key: 'till.member_voucher_used', params: { code: f.voucher_code, discount: { money: f.voucher_discount } } },
    f.credit_used > 0 && { key: 'till.member_credit_used', params: { credit: { money: f.credit_used }, left: { money: f.credit_left } } },
    paid !== f.amount && { key: 'till.member_paid', params: { paid: { money: paid } } },
    f.promoted !== null && { key: 'tiers.promoted', params: { tier: f.promoted } },
  ];
  return {
    kind: 'receipt',
    lines: lines.filter((l): l is NoticeText => l !== false),
    buttons: [[{ label: { key: 'till.not_me' }, data: `dp:${f.purchase}` }]],
  };
}

export interface QueuedNotice {
  id: number;
  member_id: number;
  platform: Platform;
  chat_id: number;
  notice: Notice;
  locale: Locale | null;
  /** Tries so far, this one included. */
  attempts: number;
}

/** Is anything waiting (or left in flight by a sender that died) on this platform? */
export async function noticesWaiting(db: Db, platform: Platform): Promise<boolean> {
  const row = await db.selectFrom('notifications').select('id').where('platform', '=', platform).where('status', 'in', ['pending', 'sending']).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Claims the oldest pending notices. A claimed row is 'sending' until confirmed; SKIP LOCKED lets processes share. */
export async function claimNotices(db: Db, platform: Platform, limit: number, now: Date): Promise<QueuedNotice[]> {
  const { rows } = await sql<{ id: number; member_id: number; platform: Platform; chat_id: number; kind: string; body: unknown; locale: Locale | null; attempts: number }>`
    update notifications n set status = 'sending', claimed_at = ${now}, attempts = n.attempts + 1
    from (
      select id from notifications
      where platform = ${platform} and status = 'pending'
      order by id
      limit ${limit}
      for update skip locked
    ) due, members m
    where n.id = due.id and m.id = n.member_id
    returning n.id, n.member_id, n.platform, n.chat_id, n.kind, n.body, n.attempts, m.locale`.execute(db);
  return rows
    .sort((a, b) => a.id - b.id)
    .map((r) => {
      const body = (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as Notice | ReceiptFacts;
      return { id: r.id, member_id: r.member_id, platform: r.platform, chat_id: r.chat_id, locale: r.locale, attempts: r.attempts, notice: r.kind === 'receipt' && !('lines' in body) ? receiptNotice(body) : (body as Notice) };
    });
}

export async function markNotice(db: Db, id: number, status: Exclude<NotificationStatus, 'pending' | 'sending'>, now: Date, error: string | null = null) {
  await db.updateTable('notifications').set({ status, error, sent_at: status === 'sent' ? now : null }).where('id', '=', id).execute();
}

/**
 * Claimed notices that were not sent (a stop, a 429, a lost lease) go back to the queue;
 * `counted: false` gives the attempt back (it never reached the Bot API).
 */
export async function unclaimNotices(db: Db, ids: number[], counted = false, error: string | null = null) {
  if (ids.length === 0) return;
  await db
    .updateTable('notifications')
    .set((eb) => ({ status: 'pending', claimed_at: null, error, attempts: counted ? eb.ref('attempts') : eb('attempts', '-', 1) }))
    .where('id', 'in', ids)
    .where('status', '=', 'sending')
    .execute();
}

/**
 * Notices a sender that died had claimed but not confirmed go back to the queue (called when its
 * dispatch lease is taken over). Unlike a campaign row, a receipt is worth the small chance of
 * arriving twice (the crash fell between Telegram's accept and our mark) over never arriving.
 */
export async function requeueClaimedNotices(db: Db | Trx, platform: Platform): Promise<number> {
  const rows = await db.updateTable('notifications').set({ status: 'pending', claimed_at: null }).where('platform', '=', platform).where('status', '=', 'sending').returning('id').execute();
  return rows.length;
}
