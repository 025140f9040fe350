import type { Platform } from '../db/schema.ts';

/**
 * Everything that differs between Telegram and Bale lives here, so features never ask which
 * messenger they are on.
 */
export interface PlatformAdapter {
  readonly platform: Platform;
  /** https://t.me/<bot>?start=<payload> or https://ble.ir/<bot>?start=<payload> */
  deepLink(botUsername: string, payload: string): string;
  /** Turns text written with Telegram's HTML subset into what this platform renders safely. */
  render(html: string): { text: string; parse_mode?: 'HTML' };
  /** Whether editing a message that carries an inline keyboard is reliable (else: send anew). */
  readonly editsKeyboards: boolean;
  /** A one-tap "share" URL for a link and a text, where the platform has one. */
  shareUrl(link: string, text: string): string | undefined;
  /** Optional Bot API calls (setMyCommands...) that this platform may lack: failures are ignored. */
  readonly optionalCallsMayFail: boolean;
}

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&amp;': '&', '&#39;': "'" };

/** Plain text for a renderer without parse_mode: tags dropped, entities decoded (once). */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<a\s+href="([^"]*)"\s*>(.*?)<\/a>/gs, (_m, href: string, label: string) => (label === href ? label : `${label} (${href})`))
    .replace(/<\/?(b|strong|i|em|u|ins|s|strike|del|code|pre|blockquote|tg-spoiler|span)(\s[^>]*)?>/g, '')
    .replace(/&(lt|gt|quot|amp|#39);/g, (m) => ENTITIES[m] ?? m);
}

export const telegram: PlatformAdapter = {
  platform: 'telegram',
  deepLink: (bot, payload) => `https://t.me/${bot}?start=${payload}`,
  render: (html) => ({ text: html, parse_mode: 'HTML' }),
  shareUrl: (link, text) => `https://t.me/share/url?url=${encodeURIComponent(link)}&text=${encodeURIComponent(text)}`,
  editsKeyboards: true,
  optionalCallsMayFail: false,
};

export const bale: PlatformAdapter = {
  platform: 'bale',
  deepLink: (bot, payload) => `https://ble.ir/${bot}?start=${payload}`,
  render: (html) => ({ text: htmlToPlain(html) }),
  // Bale documents no share URL: members forward the invitation message instead.
  shareUrl: () => undefined,
  editsKeyboards: false,
  optionalCallsMayFail: true,
};

export function adapterFor(platform: Platform): PlatformAdapter {
  return platform === 'bale' ? bale : telegram;
}
