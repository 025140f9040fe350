import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { Api } from 'grammy';

/** What grammY's client reads of a response (it only ever calls `json()`), and a file's bytes (downloadFile). */
interface BotApiResponse {
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
  bytes(): Promise<Buffer>;
}

interface BotApiRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Readable;
  signal?: { aborted: boolean; addEventListener(type: 'abort', listener: () => void): void; removeEventListener(type: 'abort', listener: () => void): void } | null;
}

class AbortError extends Error {
  override name = 'AbortError';
  constructor() {
    super('The operation was aborted.');
  }
}

/**
 * The Bot API client's HTTP, straight on Node's http module (issue 14). grammY hands its `fetch`
 * option a URL and a POST with a JSON string (or a multipart stream for files) and reads
 * `res.json()`. Its default on Node, node-fetch, builds a WHATWG Request, Headers and body streams
 * around every call: in `npm run bench:updates` that plumbing was the largest share of the club's
 * CPU per update. Here a call is one `http.request` on a keep-alive agent: the proxy agent when
 * Telegram is reached through one (network.ts), else one agent per API root.
 */
export function botApiFetch(apiRoot: string, proxyAgent?: HttpAgent): typeof fetch {
  const secure = apiRoot.startsWith('https:');
  const request = secure ? httpsRequest : httpRequest;
  const agent = proxyAgent ?? (secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }));
  const call = (url: string | URL, init: BotApiRequest = {}) =>
    new Promise<BotApiResponse>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(new AbortError());
      const req = request(url, { method: init.method ?? 'GET', headers: init.headers, agent }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          resolve({
            ok: status >= 200 && status < 300,
            status,
            json: () => Promise.resolve().then(() => JSON.parse(bytes.toString('utf8')) as unknown),
            bytes: () => Promise.resolve(bytes),
          });
        });
      });
      function fail(error: Error) {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      }
      function onAbort() {
        req.destroy(new AbortError());
      }
      signal?.addEventListener('abort', onAbort);
      req.on('error', fail);
      const body = init.body;
      if (body === undefined || typeof body === 'string') req.end(body);
      else {
        body.on('error', (error: Error) => req.destroy(error));
        body.pipe(req);
      }
    });
  return call as unknown as typeof fetch;
}

/**
 * A file a member or the owner sent, downloaded with the bot's own client: through the proxy when
 * Telegram is reached through one (global fetch would go direct, and fail in Iran). Null when the
 * platform does not give it, or when it is larger than `maxBytes`.
 */
export async function downloadFile(api: Api, fileId: string, maxBytes = Infinity): Promise<Buffer | null> {
  const file = await api.getFile(fileId);
  if (!file.file_path || (file.file_size ?? 0) > maxBytes) return null;
  const apiRoot = api.options?.apiRoot ?? 'https://api.telegram.org';
  const url = `${apiRoot}/file/bot${api.token}/${file.file_path}`;
  // The club's every Api carries botApiFetch (with the proxy agent when there is one).
  const own = (api.options?.fetch ?? botApiFetch(apiRoot)) as unknown as (url: string) => Promise<BotApiResponse>;
  const response = await own(url);
  return response.ok ? response.bytes() : null;
}
