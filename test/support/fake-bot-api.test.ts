import { Bot, GrammyError, InputFile } from 'grammy';
import { afterEach, describe, expect, it } from 'vitest';
import { assertNoFormattingViolations, FakeBotApi } from './fake-bot-api.ts';

// The fake must refuse what Telegram refuses, or the journeys that rely on it prove nothing.
describe('the fake Bot API', () => {
  let api: FakeBotApi;
  afterEach(() => api?.stop());

  async function botOn(platform: 'telegram' | 'bale', opts: ConstructorParameters<typeof FakeBotApi>[0] = {}) {
    api = new FakeBotApi({ platform, ...opts });
    await api.start();
    const bot = new Bot('1:test', { client: { apiRoot: api.apiRoot } });
    await bot.init();
    return bot;
  }

  it('delivers updates by long polling and records what the bot sends', async () => {
    const bot = await botOn('telegram');
    bot.on('message:text', (ctx) => ctx.reply(`echo: ${ctx.message.text}`, { reply_markup: { inline_keyboard: [[{ text: 'ok', callback_data: 'ok' }]] } }));
    bot.callbackQuery('ok', (ctx) => ctx.answerCallbackQuery({ text: 'pressed' }));
    void bot.start({ timeout: 1 });
    const user = api.user({ id: 10, first_name: 'U' });
    await user.send('hi');
    expect((await user.next()).text).toBe('echo: hi');
    await user.press('ok');
    await expect.poll(() => user.callbackAnswers.map((a) => a.text)).toEqual(['pressed']);
    await bot.stop();
  });

  it('answers 400 like Telegram for empty text, oversize callback data, bad HTML and redundant edits', async () => {
    const bot = await botOn('telegram');
    api.user({ id: 11, first_name: 'U' });
    const refusal = (p: Promise<unknown>) => p.then(() => null, (e: GrammyError) => [e.error_code, e.description]);
    expect(await refusal(bot.api.sendMessage(11, ''))).toEqual([400, 'Bad Request: message text is empty']);
    expect(await refusal(bot.api.sendMessage(11, 'x', { reply_markup: { inline_keyboard: [[{ text: 'b', callback_data: 'ب'.repeat(33) }]] } }))).toEqual([
      400,
      'Bad Request: BUTTON_DATA_INVALID',
    ]);
    expect((await refusal(bot.api.sendMessage(11, '<b>open', { parse_mode: 'HTML' })))?.[0]).toBe(400);
    expect((await refusal(bot.api.sendMessage(11, 'a < b', { parse_mode: 'HTML' })))?.[0]).toBe(400);
    expect(await refusal(bot.api.sendMessage(999, 'who?'))).toEqual([400, 'Bad Request: chat not found']);
    const sent = await bot.api.sendMessage(11, '<b>fine</b> &amp; dandy', { parse_mode: 'HTML' });
    expect((await refusal(bot.api.editMessageText(11, sent.message_id, '<b>fine</b> &amp; dandy', { parse_mode: 'HTML' })))?.[1]).toMatch(/message is not modified/);
    expect(await refusal(bot.api.editMessageText(11, 12345, 'x'))).toEqual([400, 'Bad Request: message to edit not found']);
  });

  it('answers 403 for a user who blocked the bot and 429 with retry_after over the rate', async () => {
    const bot = await botOn('telegram', { rateLimitPerSecond: 2, retryAfter: 3 });
    const user = api.user({ id: 12, first_name: 'U' });
    user.block();
    await expect(bot.api.sendMessage(12, 'x')).rejects.toMatchObject({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    user.unblock();
    await bot.api.sendMessage(12, 'one');
    await expect(bot.api.sendMessage(12, 'two')).rejects.toMatchObject({ error_code: 429, parameters: { retry_after: 3 } });
    // Inside the retry window every send is refused.
    await expect(bot.api.sendMessage(12, 'three')).rejects.toMatchObject({ error_code: 429 });
  });

  it('receives photos as multipart uploads', async () => {
    const bot = await botOn('telegram');
    const user = api.user({ id: 13, first_name: 'U' });
    await bot.api.sendPhoto(13, new InputFile(Buffer.from('PNGDATA'), 'card.png'), { caption: 'card' });
    expect(user.lastMessage()).toMatchObject({ photo: true, caption: 'card' });
    expect(user.lastMessage()!.photoBytes!.toString()).toBe('PNGDATA');
  });

  it('in Bale mode refuses parse_mode', async () => {
    const bot = await botOn('bale');
    api.user({ id: 14, first_name: 'U' });
    await expect(bot.api.sendMessage(14, '<b>x</b>', { parse_mode: 'HTML' })).rejects.toMatchObject({ error_code: 400 });
    await bot.api.sendMessage(14, 'clean text, 3 < 4 & 5 > 2');
  });

  // The guard: what a person would read as raw markup fails, on both platforms, in texts, captions and edits.
  for (const platform of ['telegram', 'bale'] as const) {
    it(`on ${platform} refuses HTML tags or entities sent without parse_mode (and notes double escaping), and reports them after the test`, async () => {
      const bot = await botOn(platform);
      api.user({ id: 15, first_name: 'U' });
      const refused = (p: Promise<unknown>) => p.then(() => null, (e: GrammyError) => e.error_code);
      expect(await refused(bot.api.sendMessage(15, 'code: <b>DCD4-AWAD</b>'))).toBe(400);
      expect(await refused(bot.api.sendMessage(15, 'Tom &amp; Jerry'))).toBe(400);
      expect(await refused(bot.api.sendPhoto(15, new InputFile(Buffer.from('PNG'), 'a.png'), { caption: '<i>offer</i>' }))).toBe(400);
      const sent = await bot.api.sendMessage(15, 'plain: 3 < 4 & a>b');
      expect(await refused(bot.api.editMessageText(15, sent.message_id, '<code>x</code>'))).toBe(400);
      if (platform === 'telegram') {
        // Escaped twice: accepted, but the person would read `&amp;` and `<b>`: reported after the test.
        await bot.api.sendMessage(15, 'Tom &amp;amp; Jerry', { parse_mode: 'HTML' });
        await bot.api.sendMessage(15, '&lt;b&gt;code&lt;/b&gt;', { parse_mode: 'HTML' });
        await bot.api.sendMessage(15, '<b>fine</b> &amp; 3 &lt; 4', { parse_mode: 'HTML' });
      }
      expect(api.violations).toHaveLength(platform === 'telegram' ? 6 : 4);
      expect(() => assertNoFormattingViolations()).toThrow(/would read HTML markup[\s\S]*DCD4-AWAD/);
      // Reported once: the next test starts clean.
      expect(() => assertNoFormattingViolations()).not.toThrow();
    });
  }
});
