import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { LOCALES_DIR } from '../bot/i18n.ts';
import { ApiError, type ChatState } from './emulator.ts';
import { parseApiBody, readBody } from './multipart.ts';
import { Playground, type Language, type PlaygroundOptions } from './playground.ts';

const PUBLIC_DIR = path.join(import.meta.dirname, 'public');
const FONT = path.resolve(import.meta.dirname, '../../node_modules/vazirmatn/fonts/webfonts/Vazirmatn[wght].woff2');
const STATIC: Record<string, [string, string]> = {
  '/': [path.join(PUBLIC_DIR, 'index.html'), 'text/html; charset=utf-8'],
  '/app.js': [path.join(PUBLIC_DIR, 'app.js'), 'text/javascript; charset=utf-8'],
  '/render.js': [path.join(PUBLIC_DIR, 'render.js'), 'text/javascript; charset=utf-8'],
  '/style.css': [path.join(PUBLIC_DIR, 'style.css'), 'text/css; charset=utf-8'],
  '/vazirmatn.woff2': [FONT, 'font/woff2'],
};

export interface RunningPlayground {
  playground: Playground;
  url: string;
  stop(): Promise<void>;
}

/**
 * One HTTP server for both sides: the Bot API the club calls (/bot<token>/<method>) and the page
 * with its JSON actions and its event stream (/api/...). The club is started after the server
 * listens, as it calls getMe at once.
 */
export async function startPlayground(options: PlaygroundOptions): Promise<RunningPlayground> {
  const playground = new Playground(options);
  const streams = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    handle(playground, streams, req, res).catch((error: unknown) => {
      if (error instanceof ApiError) return json(res, error.status, { ok: false, error_code: error.status, description: error.description });
      options.logger.error({ err: error, url: req.url }, 'playground request failed');
      json(res, 500, { ok: false, error_code: 500, description: 'Internal Server Error' });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const broadcast = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of streams) res.write(frame);
  };
  playground.emulator.on('chat', (chat: ChatState) => broadcast('chat', playground.chatView(chat)));
  playground.emulator.on('toast', (toast: unknown) => broadcast('toast', toast));
  playground.emulator.on('personas', () => broadcast('state', playground.state()));
  playground.emulator.on('clock', () => broadcast('state', playground.state()));
  playground.emulator.on('refused', (refusal: unknown) => options.logger.warn(refusal, 'the emulator refused a Bot API call, as Telegram or Bale would'));
  const keepAlive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, 15_000);
  const close = async () => {
    clearInterval(keepAlive);
    for (const res of streams) res.end();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, 100);
    });
  };
  try {
    await playground.start(`http://127.0.0.1:${port}`);
  } catch (error) {
    await playground.stop().catch(() => undefined);
    await close();
    throw error;
  }
  return {
    playground,
    url: `http://localhost:${port}`,
    async stop() {
      // The bots stop polling first (the emulator answers their pending getUpdates), then the server closes.
      await playground.stop();
      await close();
    },
  };
}

function json(res: ServerResponse, status: number, payload: unknown) {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(payload));
}

async function bodyJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ApiError(400, 'invalid JSON');
  }
}

async function handle(playground: Playground, streams: Set<ServerResponse>, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://playground');
  const { emulator } = playground;

  const api = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
  if (api) {
    const body = await readBody(req);
    let parsed;
    try {
      parsed = parseApiBody(body, req.headers['content-type'] ?? '');
    } catch {
      return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: invalid request body' });
    }
    const result = await emulator.call(api[1]!, api[2]!, parsed.params, parsed.files);
    return json(res, 200, { ok: true, result });
  }

  const media = /^\/(?:media|file\/bot[^/]+\/media)\/([A-Za-z0-9]+)$/.exec(url.pathname);
  if (media && req.method === 'GET') {
    const file = emulator.getMedia(media[1]!);
    if (!file) return json(res, 404, { ok: false, description: 'Not Found' });
    const headers: Record<string, string> = { 'content-type': file.type, 'cache-control': 'private, max-age=3600' };
    if (url.searchParams.has('download')) headers['content-disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`;
    res.writeHead(200, headers);
    return res.end(file.data);
  }

  const file = STATIC[url.pathname];
  if (file && req.method === 'GET') {
    res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-cache' });
    return res.end(await readFile(file[0]));
  }

  if (url.pathname === '/api/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`event: state\ndata: ${JSON.stringify(playground.state())}\n\n`);
    streams.add(res);
    req.on('close', () => streams.delete(res));
    return;
  }
  if (url.pathname === '/api/state') return json(res, 200, playground.state());
  if (url.pathname === '/api/strings') {
    const language = url.searchParams.get('lang') === 'en' ? 'en' : 'fa';
    const locale = JSON.parse(await readFile(path.join(LOCALES_DIR, `${language}.json`), 'utf8')) as { playground: Record<string, string> };
    return json(res, 200, locale.playground);
  }

  if (req.method !== 'POST') return json(res, 404, { ok: false, description: 'Not Found' });
  const body = await bodyJson(req);
  const chatAction = /^\/api\/chats\/([a-z]+:\d+)\/([a-z]+)$/.exec(url.pathname);
  if (chatAction) {
    const [, key, action] = chatAction as unknown as [string, string, string];
    switch (action) {
      case 'send':
        emulator.sendText(key, String(body.text ?? ''));
        return json(res, 200, { ok: true });
      case 'contact':
        emulator.shareContact(key);
        return json(res, 200, { ok: true });
      case 'press':
        emulator.press(key, Number(body.messageId), String(body.data ?? ''));
        return json(res, 200, { ok: true });
      case 'scan':
        return json(res, 200, { ok: true, payload: playground.scan(key, String(body.from ?? '')) });
      case 'open':
        return json(res, 200, { ok: true, payload: playground.openLink(key, String(body.url ?? '')) });
    }
  }
  switch (url.pathname) {
    case '/api/customers':
      return json(res, 200, { ok: true, persona: playground.addCustomer() });
    case '/api/language': {
      const language: Language = body.language === 'en' ? 'en' : 'fa';
      await playground.setLanguage(language);
      return json(res, 200, { ok: true, language });
    }
    case '/api/clock':
      return json(res, 200, { ok: true, ...(await playground.fastForward(Number(body.days))), now: playground.clock.now().toISOString() });
    case '/api/seed':
      return json(res, 200, { ok: true, ...(await playground.seed()) });
  }
  return json(res, 404, { ok: false, description: 'Not Found' });
}
