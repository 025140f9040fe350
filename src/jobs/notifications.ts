import { GrammyError, type Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { i18n as I18nInstance } from 'i18next';
import type { ClubDeps } from '../deps.ts';
import { adapterFor } from '../bot/platform.ts';
import { markAccountBlocked } from '../club/members.ts';
import { claimNotices, markNotice, noticesWaiting, unclaimNotices, type Notice, type NoticeText, type NoticeValue, type QueuedNotice } from '../club/notifications.ts';
import type { Locale, Platform } from '../db/schema.ts';
import { resolveLocale } from '../bot/i18n.ts';
import { formatMoney, formatNumber, formatRials } from '../lib/format.ts';
import { escapeHtml } from '../lib/html.ts';
import { formatValidUntil } from '../lib/jalali.ts';
import type { BroadcastDispatcher } from './broadcast.ts';

/** How often an idle sender looks for notices queued by jobs or other processes. */
const POLL_MS = 1000;
/** A notice the Bot API never answered (network trouble) is tried this many times. */
const MAX_ATTEMPTS = 5;
const IN_FLIGHT = 16;
/** Telegram's limit for a photo's caption; a longer text follows the photo as its own message. */
const CAPTION_MAX = 1024;

/** A value as HTML: what people typed is escaped here, a nested text keeps its markup. */
function formatValue(v: NoticeValue, locale: Locale, timeZone: string, text: (line: NoticeText) => string): string {
  if (typeof v === 'number') return formatNumber(v, locale);
  if (typeof v === 'string') return escapeHtml(v);
  if ('rials' in v) return formatRials(v.rials, locale);
  if ('money' in v) return formatMoney(v.money, locale);
  if ('signed' in v) return `${v.signed > 0 ? '+' : '−'}${formatNumber(Math.abs(v.signed), locale)}`;
  if ('validUntil' in v) return formatValidUntil(v.validUntil, locale, timeZone);
  if ('key' in v) return text(v);
  return escapeHtml(v[locale]);
}

/** A queued notice as the member reads it: in their language, with its buttons. */
export function renderNotice(i18n: I18nInstance, notice: Notice, locale: Locale, timeZone: string): { html: string; keyboard?: InlineKeyboardMarkup } {
  const t = i18n.getFixedT(locale);
  const text = (line: NoticeText): string =>
    t(line.key, { ...Object.fromEntries(Object.entries(line.params ?? {}).map(([name, v]) => [name, formatValue(v, locale, timeZone, text)])), interpolation: { escapeValue: false } });
  const html = notice.lines.map(text).join('\n');
  if (!notice.buttons?.length) return { html };
  return { html, keyboard: { inline_keyboard: notice.buttons.map((row) => row.map((b) => ({ text: text(b.label), callback_data: b.data }))) } };
}

/**
 * Sends the notification outbox, one loop per platform. Only the holder of the platform's dispatch
 * lease sends (the campaigns' lease), at the campaigns' pace and ahead of their rows: a 429 pauses
 * the platform and puts the notice back, a 403 marks the account blocked, a 400 fails the notice.
 * A notice is claimed, sent, then marked sent; one left claimed by a process that died is sent
 * again when its lease is taken over.
 */
export class NotificationDispatcher {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  /** The idle loops, woken by a kick or a stop. */
  private readonly wakers = new Set<() => void>();
  private kicked = false;
  /** Waiting for every platform's loop to find nothing left to send (tests). */
  private readonly drainWaiters = new Map<Platform, (() => void)[]>();

  constructor(
    private readonly deps: ClubDeps,
    private readonly apis: Map<Platform, Api>,
    private readonly broadcaster: BroadcastDispatcher,
  ) {}

  start() {
    for (const platform of this.apis.keys()) this.loops.push(this.loop(platform));
  }

  /** Something was queued: look now rather than at the next poll. */
  kick() {
    this.kicked = true;
    for (const wake of [...this.wakers]) wake();
  }

  /** Resolves once every platform's loop has looked and found nothing it may send (tests, benchmarks, a stop). */
  drained(): Promise<void> {
    if (this.loops.length === 0 || this.stopped) return Promise.resolve();
    const waits = [...this.apis.keys()].map((platform) => new Promise<void>((resolve) => this.drainWaiters.set(platform, [...(this.drainWaiters.get(platform) ?? []), resolve])));
    this.kick();
    return Promise.all(waits).then(() => undefined);
  }

  async stop() {
    this.stopped = true;
    for (const wake of [...this.wakers]) wake();
    await Promise.all(this.loops);
  }

  private async loop(platform: Platform) {
    while (!this.stopped) {
      this.kicked = false;
      const worked = await this.round(platform).catch((error: unknown) => {
        this.deps.logger.error({ err: error, platform }, 'notification dispatch failed');
        return false;
      });
      if (!worked) {
        const waiters = this.drainWaiters.get(platform) ?? [];
        this.drainWaiters.delete(platform);
        for (const resolve of waiters) resolve();
      }
      if (!worked && !this.kicked && !this.stopped) await this.idle();
    }
  }

  private idle() {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, POLL_MS);
      this.wakers.add(done);
    });
  }

  /** One batch; false when there was nothing this process may send. */
  private async round(platform: Platform): Promise<boolean> {
    const { db } = this.deps;
    if (!(await noticesWaiting(db, platform))) return false;
    if (!(await this.broadcaster.hold(platform))) return false;
    const lane = this.broadcaster.lane(platform)!;
    const rows = await claimNotices(db, platform, Math.min(500, Math.ceil(lane.rate)), this.deps.now());
    if (rows.length === 0) return false;
    const inFlight = new Set<Promise<void>>();
    for (const [i, row] of rows.entries()) {
      const turn = await lane.slot(row.chat_id, () => this.stopped, true);
      // Stopping, or the lease was lost (a long 429 pause): back to the queue, for us or the new holder.
      if (!turn || this.stopped || !(await this.broadcaster.holding(platform))) {
        await Promise.all(inFlight);
        await unclaimNotices(db, rows.slice(i).map((r) => r.id));
        return true;
      }
      const sending = this.deliver(row).catch((error: unknown) => {
        // The database failed around the send: the row stays claimed and goes out again on takeover.
        this.deps.logger.error({ err: error, notification: row.id }, 'notification not confirmed');
      });
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return true;
  }

  private async deliver(row: QueuedNotice) {
    const { db, now } = this.deps;
    const api = this.apis.get(row.platform)!;
    const adapter = adapterFor(row.platform);
    // Every recipient is a member: their saved language, else the club's (never an app's language).
    const locale = resolveLocale({ locale: row.locale }, undefined, { defaultLocale: this.deps.config.defaultLocale, newcomerByAppLanguage: false });
    const { html, keyboard } = renderNotice(this.deps.i18n, row.notice, locale, this.deps.config.timeZone);
    const { text, parse_mode } = adapter.render(html);
    const options = { ...(parse_mode ? { parse_mode } : {}), ...(keyboard ? { reply_markup: keyboard } : {}) };
    // A photo goes only where its file id was issued; on the other platform the text says it all.
    const photo = row.notice.photo?.platform === row.platform ? row.notice.photo.fileId : null;
    try {
      if (photo !== null && text.length <= CAPTION_MAX) await api.sendPhoto(row.chat_id, photo, { caption: text, ...options });
      else {
        if (photo !== null) await api.sendPhoto(row.chat_id, photo);
        await api.sendMessage(row.chat_id, text, options);
      }
    } catch (error) {
      if (error instanceof GrammyError && error.error_code === 429) {
        // Too many requests: the notice waits in the queue and the platform waits as asked.
        const retryAfter = error.parameters.retry_after ?? 1;
        await this.broadcaster.pause(row.platform, retryAfter);
        await unclaimNotices(db, [row.id]);
      } else if (error instanceof GrammyError && error.error_code === 403) {
        await markAccountBlocked(db, row.platform, row.chat_id, now());
        await markNotice(db, row.id, 'blocked', now(), error.description);
      } else if (error instanceof GrammyError) {
        // Refused for good (a chat the Bot API does not know, a bad file id): an operator should see it.
        this.deps.logger.warn({ err: error, notification: row.id, kind: row.notice.kind }, 'notification not delivered');
        await markNotice(db, row.id, 'failed', now(), error.description);
      } else {
        // Network trouble: it may have arrived; a receipt twice is better than none, a few times at most.
        const message = String((error as Error).message ?? error);
        this.deps.logger.warn({ err: error, notification: row.id }, 'notification not delivered');
        if (row.attempts >= MAX_ATTEMPTS) await markNotice(db, row.id, 'failed', now(), message);
        else await unclaimNotices(db, [row.id], true, message);
      }
      return;
    }
    await markNotice(db, row.id, 'sent', now());
  }
}
