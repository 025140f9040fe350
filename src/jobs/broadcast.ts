import { randomUUID } from 'node:crypto';
import { GrammyError, type Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { ClubDeps } from '../deps.ts';
import { adapterFor, type PlatformAdapter } from '../bot/platform.ts';
import { resolveLocale } from '../bot/i18n.ts';
import {
  acquireDispatchLease,
  campaignProgress,
  claimOutbox,
  findCampaign,
  finishCampaignIfDone,
  markLostRows,
  markOutbox,
  pauseDispatch,
  releaseDispatchLease,
  sendingCampaignIds,
  startDueCampaigns,
  unclaimOutbox,
  type OutboxRow,
  type Progress,
} from '../club/campaigns.ts';
import { I18N_TEXT } from '../club/automations.ts';
import { findMemberById, markAccountBlocked } from '../club/members.ts';
import { displayCode } from '../club/vouchers.ts';
import type { Campaign, Locale, Platform } from '../db/schema.ts';
import { loadAnnouncement } from '../bot/announcements.ts';
import { formatNumber } from '../lib/format.ts';
import { escapeHtml } from '../lib/html.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The pace of one platform's bot token, shared by every campaign this process sends: at most
 * `rate` messages a second (a timer that fires late is caught up, an idle lane earns no burst),
 * a pause for everyone after a 429, and never two messages within a second to one chat.
 */
/** Requests reach the server a few milliseconds apart from when they left: keep this much clear. */
const WINDOW_MARGIN_MS = 15;

export class Lane {
  private next = 0;
  private pausedUntil = 0;
  private readonly lastByChat = new Map<number, number>();
  /** The times of the last `perSecond` sends (a ring): no rolling second may hold more. */
  private readonly recent: number[] = [];
  private head = 0;
  private readonly perSecond: number;
  /** Notifications waiting for a slot: campaign rows let them go first. */
  private urgentWaiting = 0;

  constructor(readonly rate: number) {
    this.perSecond = Math.max(1, Math.floor(rate));
  }

  get interval() {
    return 1000 / this.rate;
  }

  pause(ms: number) {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }

  /**
   * Waits for this chat's turn and takes it (true), or gives up when `stopping` says so (false).
   * An urgent slot (a notification) goes before every waiting campaign row.
   */
  async slot(chatId: number, stopping: () => boolean = () => false, urgent = false): Promise<boolean> {
    if (urgent) this.urgentWaiting++;
    try {
      return await this.take(chatId, stopping, urgent);
    } finally {
      if (urgent) this.urgentWaiting--;
    }
  }

  private async take(chatId: number, stopping: () => boolean, urgent: boolean): Promise<boolean> {
    for (;;) {
      if (!urgent && this.urgentWaiting > 0) {
        if (stopping()) return false;
        await sleep(Math.max(1, this.interval / 2));
        continue;
      }
      const now = Date.now();
      // Catching up after a late timer must not put rate + 1 sends into any second as the server
      // counts them: the oldest of the last `rate` sends must be a second (and a little) old.
      const windowFree = this.recent.length < this.perSecond ? 0 : this.recent[this.head]! + 1000 + WINDOW_MARGIN_MS;
      const ready = Math.max(this.next, this.pausedUntil, windowFree, (this.lastByChat.get(chatId) ?? -Infinity) + 1000);
      // Timers cannot wait less than a millisecond: a slot due within one is taken now.
      if (ready - now < 1) break;
      if (stopping()) return false;
      // A long 429 pause is slept in short steps, so a stop does not wait for it.
      await sleep(Math.min(ready - now, 250));
    }
    const now = Date.now();
    // Late by less than a slot (timers run late): keep the schedule; idle longer: start afresh.
    this.next = (this.next > now - this.interval ? this.next : now) + this.interval;
    this.lastByChat.set(chatId, now);
    if (this.recent.length < this.perSecond) this.recent.push(now);
    else {
      this.recent[this.head] = now;
      this.head = (this.head + 1) % this.perSecond;
    }
    if (this.lastByChat.size > 10_000) for (const [chat, at] of this.lastByChat) if (at < now - 1000) this.lastByChat.delete(chat);
    return true;
  }
}

/**
 * A campaign message for one member (also the preview the sender sees), rendered for the
 * platform: the manager's text and the member's name are escaped, the club's own lines (the
 * voucher code, a greeting) carry markup, so Telegram gets HTML and Bale plain text.
 */
export function renderCampaign(
  deps: Pick<ClubDeps, 'i18n' | 'config'>,
  campaign: Pick<Campaign, 'text' | 'button' | 'photo_file_id'>,
  member: Pick<OutboxRow, 'first_name' | 'locale' | 'voucher_code'>,
  adapter: PlatformAdapter,
  /** The club's own announcement (see loadAnnouncement) when the text is a reference to one. */
  announcement: ((locale: Locale) => string) | null = null,
): { text: string; parse_mode?: 'HTML'; keyboard: InlineKeyboardMarkup | null } {
  const locale = resolveLocale(member, undefined, deps.config);
  const t = deps.i18n.getFixedT(locale);
  let html: string;
  if (campaign.text.startsWith(I18N_TEXT)) {
    const [key, gift] = campaign.text.slice(I18N_TEXT.length).split('|');
    const points = Number(gift ?? 0);
    html = t(key!, { name: member.first_name });
    if (points > 0) html += `\n${t('automations.gift_line', { points: formatNumber(points, locale) })}`;
  } else if (announcement) html = escapeHtml(announcement(locale));
  else html = escapeHtml(campaign.text.replaceAll('{name}', member.first_name));
  if (member.voucher_code) html += `\n\n${t('vouchers.your_code', { code: displayCode(member.voucher_code) })}`;
  const b = campaign.button;
  const keyboard = !b ? null : b.kind === 'url' ? { inline_keyboard: [[{ text: b.text, url: b.url }]] } : { inline_keyboard: [[{ text: t('menu.card'), callback_data: 'mycard' }]] };
  return { ...adapter.render(html), keyboard };
}

/** At most this many requests in flight per platform (a slow Bot API must not slow the pace). */
const IN_FLIGHT = 32;

/** How long a dispatch lease lasts without renewal: the wait before another process takes over from a dead one. */
export const LEASE_MS = 15_000;

/**
 * Sends campaigns from the outbox at the configured rate per platform. A 429 pauses the platform
 * for retry_after (the row goes back to the queue); a 403 marks the account blocked and skips it
 * from then on; a 400 records the error on the row. Rows are claimed before sending and confirmed
 * after; one process at a time holds each platform's lease (see acquireDispatchLease), and rows a
 * dead holder left in flight are marked lost, so after kill -9 nothing is sent twice.
 */
export class BroadcastDispatcher {
  private readonly running = new Map<number, Promise<void>>();
  private readonly lanes = new Map<Platform, Lane>();
  /** Local deadline (ms) before which the lease is surely still ours, per platform. */
  private readonly leaseUntil = new Map<Platform, number>();
  private readonly holder = randomUUID();
  private stopped = false;

  constructor(
    private readonly deps: ClubDeps,
    /** Bot API clients without auto-retry: the dispatcher obeys 429 itself. */
    private readonly apis: Map<Platform, Api>,
  ) {
    for (const platform of apis.keys()) this.lanes.set(platform, new Lane(deps.config.broadcastRate[platform]));
  }

  kick(campaignId: number) {
    if (this.stopped || this.running.has(campaignId)) return;
    const run = this.run(campaignId)
      .catch((error: unknown) => this.deps.logger.error({ err: error, campaignId }, 'campaign dispatch failed'))
      .finally(() => this.running.delete(campaignId));
    this.running.set(campaignId, run);
  }

  /** On start and every minute: scheduled campaigns due, and campaigns to resume. */
  async resumeAll() {
    await startDueCampaigns(this.deps.db, this.deps.now());
    for (const id of await sendingCampaignIds(this.deps.db)) this.kick(id);
  }

  async stop() {
    this.stopped = true;
    await Promise.all(this.running.values());
    for (const platform of this.leaseUntil.keys()) await releaseDispatchLease(this.deps.db, platform, this.holder);
  }

  /** Waits for a campaign's run in this process (tests and benchmarks). */
  async settled(campaignId: number) {
    await this.running.get(campaignId);
  }

  /** A 429: every sender of this platform waits, here and in a process that takes over. */
  async pause(platform: Platform, seconds: number) {
    this.lanes.get(platform)?.pause(seconds * 1000);
    await pauseDispatch(this.deps.db, platform, new Date(Date.now() + seconds * 1000));
  }

  /** This platform's pace, shared by campaigns and notifications. */
  lane(platform: Platform): Lane | undefined {
    return this.lanes.get(platform);
  }

  /** Whether this process surely still holds the platform's lease, renewing it when in doubt. */
  async holding(platform: Platform): Promise<boolean> {
    return (this.leaseUntil.get(platform) ?? 0) > Date.now() || (await this.hold(platform));
  }

  /** Takes or renews this platform's lease; false while another live process holds it. */
  async hold(platform: Platform): Promise<boolean> {
    const lease = await acquireDispatchLease(this.deps.db, platform, this.holder, LEASE_MS);
    if (lease.pausedUntil) this.lanes.get(platform)!.pause(lease.pausedUntil.getTime() - Date.now());
    if (!lease.held) {
      this.leaseUntil.delete(platform);
      return false;
    }
    if (lease.lost > 0) this.deps.logger.warn({ platform, lost: lease.lost }, 'rows in flight when the previous sender stopped are marked lost');
    if (lease.requeued > 0) this.deps.logger.warn({ platform, requeued: lease.requeued }, 'notifications in flight when the previous sender stopped are queued again');
    this.leaseUntil.set(platform, Date.now() + LEASE_MS - 3000);
    return true;
  }

  private async run(campaignId: number): Promise<void> {
    const { db } = this.deps;
    const report = { last: 0 };
    while (!this.stopped) {
      // Each platform goes at its own pace; a 429 on one does not hold the other.
      await Promise.all([...this.apis.keys()].map((platform) => this.runLane(campaignId, platform, report)));
      const campaign = await findCampaign(db, campaignId);
      if (this.stopped || !campaign || campaign.status !== 'sending') return;
      if (await finishCampaignIfDone(db, campaignId, this.deps.now())) {
        await this.report({ ...campaign, status: 'done' }, await campaignProgress(db, campaignId));
        return;
      }
      // Nothing of this campaign is in flight here now: rows still claimed on a platform this
      // process holds were orphaned by a failure and are lost (never sent twice).
      for (const [platform, until] of this.leaseUntil) if (until > Date.now()) await markLostRows(db, platform, campaignId);
      // Another process holds a platform, or has rows in flight: wait, and take over if it stops.
      await sleep(500);
    }
  }

  private async runLane(campaignId: number, platform: Platform, report: { last: number }) {
    const { db } = this.deps;
    const api = this.apis.get(platform)!;
    const lane = this.lanes.get(platform)!;
    while (!this.stopped) {
      const campaign = await findCampaign(db, campaignId);
      if (!campaign || campaign.status !== 'sending') return;
      if (!(await this.hold(platform))) return;
      // About a second's worth at a time: a pause or cancel takes effect within a second.
      const rows = await claimOutbox(db, campaignId, platform, Math.min(500, Math.ceil(lane.rate)), this.deps.now());
      if (rows.length === 0) return;
      const announcement = await loadAnnouncement(this.deps, campaign.text);
      const inFlight = new Set<Promise<void>>();
      for (const [i, row] of rows.entries()) {
        const turn = await lane.slot(row.chat_id, () => this.stopped);
        // Stopping, or the lease ran out (a long 429 pause) and another process took it: not sent, back to the queue.
        const mine = turn && !this.stopped && ((this.leaseUntil.get(platform) ?? 0) > Date.now() || (await this.hold(platform)));
        if (!mine) {
          await unclaimOutbox(db, rows.slice(i));
          break;
        }
        const sending = this.deliver(api, campaign, row, announcement)
          .then(async (retryAfter) => {
            if (retryAfter === null) return;
            // Too many requests: the row goes back to the queue and the platform waits as asked,
            // in this process and in any that takes over.
            lane.pause(retryAfter * 1000);
            await pauseDispatch(db, platform, new Date(Date.now() + retryAfter * 1000));
            await unclaimOutbox(db, [row]);
          })
          .catch(async (error: unknown) => {
            // The database failed around the send (the message may be out): never send it again.
            this.deps.logger.error({ err: error, campaignId, chatId: row.chat_id }, 'campaign row failed; marked lost');
            await markOutbox(db, row, 'lost', this.deps.now(), String((error as Error).message ?? error)).catch(() => undefined);
          });
        inFlight.add(sending);
        void sending.finally(() => inFlight.delete(sending));
        if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (Date.now() - report.last > 2000) {
        report.last = Date.now();
        await this.report(campaign, await campaignProgress(db, campaignId));
      }
    }
  }

  /** Sends one message; returns retry_after seconds on 429, else null. */
  private async deliver(api: Api, campaign: Campaign, row: OutboxRow, announcement: ((locale: Locale) => string) | null): Promise<number | null> {
    const { db } = this.deps;
    const { text, parse_mode, keyboard } = renderCampaign(this.deps, campaign, row, adapterFor(row.platform), announcement);
    const other = { ...(parse_mode ? { parse_mode } : {}), ...(keyboard ? { reply_markup: keyboard } : {}) };
    try {
      if (campaign.photo_file_id) await api.sendPhoto(row.chat_id, campaign.photo_file_id, { caption: text, ...other });
      else await api.sendMessage(row.chat_id, text, { ...other, link_preview_options: { is_disabled: true } });
      await markOutbox(db, row, 'sent', this.deps.now());
      return null;
    } catch (error) {
      if (error instanceof GrammyError && error.error_code === 429) return error.parameters.retry_after ?? 1;
      if (error instanceof GrammyError && error.error_code === 403) {
        await markAccountBlocked(db, row.platform, row.chat_id, this.deps.now());
        await markOutbox(db, row, 'blocked', this.deps.now(), error.description);
      } else if (error instanceof GrammyError) {
        await markOutbox(db, row, 'failed', this.deps.now(), error.description);
      } else {
        // Network trouble: the message may or may not have arrived; do not risk sending it twice.
        await markOutbox(db, row, 'lost', this.deps.now(), String((error as Error).message ?? error));
      }
      return null;
    }
  }

  /** The sender's status message: sent / failed / blocked / remaining, an ETA, and the controls. */
  private async report(campaign: Campaign, p: Progress) {
    if (!campaign.status_platform || !campaign.status_chat_id || !campaign.status_message_id) return;
    const api = this.apis.get(campaign.status_platform);
    if (!api) return;
    const sender = await findMemberById(this.deps.db, campaign.created_by);
    const locale = resolveLocale(sender, undefined, this.deps.config);
    const t = this.deps.i18n.getFixedT(locale);
    const remaining = p.pending + p.sending;
    const rate = [...this.apis.keys()].reduce((sum, platform) => sum + this.deps.config.broadcastRate[platform], 0);
    const n = (v: number) => formatNumber(v, locale);
    const html = t(campaign.status === 'done' ? 'campaigns.progress_done' : 'campaigns.progress', {
      id: n(campaign.id),
      sent: n(p.sent),
      failed: n(p.failed + p.lost),
      blocked: n(p.blocked),
      remaining: n(remaining),
      minutes: n(Math.ceil(remaining / rate / 60)),
    });
    const adapter = adapterFor(campaign.status_platform);
    const { text, parse_mode } = adapter.render(html);
    const controls: InlineKeyboardMarkup =
      campaign.status === 'done'
        ? { inline_keyboard: [] }
        : {
            inline_keyboard: [
              [
                { text: t('campaigns.pause'), callback_data: `cp:pause:${campaign.id}` },
                { text: t('campaigns.resume'), callback_data: `cp:resume:${campaign.id}` },
                { text: t('campaigns.cancel'), callback_data: `cp:cancel:${campaign.id}` },
              ],
            ],
          };
    const other = { ...(parse_mode ? { parse_mode } : {}), reply_markup: controls };
    try {
      if (adapter.editsKeyboards) await api.editMessageText(campaign.status_chat_id, campaign.status_message_id, text, other);
      else if (campaign.status === 'done') await api.sendMessage(campaign.status_chat_id, text, other);
    } catch (error) {
      if (!(error instanceof GrammyError && error.description.includes('not modified'))) this.deps.logger.warn({ err: error }, 'progress report failed');
    }
  }
}
