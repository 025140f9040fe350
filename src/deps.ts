import type { i18n as I18nInstance } from 'i18next';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import type { BroadcastDispatcher } from './jobs/broadcast.ts';
import type { NotificationDispatcher } from './jobs/notifications.ts';
import type { SurveyDispatcher } from './jobs/surveys.ts';
import type { ClubMetrics } from './metrics.ts';

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
  /**
   * Long polling on PostgreSQL keeps fetched updates in a journal until handled (see
   * updateJournal): an update's handled record then deletes its row too.
   */
  journaled?: boolean;
}
