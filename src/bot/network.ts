import type { Agent } from 'node:http';
import { GrammyError, HttpError, type Api } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import type { Config } from '../config.ts';
import type { Platform } from '../db/schema.ts';

/** The proxy agent, for Telegram only: the Bot API client's requests go through it (see http.ts). */
export interface FetchConfig {
  agent: Agent;
}

/**
 * Servers in Iran cannot reach api.telegram.org: Telegram is reached through HTTPS_PROXY or
 * SOCKS_PROXY (SOCKS wins when both are set). Bale is an Iranian service and always goes direct.
 */
export function fetchConfigFor(platform: Platform, config: Config): FetchConfig | undefined {
  const proxy = platform === 'telegram' ? config.telegramProxy : undefined;
  if (!proxy) return undefined;
  return { agent: proxy.kind === 'socks' ? new SocksProxyAgent(proxy.url) : new HttpsProxyAgent(proxy.url) };
}

export type PlatformCheck =
  | { ok: true; me: UserFromGetMe }
  | { ok: false; problem: 'unreachable' | 'unauthorized' | 'refused'; line: string };

const NAMES: Record<Platform, string> = { telegram: 'Telegram', bale: 'Bale' };
const TOKEN_VARIABLE: Record<Platform, string> = { telegram: 'BOT_TOKEN', bale: 'BALE_BOT_TOKEN' };

/**
 * One getMe within `seconds`: the club says plainly why a platform cannot be served instead of
 * hanging on a connection that never opens (a black-holed address waits minutes for the kernel).
 */
export async function checkPlatform(api: Api, platform: Platform, seconds: number, proxied: boolean): Promise<PlatformCheck> {
  const name = NAMES[platform];
  try {
    return { ok: true, me: await api.getMe(AbortSignal.timeout(seconds * 1000) as unknown as Parameters<Api['getMe']>[0]) };
  } catch (error) {
    if (error instanceof GrammyError && (error.error_code === 401 || error.error_code === 404)) {
      // Telegram answers 401 for a revoked token and 404 for one it never issued.
      return { ok: false, problem: 'unauthorized', line: `${name} refused the token (${error.error_code}): check ${TOKEN_VARIABLE[platform]}` };
    }
    if (error instanceof GrammyError) {
      return { ok: false, problem: 'refused', line: `${name} refused getMe (${error.error_code}: ${error.description})` };
    }
    const advice =
      platform === 'telegram'
        ? proxied
          ? 'check HTTPS_PROXY/SOCKS_PROXY (the proxy did not get through within the time) or use only Bale'
          : 'set HTTPS_PROXY or use only Bale'
        : 'check the network and BALE_API_ROOT';
    const cause = error instanceof HttpError ? String((error.error as Error | undefined)?.message ?? error.message) : String(error);
    return { ok: false, problem: 'unreachable', line: `${name} unreachable: ${advice} (no answer within ${seconds} s: ${cause})` };
  }
}
