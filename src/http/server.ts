import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** One webhook route: the update's JSON is handed over; the answer is sent once it is handled. */
export interface WebhookRoute {
  path: string;
  /** Telegram's X-Telegram-Bot-Api-Secret-Token, checked on every request (Bale sends none). */
  secretToken?: string;
  handle(update: unknown): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface HttpServerOptions {
  port: number;
  host?: string;
  logger: Logger;
  registry: Registry;
  readiness(): Promise<Readiness>;
  webhooks: WebhookRoute[];
}

export interface RunningHttpServer {
  port: number;
  /** Stops taking requests, then waits for the webhook updates in flight. */
  close(): Promise<void>;
}

/** Webhook bodies are updates: a few KB. Anything much larger is not from the platform. */
const MAX_BODY = 1 << 20;

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

/**
 * Health, readiness, Prometheus metrics and the webhook routes, on PORT. A webhook request is
 * answered 200 only after its update was handled: an update whose process dies before that is
 * delivered again by the platform (and the club handles each update_id once).
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { logger } = options;
  const routes = new Map(options.webhooks.map((w) => [w.path, w]));
  const inFlight = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  let closing = false;

  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method === 'GET' && path === '/healthz') return send(res, 200, 'ok\n');
      if (req.method === 'GET' && path === '/readyz') {
        const readiness = await options.readiness();
        return send(res, readiness.ready ? 200 : 503, `${JSON.stringify(readiness)}\n`, 'application/json');
      }
      if (req.method === 'GET' && path === '/metrics') {
        return send(res, 200, await options.registry.metrics(), options.registry.contentType);
      }
      const route = routes.get(path);
      if (!route || req.method !== 'POST') return send(res, 404, 'not found\n');
      if (route.secretToken !== undefined && req.headers['x-telegram-bot-api-secret-token'] !== route.secretToken) {
        logger.warn({ path: path.replace(/[^/]+$/, '…') }, 'webhook request without the right secret token refused');
        return send(res, 401, 'unauthorized\n');
      }
      // Stopping: the platform delivers this update again, to a process that is not stopping.
      if (closing) return send(res, 503, 'stopping\n');
      const body = await readBody(req);
      let update: unknown;
      try {
        update = body && JSON.parse(body.toString('utf8'));
      } catch {
        update = undefined;
      }
      if (!update || typeof update !== 'object') return send(res, 400, 'bad update\n');
      const handling = route.handle(update);
      inFlight.add(handling);
      try {
        await handling;
        send(res, 200, '');
      } catch (error) {
        logger.error({ err: error }, 'webhook update failed; the platform will deliver it again');
        send(res, 500, 'failed\n');
      } finally {
        inFlight.delete(handling);
      }
    })().catch((error: unknown) => {
      logger.error({ err: error }, 'http request failed');
      send(res, 500, 'failed\n');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, webhooks: options.webhooks.length }, 'http server listening (/healthz, /readyz, /metrics)');
  return {
    port,
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.allSettled([...inFlight]);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
