import { GrammyError, type Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { ClubDeps } from '../bot/context.ts';
import { adapterFor } from '../bot/platform.ts';
import {
  campaignProgress,
  claimOutbox,
  finishCampaignIfDone,
  markLostRows,
  markOutbox,
  startDueCampaigns,
  type OutboxRow,
  type Progress,
} from '../club/campaigns.ts';
import { markAccountBlocked } from '../club/members.ts';
import type { Campaign, Platform } from '../db/schema.ts';
import { formatNumber } from '../lib/format.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends campaigns from the outbox at the configured rate per platform. A 429 stops the whole
 * dispatcher for retry_after (the row goes back to the queue); a 403 marks the account blocked and
 * skips it from then on; a 400 records the error on the row. Rows are claimed before sending and
 * confirmed after, so after kill -9 nothing is sent twice (see markLostRows).
 */
export class BroadcastDispatcher {
  private readonly running = new Map<number, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly deps: ClubDeps,
    /** Bot API clients without auto-retry: the dispatcher obeys 429 itself. */
    private readonly apis: Map<Platform, Api>,
  ) {}

  kick(campaignId: number) {
    if (this.stopped || this.running.has(campaignId)) return;
    const run = this.run(campaignId)
      .catch((error: unknown) => this.deps.logger.error({ err: error, campaignId }, 'campaign dispatch failed'))
      .finally(() => this.running.delete(campaignId));
    this.running.set(campaignId, run);
  }

  /** On start and every minute: rows lost in a crash, scheduled campaigns due, campaigns to resume. */
  async resumeAll() {
    const now = this.deps.now();
    await markLostRows(this.deps.db, new Date(now.getTime() - 2 * 60_000));
    await startDueCampaigns(this.deps.db, now);
    const sending = await this.deps.db.selectFrom('campaigns').select('id').where('status', '=', 'sending').execute();
    for (const c of sending) this.kick(c.id);
  }

  async stop() {
    this.stopped = true;
    await Promise.all(this.running.values());
  }

  /** Waits for a campaign's run in this process (tests and benchmarks). */
  async settled(campaignId: number) {
    await this.running.get(campaignId);
  }

  private async run(campaignId: number) {
    const { db } = this.deps;
    const nextSlot = new Map<Platform, number>();
    let lastReport = 0;
    while (!this.stopped) {
      const campaign = await db.selectFrom('campaigns').selectAll().where('id', '=', campaignId).executeTakeFirst();
      if (!campaign || campaign.status !== 'sending') break;
      let claimed = 0;
      for (const [platform, api] of this.apis) {
        const rate = this.deps.config.broadcastRate[platform];
        const rows = await claimOutbox(db, campaignId, platform, rate, this.deps.now());
        claimed += rows.length;
        for (const [i, row] of rows.entries()) {
          const slot = nextSlot.get(platform) ?? 0;
          if (slot > Date.now()) await sleep(slot - Date.now());
          nextSlot.set(platform, Math.max(Date.now(), slot) + 1000 / rate);
          const retryAfter = await this.deliver(api, campaign, row);
          if (retryAfter !== null) {
            // Too many requests: this row and the rest of the batch go back to the queue, and the
            // whole dispatcher waits as Telegram asked.
            for (const r of rows.slice(i)) await markOutbox(db, r, 'pending', this.deps.now());
            await sleep(retryAfter * 1000);
            break;
          }
        }
      }
      if (Date.now() - lastReport > 2000) {
        lastReport = Date.now();
        await this.report(campaign, await campaignProgress(db, campaignId));
      }
      if (claimed === 0) {
        if (await finishCampaignIfDone(db, campaignId, this.deps.now())) {
          await this.report({ ...campaign, status: 'done' }, await campaignProgress(db, campaignId));
          break;
        }
        await sleep(500); // rows claimed by another process are still in flight
      }
    }
  }

  /** Sends one message; returns retry_after seconds on 429, else null. */
  private async deliver(api: Api, campaign: Campaign, row: OutboxRow): Promise<number | null> {
    const { db } = this.deps;
    const keyboard = await this.keyboard(campaign, row);
    try {
      if (campaign.photo_file_id) {
        await api.sendPhoto(row.chat_id, campaign.photo_file_id, { caption: campaign.text, ...(keyboard ? { reply_markup: keyboard } : {}) });
      } else {
        await api.sendMessage(row.chat_id, campaign.text, { ...(keyboard ? { reply_markup: keyboard } : {}), link_preview_options: { is_disabled: true } });
      }
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

  private async keyboard(campaign: Campaign, row: OutboxRow): Promise<InlineKeyboardMarkup | null> {
    const b = campaign.button;
    if (!b) return null;
    if (b.kind === 'url') return { inline_keyboard: [[{ text: b.text, url: b.url }]] };
    const member = await this.deps.db.selectFrom('members').select('locale').where('id', '=', row.member_id).executeTakeFirst();
    const t = this.deps.i18n.getFixedT(member?.locale ?? this.deps.config.defaultLocale);
    return { inline_keyboard: [[{ text: t('menu.card'), callback_data: 'mycard' }]] };
  }

  /** The sender's status message: sent / failed / blocked / remaining, an ETA, and the controls. */
  private async report(campaign: Campaign, p: Progress) {
    if (!campaign.status_platform || !campaign.status_chat_id || !campaign.status_message_id) return;
    const api = this.apis.get(campaign.status_platform);
    if (!api) return;
    const sender = await this.deps.db.selectFrom('members').select('locale').where('id', '=', campaign.created_by).executeTakeFirst();
    const locale = sender?.locale ?? this.deps.config.defaultLocale;
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
