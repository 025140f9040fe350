import type { Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Db } from '../db/database.ts';
import type { Locale, Platform } from '../db/schema.ts';
import type { Logger } from 'pino';
import type { i18n as I18nInstance } from 'i18next';
import type { Speech } from './context.ts';
import { adapterFor } from './platform.ts';
import { resolveLocale } from './i18n.ts';
import { reachableAccounts } from '../club/members.ts';

export interface Notice {
  html: string;
  keyboard?: InlineKeyboardMarkup;
  /** A photo to show with the text, on the platform whose bot received it (a file id works only there). */
  photo?: { fileId: string; platform: Platform };
}

/** Telegram's limit for a photo's caption; a longer text follows the photo as its own message. */
const CAPTION_MAX = 1024;

/**
 * Messages the club sends on its own (purchase receipts, approvals, reminders) to every messenger
 * account a member has, in the member's saved language (whatever their app is set to), through
 * whichever bots are running.
 */
export class Notifier {
  private readonly apis = new Map<Platform, Api>();

  constructor(
    private readonly db: Db,
    private readonly i18n: I18nInstance,
    private readonly defaultLocale: Locale,
    private readonly logger: Logger,
  ) {}

  register(platform: Platform, api: Api) {
    this.apis.set(platform, api);
  }

  /** Returns how many accounts received it; a blocked account (403) is marked by the bot's transformer. */
  async notify(memberId: number, build: (speech: Speech) => Notice): Promise<number> {
    const accounts = await reachableAccounts(this.db, [memberId]);
    let delivered = 0;
    for (const account of accounts) {
      const api = this.apis.get(account.platform);
      if (!api) continue;
      // Every recipient is a member: their saved language, else the club's (never an app's language).
      const locale = resolveLocale(account, undefined, { defaultLocale: this.defaultLocale, newcomerByAppLanguage: false });
      const adapter = adapterFor(account.platform);
      const notice = build({ locale, t: this.i18n.getFixedT(locale), adapter });
      const { text, parse_mode } = adapter.render(notice.html);
      try {
        const options = { ...(parse_mode ? { parse_mode } : {}), ...(notice.keyboard ? { reply_markup: notice.keyboard } : {}) };
        if (notice.photo?.platform === account.platform && text.length <= CAPTION_MAX) {
          await api.sendPhoto(account.chat_id, notice.photo.fileId, { caption: text, ...options });
        } else {
          if (notice.photo?.platform === account.platform) await api.sendPhoto(account.chat_id, notice.photo.fileId);
          await api.sendMessage(account.chat_id, text, options);
        }
        delivered++;
      } catch (error) {
        this.logger.warn({ err: error, memberId, platform: account.platform }, 'notification not delivered');
      }
    }
    return delivered;
  }
}
