import { Agent as HttpAgent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, GrammyError, HttpError, InputFile } from 'grammy';
import { botApiFetch, downloadFile } from '../../src/bot/http.ts';

/**
 * The Bot API client's HTTP (src/bot/http.ts) under grammY's own client: what grammY does with
 * node-fetch it must do with this, answers and failures alike. A real server on a local port,
 * answering as the Bot API does, or not answering at all.
 */
describe('the Bot API client on Node’s http module', () => {
  let server: Server;
  let root: string;
  const seen: { method: string; contentType: string; body: string }[] = [];
  const hanging = new Set<ServerResponse>();
  /** A file's bytes, not valid UTF-8: a download must not decode them. */
  const FILE = Buffer.from([0xff, 0x00, 0xd8, 0x80, 0x41]);

  beforeAll(async () => {
    server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/file/bot1:TOKEN/documents/a.bin') return void res.end(FILE);
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      const method = req.url!.split('/').pop()!;
      seen.push({ method, contentType: req.headers['content-type'] ?? '', body });
      if (method === 'getMe') return void res.end(JSON.stringify({ ok: true, result: { id: 1, is_bot: true, first_name: 'باشگاه', username: 'club_bot' } }));
      if (method === 'sendMessage') {
        const params = JSON.parse(body) as { chat_id: number; text: string };
        if (params.chat_id === 403) {
          res.writeHead(403, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' }));
        }
        return void res.end(JSON.stringify({ ok: true, result: { message_id: 9, date: 0, chat: { id: params.chat_id, type: 'private' }, text: params.text } }));
      }
      if (method === 'getFile') return void res.end(JSON.stringify({ ok: true, result: { file_id: 'f', file_unique_id: 'u', file_size: FILE.length, file_path: 'documents/a.bin' } }));
      if (method === 'sendPhoto') return void res.end(JSON.stringify({ ok: true, result: { message_id: 10, date: 0, chat: { id: 1, type: 'private' } } }));
      if (method === 'getChat') {
        res.writeHead(502, { 'content-type': 'text/html' });
        return void res.end('<html>Bad Gateway</html>');
      }
      // getUpdates: never answers (a black hole), until the test ends.
      hanging.add(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const api = (options: { timeoutSeconds?: number } = {}) => new Api('1:TOKEN', { apiRoot: root, fetch: botApiFetch(root), ...options });

  it('sends JSON and reads the answer, Persian text intact, over one kept-alive connection', async () => {
    const client = api();
    const me = await client.getMe();
    expect(me.first_name).toBe('باشگاه');
    const sent = await client.sendMessage(42, 'سلام <b>۱۲۳</b>', { parse_mode: 'HTML', reply_markup: { inline_keyboard: [[{ text: 'امتیاز', callback_data: 'p' }]] } });
    expect(sent.text).toBe('سلام <b>۱۲۳</b>');
    const last = seen.at(-1)!;
    expect(last.contentType).toBe('application/json');
    expect(JSON.parse(last.body)).toMatchObject({ chat_id: 42, parse_mode: 'HTML', reply_markup: { inline_keyboard: [[{ text: 'امتیاز' }]] } });
  });

  it('a refusal is a GrammyError with the code and description the API gave', async () => {
    const error = await api().sendMessage(403, 'hi').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrammyError);
    expect((error as GrammyError).error_code).toBe(403);
    expect((error as GrammyError).description).toContain('blocked');
  });

  it('an answer that is not JSON (a proxy’s error page) is an HttpError, not a crash', async () => {
    const error = await api().getChat(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
  });

  it('uploads a file as a multipart stream', async () => {
    await api().sendPhoto(1, new InputFile(Buffer.from('PNG-bytes-here'), 'card.png'), { caption: 'کارت' });
    const last = seen.at(-1)!;
    expect(last.method).toBe('sendPhoto');
    expect(last.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(last.body).toContain('PNG-bytes-here');
    expect(last.body).toContain('کارت');
  });

  it('gives up on an API that never answers, at grammY’s timeout and at an abort', async () => {
    const started = Date.now();
    const timedOut = await api({ timeoutSeconds: 1 }).getUpdates({ timeout: 0 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(HttpError);
    expect(Date.now() - started).toBeLessThan(10_000);

    const controller = new AbortController();
    const pending = api().getUpdates({ timeout: 30 }, controller.signal as never).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    expect(await pending).toBeInstanceOf(HttpError);
  });

  it('downloads a file byte for byte through the client’s agent (the proxy’s, for Telegram in Iran), and not one over the limit', async () => {
    let connections = 0;
    class CountingAgent extends HttpAgent {
      override createConnection(...args: Parameters<HttpAgent['createConnection']>) {
        connections++;
        return super.createConnection(...args);
      }
    }
    const client = new Api('1:TOKEN', { apiRoot: root, fetch: botApiFetch(root, new CountingAgent({ keepAlive: true })) });
    expect(await downloadFile(client, 'f')).toEqual(FILE);
    expect(connections).toBeGreaterThan(0);
    expect(await downloadFile(client, 'f', FILE.length - 1)).toBeNull();
  });

  it('an unreachable API fails the call instead of hanging', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const deadRoot = `http://127.0.0.1:${port}`;
    const error = await new Api('1:TOKEN', { apiRoot: deadRoot, fetch: botApiFetch(deadRoot) }).getMe().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
  });
});
