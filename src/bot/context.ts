import type { Intake } from '../club/updates.ts';
import type { ConversationFlavor } from '@grammyjs/conversations';
import type { Context as BaseContext } from 'grammy';
import type { i18n as I18nInstance } from 'i18next';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Locale, Member, StaffRole } from '../db/schema.ts';
import type { Label, Translate } from './i18n.ts';
import type { PlatformAdapter } from './platform.ts';
import type { SurveyDispatcher } from '../jobs/surveys.ts';
import type { BroadcastDispatcher } from '../jobs/broadcast.ts';
import type { NotificationDispatcher } from '../jobs/notifications.ts';
import type { ClubMetrics } from '../metrics.ts';

/** What every bot of the club shares: handed to createBot, never read from module globals. */
export interface ClubDeps {
  db: Db;
  config: Config;
  logger: Logger;
  i18n: I18nInstance;
  cardSecret: string;
  /** The clock; tests move it. */
  now: () => Date;
  surveyDispatcher: SurveyDispatcher;
  broadcaster: BroadcastDispatcher;
  /** Sends the notification outbox; kick() it after a commit that queued a notice. */
  notices: NotificationDispatcher;
  /** Prometheus figures (absent in tests that build their own deps). */
  metrics?: ClubMetrics;
  /**
   * Webhook mode on PostgreSQL: runs an update's work holding its chat's lock, so updates of one
   * chat are handled one at a time across every process of the club.
   */
  chatLock?: <T>(key: string, work: () => Promise<T>) => Promise<T>;
}

/** What a handler needs to speak to this person: their language and the platform's manners. */
export interface Speech {
  locale: Locale;
  t: Translate;
  adapter: PlatformAdapter;
}

interface ClubFlavor extends Speech {
  deps: ClubDeps;
  /** The member behind this messenger account, or null before signup. */
  member: Member | null;
  role: StaffRole | null;
  /** What the update found in the database when it arrived, one round trip (onceEach, takeUpdate). */
  intake?: Intake | undefined;
}

export type Context = ConversationFlavor<BaseContext & ClubFlavor>;
/** Inside a conversation: a plain context plus the speech plugin (see `speech` in bot.ts). */
export type ConversationContext = BaseContext &
  Speech & {
    /** Whether a typed answer is this button's label in any language (see `isLabel`). */
    isLabel: (text: string | undefined, label: Label) => boolean;
  };
