import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import i18next, { type i18n as I18nInstance, type TFunction } from 'i18next';
import type { Config } from '../config.ts';
import type { Locale, Member } from '../db/schema.ts';
import { escapeHtml } from '../lib/html.ts';

export const LOCALES: readonly Locale[] = ['fa', 'en'];
export const LOCALES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../locales');

export type Translate = TFunction;

// Re-exported for code that imported it from here; the one escape lives in src/lib/html.ts.
export { escapeHtml };

export async function createI18n(): Promise<I18nInstance> {
  const resources = Object.fromEntries(
    LOCALES.map((lng) => [lng, { translation: JSON.parse(readFileSync(path.join(LOCALES_DIR, `${lng}.json`), 'utf8')) }]),
  );
  const i18n = i18next.createInstance();
  await i18n.init({
    resources,
    lng: 'fa',
    fallbackLng: false,
    returnNull: false,
    showSupportNotice: false,
    interpolation: {
      // Every interpolated value is escaped for HTML; strings in the locale files carry the markup.
      escapeValue: true,
      escape: (v: unknown) => escapeHtml(String(v)),
    },
  } as Parameters<I18nInstance['init']>[0]);
  return i18n;
}

/** Texts without values a fixed-language `t` keeps at most (the locale files hold fewer keys). */
const REMEMBERED_TEXTS = 10_000;

/**
 * A fixed-language `t` that translates each text without values (button labels, titles) once per
 * process: the resources never change while the club runs, and i18next resolving every label of
 * every menu on every update showed in `node --cpu-prof` (issue 14). Calls with values, or with
 * options, go to i18next each time.
 */
export function rememberingT(t: Translate): Translate {
  const texts = new Map<string, string>();
  const translate = t as unknown as (...args: unknown[]) => string;
  const remembering = (key: unknown, ...rest: unknown[]) => {
    if (rest.length > 0 || typeof key !== 'string') return translate(key, ...rest);
    let text = texts.get(key);
    if (text === undefined) {
      text = translate(key);
      if (texts.size < REMEMBERED_TEXTS) texts.set(key, text);
    }
    return text;
  };
  // fixedT carries its language and namespace as properties.
  return Object.assign(remembering, t) as unknown as Translate;
}

/** What resolving a language needs of the club's configuration. */
export type LocaleConfig = Pick<Config, 'defaultLocale' | 'newcomerByAppLanguage'>;

/**
 * The one answer to "which language do we speak to this person", used for every screen, every
 * conversation and every message the club sends on its own. A member: their saved choice (else the
 * club's default), never the app's language, which says little in Iran (many run Telegram in
 * English). A newcomer: the club's DEFAULT_LOCALE; only when that is not set does the app's language
 * pick (en* -> en, fa* -> fa, anything else -> fa). The welcome screen offers the other one.
 */
export function resolveLocale(member: Pick<Member, 'locale'> | null | undefined, languageCode: string | undefined, club: LocaleConfig): Locale {
  if (member) return member.locale ?? club.defaultLocale;
  if (club.newcomerByAppLanguage) {
    const code = languageCode?.toLowerCase() ?? '';
    if (code.startsWith('en')) return 'en';
    if (code.startsWith('fa')) return 'fa';
  }
  return club.defaultLocale;
}

/** A button's label: an i18n key, or built from a speech (for labels with values in them). */
export type Label = string | ((speech: { t: Translate; locale: Locale }) => string);

/**
 * Whether `text` is `label` as written in any of the club's languages. Typed answers are matched
 * this way inside conversations: a reply keyboard sent before the member changed language still
 * works, and a replayed conversation takes the same path whatever the language is now.
 */
export function isLabel(i18n: I18nInstance, text: string | undefined, label: Label): boolean {
  if (text === undefined) return false;
  return LOCALES.some((locale) => {
    const t = i18n.getFixedT(locale);
    return text === (typeof label === 'string' ? t(label) : label({ t, locale }));
  });
}
