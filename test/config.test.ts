import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, NO_TOKEN_HELP } from '../src/config.ts';

const token = '123456:ABCdefGHIjklMNOpqrSTUvwx';

describe('configuration', () => {
  it('needs at least one token and says where to get one', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(NO_TOKEN_HELP);
    expect(NO_TOKEN_HELP).toMatch(/BotFather/);
    expect(NO_TOKEN_HELP).toMatch(/BALE_BOT_TOKEN/);
  });

  it('fills defaults: embedded storage, Persian, Tehran time, 50 signup points', () => {
    const config = loadConfig({ BOT_TOKEN: token });
    expect(config.telegram).toEqual({ token, apiRoot: 'https://api.telegram.org' });
    expect(config.bale).toBeUndefined();
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe('./data');
    expect(config.defaultLocale).toBe('fa');
    expect(config.newcomerByAppLanguage).toBe(true);
    expect(config.timeZone).toBe('Asia/Tehran');
    expect(config.signupBonusPoints).toBe(50);
  });

  it('a DEFAULT_LOCALE that is set is what newcomers see first, whatever their app says', () => {
    expect(loadConfig({ BOT_TOKEN: token, DEFAULT_LOCALE: 'fa' })).toMatchObject({ defaultLocale: 'fa', newcomerByAppLanguage: false });
    expect(loadConfig({ BOT_TOKEN: token, DEFAULT_LOCALE: 'en' })).toMatchObject({ defaultLocale: 'en', newcomerByAppLanguage: false });
  });

  it('runs Bale alone with its own API root', () => {
    const config = loadConfig({ BALE_BOT_TOKEN: token });
    expect(config.telegram).toBeUndefined();
    expect(config.bale).toEqual({ token, apiRoot: 'https://tapi.bale.ai' });
  });

  it('normalizes owner phones and names the variable of a bad one', () => {
    expect(loadConfig({ BOT_TOKEN: token, OWNER_PHONES: '09121234567, +98 912 765 4321' }).ownerPhones).toEqual([
      '+989121234567',
      '+989127654321',
    ]);
    expect(() => loadConfig({ BOT_TOKEN: token, OWNER_PHONES: '0912, hello' })).toThrow(/OWNER_PHONES/);
  });

  it.each([
    ['BOT_TOKEN', 'not-a-token'],
    ['DEFAULT_LOCALE', 'de'],
    ['TZ_CLUB', 'Mars/Olympus'],
    ['DATABASE_URL', 'mysql://x'],
    ['SIGNUP_BONUS_POINTS', '-5'],
    ['BOT_API_ROOT', 'not a url'],
  ])('a wrong %s names the variable', (name, value) => {
    expect(() => loadConfig({ BOT_TOKEN: token, [name]: value })).toThrow(new RegExp(`${name}:`));
  });

  it('production settings: a proxy for Telegram, webhooks on 8080 with a secret every process derives alike', () => {
    const plain = loadConfig({ BOT_TOKEN: token });
    expect(plain).toMatchObject({ telegramProxy: undefined, port: undefined, webhook: undefined, startupCheckSeconds: 10 });
    expect(loadConfig({ BOT_TOKEN: token, HTTPS_PROXY: 'http://10.0.0.1:3128' }).telegramProxy).toEqual({ kind: 'https', url: 'http://10.0.0.1:3128' });
    expect(loadConfig({ BOT_TOKEN: token, HTTPS_PROXY: 'http://10.0.0.1:3128', SOCKS_PROXY: 'socks5://127.0.0.1:1080' }).telegramProxy).toEqual({ kind: 'socks', url: 'socks5://127.0.0.1:1080' });
    const hooked = loadConfig({ BOT_TOKEN: token, WEBHOOK_URL: 'https://club.example.com/' });
    expect(hooked.port).toBe(8080);
    expect(hooked.webhook!.url).toBe('https://club.example.com');
    expect(hooked.webhook!.secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(hooked.webhook!.secret).not.toContain(token.split(':')[1]);
    expect(loadConfig({ BOT_TOKEN: token, WEBHOOK_URL: 'https://club.example.com' }).webhook!.secret).toBe(hooked.webhook!.secret);
    expect(() => loadConfig({ BOT_TOKEN: token, SOCKS_PROXY: 'http://x:1' })).toThrow(/SOCKS_PROXY:/);
    expect(() => loadConfig({ BOT_TOKEN: token, PORT: '99999' })).toThrow(/PORT:/);
    expect(() => loadConfig({ BOT_TOKEN: token, WEBHOOK_URL: 'https://x.example', WEBHOOK_SECRET: 'short' })).toThrow(/WEBHOOK_SECRET:/);
  });
});
