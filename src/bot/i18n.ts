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

/** Texts (and templates) a fixed-language `t` keeps at most (the locale files hold fewer keys). */
const REMEMBERED_TEXTS = 10_000;

/**
 * i18next's options that may come in the same object as a text's values: a call carrying any of
 * them goes to i18next (plurals by `count`, another language, a context, no escaping...).
 */
const OPTION_NAMES = new Set(['count', 'context', 'lng', 'lngs', 'ns', 'defaultValue', 'ordinal', 'replace', 'postProcess', 'keyPrefix', 'keySeparator', 'nsSeparator', 'interpolation', 'returnObjects', 'returnDetails', 'joinArrays', 'fallbackLng', 'skipInterpolation']);

/** A text's template split at its values: literal, name, literal, name, ..., literal. */
type Template = string[];

/**
 * The template of a locale string whose values are all plain `{{name}}`; null when i18next's other
 * syntax is in it (a format such as `{{limit, number}}`, an unescaped `{{- name}}`, nesting), which
 * stays with i18next.
 */
export function templateOf(raw: unknown): Template | null {
  if (typeof raw !== 'string' || raw.includes('$t(')) return null;
  const parts: Template = [];
  const slot = /\{\{([^}]*)\}\}/g;
  let at = 0;
  for (let m = slot.exec(raw); m; m = slot.exec(raw)) {
    const name = m[1]!.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return null;
    parts.push(raw.slice(at, m.index), name);
    at = m.index + m[0].length;
  }
  parts.push(raw.slice(at));
  return parts;
}

/** The text from its template, each value escaped as i18next escapes it; null if a value is missing or not plain. */
function fill(template: Template, values: Record<string, unknown>): string | null {
  let text = template[0]!;
  for (let i = 1; i < template.length; i += 2) {
    const value = values[template[i]!];
    if (typeof value !== 'string' && typeof value !== 'number') return null;
    text += escapeHtml(String(value)) + template[i + 1]!;
  }
  return text;
}

const plainValues = (options: unknown): options is Record<string, unknown> =>
  typeof options === 'object' && options !== null && !Array.isArray(options) && !Object.keys(options).some((name) => OPTION_NAMES.has(name));

/**
 * A fixed-language `t` that does i18next's work once per text and process: the resources never
 * change while the club runs, and i18next resolving every label and screen of every update showed
 * in `node --cpu-prof` (issue 14). A text without values is kept as it is; a text with values as its
 * template, filled with the values escaped exactly as i18next's escaping does (test/locales.test.ts
 * checks every text of both languages against i18next). Calls with options, plurals, formats or
 * values that are not strings or numbers go to i18next each time.
 */
export function rememberingT(i18n: I18nInstance, locale: Locale): Translate {
  const t = i18n.getFixedT(locale);
  const texts = new Map<string, string>();
  const templates = new Map<string, Template | null>();
  const translate = t as unknown as (...args: unknown[]) => string;
  const remembering = (key: unknown, ...rest: unknown[]) => {
    if (typeof key !== 'string' || rest.length > 1) return translate(key, ...rest);
    if (rest.length === 0) {
      let text = texts.get(key);
      if (text === undefined) {
        text = translate(key);
        if (texts.size < REMEMBERED_TEXTS) texts.set(key, text);
      }
      return text;
    }
    const values = rest[0];
    if (!plainValues(values)) return translate(key, values);
    let template = templates.get(key);
    if (template === undefined) {
      template = templateOf(i18n.getResource(locale, 'translation', key));
      if (templates.size < REMEMBERED_TEXTS) templates.set(key, template);
    }
    return (template && fill(template, values)) ?? translate(key, values);
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
