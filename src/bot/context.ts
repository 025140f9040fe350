import type { Intake } from '../club/updates.ts';
import type { ConversationFlavor } from '@grammyjs/conversations';
import type { Context as BaseContext } from 'grammy';
import type { ClubDeps } from '../deps.ts';
import type { Locale, Member, StaffRole } from '../db/schema.ts';
import type { Label, Translate } from './i18n.ts';
import type { PlatformAdapter } from './platform.ts';

export type { ClubDeps } from '../deps.ts';

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
  /** What the update found in the database when it arrived, one round trip (onceEach, takeUpdates). */
  intake?: Intake | undefined;
}

export type Context = ConversationFlavor<BaseContext & ClubFlavor>;
/** Inside a conversation: a plain context plus the speech plugin (see `speech` in bot.ts). */
export type ConversationContext = BaseContext &
  Speech & {
    /** Whether a typed answer is this button's label in any language (see `isLabel`). */
    isLabel: (text: string | undefined, label: Label) => boolean;
  };
