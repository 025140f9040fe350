import { createHash } from 'node:crypto';
import { z } from 'zod';
import { normalizePhone } from './lib/phone.ts';

export const TELEGRAM_API_ROOT = 'https://api.telegram.org';
export const BALE_API_ROOT = 'https://tapi.bale.ai';

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const token = optionalText.refine((v) => v === undefined || /^\d+:[A-Za-z0-9_-]{20,}$/.test(v), {
  message: 'does not look like a bot token (digits, a colon, then letters: 123456:ABC-def...)',
});

const intWithDefault = (fallback: number, min: number, max: number) =>
  optionalText.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}, got "${v}"` });
      return z.NEVER;
    }
    return n;
  });

const timeZone = optionalText.transform((v, ctx) => {
  const zone = v ?? 'Asia/Tehran';
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    ctx.addIssue({ code: 'custom', message: `unknown time zone "${zone}" (use an IANA name such as Asia/Tehran)` });
    return z.NEVER;
  }
  return zone;
});

const ownerPhones = optionalText.transform((v, ctx) => {
  const phones: string[] = [];
  for (const raw of (v ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const phone = normalizePhone(raw);
    if (!phone) {
      ctx.addIssue({ code: 'custom', message: `"${raw}" is not a phone number (e.g. 09121234567 or +989121234567)` });
      return z.NEVER;
    }
    phones.push(phone);
  }
  return phones;
});

const url = optionalText.refine((v) => v === undefined || URL.canParse(v), { message: 'is not a URL' });

const schema = z.object({
  BOT_TOKEN: token,
  BALE_BOT_TOKEN: token,
  BOT_API_ROOT: url.transform((v) => v ?? TELEGRAM_API_ROOT),
  BALE_API_ROOT: url.transform((v) => v ?? BALE_API_ROOT),
  DATABASE_URL: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: 'must be a postgres:// or postgresql:// connection string',
  }),
  DATA_DIR: optionalText.transform((v) => v ?? './data'),
  OWNER_PHONES: ownerPhones,
  DEFAULT_LOCALE: optionalText.pipe(z.enum(['fa', 'en']).optional()),
  TZ_CLUB: timeZone,
  SIGNUP_BONUS_POINTS: intWithDefault(50, 0, 1_000_000),
  POINTS_VALIDITY_DAYS: intWithDefault(365, 1, 3650),
  TIER_WINDOW_DAYS: intWithDefault(365, 1, 3650),
  CARD_TOKEN_TTL_MINUTES: intWithDefault(10, 1, 24 * 60),
  BROADCAST_RATE: intWithDefault(25, 1, 1000),
  BALE_BROADCAST_RATE: intWithDefault(10, 1, 1000),
  HTTPS_PROXY: url,
  SOCKS_PROXY: optionalText.refine((v) => v === undefined || /^socks(4a?|5h?)?:\/\//.test(v), {
    message: 'must be a socks5://host:port (or socks4://, socks5h://) address',
  }),
  PORT: optionalText.transform((v, ctx) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      ctx.addIssue({ code: 'custom', message: `must be a port number from 0 to 65535, got "${v}"` });
      return z.NEVER;
    }
    return n;
  }),
  WEBHOOK_URL: url.refine((v) => v === undefined || /^https?:\/\//.test(v), { message: 'must be an https:// (or http://) address' }),
  WEBHOOK_SECRET: optionalText.refine((v) => v === undefined || /^[A-Za-z0-9_-]{16,256}$/.test(v), {
    message: 'must be 16 to 256 letters, digits, _ or -',
  }),
  STARTUP_CHECK_SECONDS: intWithDefault(10, 1, 120),
  LOG_LEVEL: optionalText
    .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional())
    .transform((v) => v ?? 'info'),
});

export interface Config {
  telegram: { token: string; apiRoot: string } | undefined;
  bale: { token: string; apiRoot: string } | undefined;
  databaseUrl: string | undefined;
  dataDir: string;
  ownerPhones: string[];
  /** DEFAULT_LOCALE, else fa: what members who never chose a language are spoken to in. */
  defaultLocale: 'fa' | 'en';
  /** DEFAULT_LOCALE is not set: a newcomer's app language picks which language the welcome shows first. */
  newcomerByAppLanguage: boolean;
  timeZone: string;
  signupBonusPoints: number;
  pointsValidityDays: number;
  tierWindowDays: number;
  cardTokenTtlMinutes: number;
  /** Campaign messages per second, per platform. */
  broadcastRate: { telegram: number; bale: number };
  logLevel: string;
  /** The proxy Telegram is reached through (servers in Iran); Bale is always reached directly. */
  telegramProxy: { kind: 'https' | 'socks'; url: string } | undefined;
  /** PORT: health, readiness, metrics (and webhooks). Webhook mode without PORT listens on 8080. */
  port: number | undefined;
  /** WEBHOOK_URL (public base URL) and the secret of its paths; undefined: long polling. */
  webhook: { url: string; secret: string } | undefined;
  /** How long each platform has to answer at start before it is reported unreachable. */
  startupCheckSeconds: number;
}

export class ConfigError extends Error {}

export const NO_TOKEN_HELP = `Bashgah needs a bot token to start. Set at least one of these (in the environment or in a .env file):

  BOT_TOKEN=123456:ABC...        Telegram: open @BotFather in Telegram, send /newbot, follow the steps,
                                 and copy the token it gives you.
  BALE_BOT_TOKEN=123456:ABC...   Bale: open @botfather in Bale (بات‌فادر), choose "ساخت بازو جدید"
                                 (create a new bot), and copy the token it gives you.

Both may be set: each platform gets its own bot over the same club.`;

/**
 * Without WEBHOOK_SECRET the path secret is derived from the token, so every process of one club
 * agrees on it without another setting (and it reveals nothing about the token).
 */
function webhookSecretFrom(token: string): string {
  return createHash('sha256').update(`bashgah-webhook:${token}`).digest('base64url').slice(0, 32);
}

/** Parses the environment once at start; any problem names the variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(environment)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (!e.BOT_TOKEN && !e.BALE_BOT_TOKEN) throw new ConfigError(NO_TOKEN_HELP);
  return {
    telegram: e.BOT_TOKEN ? { token: e.BOT_TOKEN, apiRoot: e.BOT_API_ROOT } : undefined,
    bale: e.BALE_BOT_TOKEN ? { token: e.BALE_BOT_TOKEN, apiRoot: e.BALE_API_ROOT } : undefined,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    ownerPhones: e.OWNER_PHONES,
    defaultLocale: e.DEFAULT_LOCALE ?? 'fa',
    newcomerByAppLanguage: e.DEFAULT_LOCALE === undefined,
    timeZone: e.TZ_CLUB,
    signupBonusPoints: e.SIGNUP_BONUS_POINTS,
    pointsValidityDays: e.POINTS_VALIDITY_DAYS,
    tierWindowDays: e.TIER_WINDOW_DAYS,
    cardTokenTtlMinutes: e.CARD_TOKEN_TTL_MINUTES,
    broadcastRate: { telegram: e.BROADCAST_RATE, bale: e.BALE_BROADCAST_RATE },
    logLevel: e.LOG_LEVEL,
    telegramProxy: e.SOCKS_PROXY ? { kind: 'socks', url: e.SOCKS_PROXY } : e.HTTPS_PROXY ? { kind: 'https', url: e.HTTPS_PROXY } : undefined,
    port: e.PORT ?? (e.WEBHOOK_URL ? 8080 : undefined),
    webhook: e.WEBHOOK_URL ? { url: e.WEBHOOK_URL.replace(/\/+$/, ''), secret: e.WEBHOOK_SECRET ?? webhookSecretFrom(e.BOT_TOKEN ?? e.BALE_BOT_TOKEN!) } : undefined,
    startupCheckSeconds: e.STARTUP_CHECK_SECONDS,
  };
}
