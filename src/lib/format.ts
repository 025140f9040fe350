import type { Locale } from '../db/schema.ts';

const formatters = {
  fa: new Intl.NumberFormat('fa-IR', { maximumFractionDigits: 2 }),
  en: new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }),
};

/** Grouped digits: `۱٬۲۵۰٬۰۰۰` in Persian, `1,250,000` in English. */
export function formatNumber(n: number | bigint, locale: Locale): string {
  return formatters[locale].format(n);
}

export function formatRials(n: number | bigint, locale: Locale): string {
  return locale === 'fa' ? `${formatNumber(n, 'fa')} ریال` : `${formatNumber(n, 'en')} Rials`;
}

/** `▰▰▰▱▱▱▱▱▱▱`: value out of max, clamped; max <= 0 reads as complete. */
export function progressBar(value: number, max: number, width = 10): string {
  const filled = max <= 0 ? width : Math.max(0, Math.min(width, Math.floor((value / max) * width)));
  return '▰'.repeat(filled) + '▱'.repeat(width - filled);
}

/**
 * Money at the till, in both units so a misread is visible: «۱۲۰٬۰۰۰ تومان (۱٬۲۰۰٬۰۰۰ ریال)»,
 * `120,000 Toman (1,200,000 Rials)`. A Rial amount that is not whole Toman shows the decimal.
 */
export function formatMoney(rials: number, locale: Locale): string {
  const toman = formatNumber(rials / 10, locale);
  return locale === 'fa' ? `${toman} تومان (${formatRials(rials, 'fa')})` : `${toman} Toman (${formatRials(rials, 'en')})`;
}
