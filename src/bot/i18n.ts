import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import i18next, { type i18n as I18nInstance, type TFunction } from 'i18next';
import type { Locale } from '../db/schema.ts';
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

/** The member's stored choice, else the messenger's language (en* -> en, fa* -> fa), else the club default. */
export function resolveLocale(stored: Locale | null | undefined, languageCode: string | undefined, fallback: Locale): Locale {
  if (stored) return stored;
  const code = languageCode?.toLowerCase() ?? '';
  if (code.startsWith('en')) return 'en';
  if (code.startsWith('fa')) return 'fa';
  return fallback;
}
