import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
// The product's playground parses grammY's uploads the same way; one parser serves both.
import { parseApiBody } from '../../src/playground/multipart.ts';

/**
 * A fake Bot API server that behaves like Telegram (or Bale) for the real bot under test:
 * long-polled getUpdates, messages with keyboards, edits, photos by multipart upload, and the
 * refusals a real server gives: 400 for bad requests, 403 for users who blocked the bot, 429 with
 * retry_after over a rate limit. Simulated users send text, contacts and button presses.
 */

export type FakePlatform = 'telegram' | 'bale';

export interface FakeBotApiOptions {
  platform?: FakePlatform;
  botUsername?: string;
  botId?: number;
  /** Sends (and edits) per second across all chats before 429; default unlimited. */
  rateLimitPerSecond?: number;
  /** Seconds in a 429 answer. */
  retryAfter?: number;
  /** Methods this server lacks (404), e.g. setMyCommands on Bale. */
  unsupported?: string[];
  /** The only token this server accepts; any other gets 401 Unauthorized, as a revoked token does. */
  token?: string;
}

export interface BotMessage {
  message_id: number;
  chat_id: number;
  text?: string;
  caption?: string;
  photo?: boolean;
  photoBytes?: Buffer;
  document?: boolean;
  documentBytes?: Buffer;
  parse_mode?: string;
  reply_markup?: any;
  edits: number;
  deleted: boolean;
  /** Monotonic counter of the last change (creation or edit), for waiters. */
  version: number;
}

export interface ApiCall {
  token: string;
  method: string;
  params: Record<string, unknown>;
  status: number;
  description?: string;
}

interface UserInit {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  phone?: string;
}

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}

const SEND_METHODS = new Set([
  'sendMessage',
  'sendPhoto',
  'sendDocument',
  'editMessageText',
  'editMessageCaption',
  'editMessageReplyMarkup',
  'editMessageMedia',
]);

const ALLOWED_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);
const HTML_LEFTOVER = /<\/?(b|strong|i|em|u|ins|s|strike|del|span|tg-spoiler|a|code|pre|blockquote|tg-emoji)(\s[^>]*)?>|&(lt|gt|amp|quot|#\d+);/;

/** Telegram's HTML parse check: known tags, balanced, and every & or < part of an entity or tag. */
function checkHtml(text: string): string | null {
  const stack: string[] = [];
  const re = /<(\/?)([a-z-]+)((?:\s+[a-z-]+="[^"]*")*)\s*>|&(#\d+|#x[0-9a-f]+|lt|gt|amp|quot);|[<&]/gi;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '<' || m[0] === '&') return `unexpected "${m[0]}" at byte offset ${m.index}`;
    if (m[4] !== undefined) continue;
    const [, closing, tag] = m as unknown as [string, string, string];
    if (!ALLOWED_TAGS.has(tag.toLowerCase())) return `unsupported start tag "${tag}" at byte offset ${m.index}`;
    if (closing) {
      if (stack.pop() !== tag.toLowerCase()) return `unmatched end tag at byte offset ${m.index}, expected "</${stack.at(-1) ?? ''}>", found "</${tag}>"`;
    } else stack.push(tag.toLowerCase());
  }
  return stack.length ? `can't find end tag corresponding to start tag "${stack.at(-1)}"` : null;
}

function chatOfUpdate(update: Record<string, unknown>): number {
  const u = update as { message?: { chat: { id: number } }; callback_query?: { from: { id: number } } };
  return u.message?.chat.id ?? u.callback_query?.from.id ?? 0;
}

function byteLength(s: string) {
  return Buffer.byteLength(s, 'utf8');
}

type Waiter = { pred: (m: BotMessage) => boolean; after: number; resolve: (m: BotMessage) => void };

export class FakeUser {
  readonly messages: BotMessage[] = [];
  readonly callbackAnswers: { callback_query_id: string; text?: string; show_alert?: boolean }[] = [];
  blocked = false;
  private keyboard: any[][] | undefined;
  private waiters: Waiter[] = [];

  constructor(
    private readonly api: FakeBotApi,
    readonly init: UserInit,
  ) {}

  get id() {
    return this.init.id;
  }

  lastMessage(): BotMessage | undefined {
    return this.messages.at(-1);
  }

  replyKeyboard(): any[][] | undefined {
    return this.keyboard;
  }

  block() {
    this.blocked = true;
  }

  unblock() {
    this.blocked = false;
  }

  private holding: { until: Promise<'deliver' | 'drop'>; end: (how: 'deliver' | 'drop') => void } | null = null;

  /** Messages to this chat go unanswered, like a network that stalls, until release() or drop(). */
  hold() {
    let end: (how: 'deliver' | 'drop') => void = () => {};
    const until = new Promise<'deliver' | 'drop'>((resolve) => (end = resolve));
    this.holding = { until, end };
  }

  /** The stalled messages arrive now. */
  release() {
    this.holding?.end('deliver');
    this.holding = null;
  }

  /** The stalled messages are lost (their sender was killed): they never arrive; later ones do. */
  drop() {
    this.holding?.end('drop');
    this.holding = null;
  }

  /** @internal What a send to this chat waits for, while held. */
  heldUntil(): Promise<'deliver' | 'drop'> | null {
    return this.holding?.until ?? null;
  }

  async send(text: string) {
    const entities = text.startsWith('/') ? [{ type: 'bot_command', offset: 0, length: text.split(/\s/)[0]!.length }] : undefined;
    this.api.pushUpdate({ message: this.messageBase({ text, ...(entities ? { entities } : {}) }) });
  }

  /** The user sends a photo (as Telegram delivers it: sizes with file ids), with an optional caption. */
  async sendPhoto(caption?: string, bytes?: Buffer) {
    const id = `user-photo-${this.id}-${Date.now()}`;
    // With bytes, the largest size is a stored file the bot can getFile and download.
    const large = bytes ? this.api.storeFile(bytes) : `${id}-l`;
    this.api.pushUpdate({
      message: this.messageBase({
        photo: [
          { file_id: `${id}-s`, file_unique_id: `${id}-s`, width: 90, height: 90 },
          { file_id: large, file_unique_id: `${id}-l`, width: 1280, height: 1280 },
        ],
        ...(caption ? { caption } : {}),
      }),
    });
  }

  /** The user sends a file (a CSV of codes...): the bot can getFile and download it over HTTP. */
  async sendDocument(bytes: Buffer, fileName: string, caption?: string) {
    const fileId = this.api.storeFile(bytes);
    this.api.pushUpdate({
      message: this.messageBase({
        document: { file_id: fileId, file_unique_id: `u-${fileId}`, file_name: fileName, file_size: bytes.length },
        ...(caption ? { caption } : {}),
      }),
    });
  }

  async sendContact(contact: { phone_number: string; user_id?: number; first_name?: string }) {
    this.api.pushUpdate({
      message: this.messageBase({ contact: { first_name: contact.first_name ?? this.init.first_name, ...contact } }),
    });
  }

  /** Presses the reply keyboard's request_contact button: Telegram sends the user's own contact. */
  async shareContact() {
    const button = this.keyboard?.flat().find((b) => typeof b === 'object' && b.request_contact);
    if (!button) throw new Error(`no request_contact button is shown; keyboard: ${JSON.stringify(this.keyboard)}`);
    if (!this.init.phone) throw new Error('this fake user has no phone');
    await this.sendContact({ phone_number: this.init.phone, user_id: this.id, first_name: this.init.first_name });
  }

  async tapReply(label: string | RegExp) {
    const texts = (this.keyboard ?? []).flat().map((b) => (typeof b === 'string' ? b : b.text) as string);
    const text = texts.find((t) => (typeof label === 'string' ? t === label : label.test(t)));
    if (text === undefined) throw new Error(`no reply button ${String(label)}; shown: ${JSON.stringify(texts)}`);
    await this.send(text);
  }

  /** Presses an inline button by its label on the newest message showing it (or the given one). */
  async press(label: string | RegExp, opts: { messageId?: number } = {}) {
    const matches = (t: string) => (typeof label === 'string' ? t === label : label.test(t));
    const candidates = opts.messageId !== undefined ? this.messages.filter((m) => m.message_id === opts.messageId) : [...this.messages].reverse();
    for (const message of candidates) {
      if (message.deleted) continue;
      const button = ((message.reply_markup?.inline_keyboard ?? []) as any[][]).flat().find((b) => matches(b.text));
      if (button) {
        if (button.callback_data === undefined) throw new Error(`button ${button.text} has no callback_data`);
        return this.pressData(button.callback_data, { messageId: message.message_id });
      }
    }
    const visible = candidates.flatMap((m) => ((m.reply_markup?.inline_keyboard ?? []) as any[][]).flat().map((b) => b.text));
    throw new Error(`no inline button ${String(label)}; visible: ${JSON.stringify(visible)}`);
  }

  /** A callback query with arbitrary data, as an old or foreign button would send. */
  async pressData(data: string, opts: { messageId?: number } = {}) {
    const message = opts.messageId !== undefined ? this.messages.find((m) => m.message_id === opts.messageId) : this.lastMessage();
    if (!message) throw new Error('no message to press a button on');
    this.api.pushUpdate({
      callback_query: {
        id: String(this.api.nextCallbackId()),
        from: this.from(),
        chat_instance: String(this.id),
        message: this.api.toMessage(message),
        data,
      },
    });
  }

  /** Resolves with the first message created or edited after this call that satisfies pred. */
  waitFor(pred: (m: BotMessage) => boolean, timeoutMs = 5000): Promise<BotMessage> {
    const after = this.api.version;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { pred, after, resolve };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const recent = this.messages.slice(-5).map((m) => `#${m.message_id}${m.photo ? ' [photo]' : ''}: ${m.text ?? m.caption ?? ''}`);
        reject(new Error(`no matching message within ${timeoutMs} ms; last messages:\n${recent.join('\n---\n')}`));
      }, timeoutMs);
      waiter.resolve = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push(waiter);
    });
  }

  next(timeoutMs = 5000): Promise<BotMessage> {
    return this.waitFor(() => true, timeoutMs);
  }

  /** Called by the server after a message was created or changed. */
  changed(message: BotMessage) {
    const markup = message.reply_markup;
    if (markup?.keyboard) this.keyboard = markup.keyboard;
    else if (markup?.remove_keyboard) this.keyboard = undefined;
    for (const waiter of [...this.waiters]) {
      if (message.version > waiter.after && waiter.pred(message)) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(message);
      }
    }
  }

  from() {
    const { id, first_name, last_name, username, language_code } = this.init;
    return { id, is_bot: false, first_name, ...(last_name ? { last_name } : {}), ...(username ? { username } : {}), ...(language_code ? { language_code } : {}) };
  }

  private messageBase(extra: Record<string, unknown>) {
    return {
      message_id: this.api.nextUserMessageId(),
      from: this.from(),
      chat: { id: this.id, type: 'private', first_name: this.init.first_name },
      date: Math.floor(Date.now() / 1000),
      ...extra,
    };
  }
}

/** Every fake server started in this worker, for the after-each check of formatting violations. */
const servers = new Set<FakeBotApi>();

/**
 * Throws if any fake server received, since the last call, a text whose reader would see HTML
 * markup: tags or entities without parse_mode, or escaped twice with it. Run after every test (test/support/setup.ts): a send the product swallows (a notification,
 * a campaign row marked failed) still fails the test that caused it.
 */
export function assertNoFormattingViolations() {
  const found: string[] = [];
  for (const server of servers) {
    found.push(...server.violations.splice(0).map((text) => `${server.platform}: ${JSON.stringify(text)}`));
    if (server.isStopped) servers.delete(server);
  }
  if (found.length) throw new Error(`a person would read HTML markup (sent without parse_mode, or escaped twice):\n${found.join('\n')}`);
}

export class FakeBotApi {
  readonly platform: FakePlatform;
  readonly calls: ApiCall[] = [];
  readonly violations: string[] = [];
  version = 0;
  private readonly botUsername: string;
  private readonly botId: number;
  private rateLimit: number;
  private readonly retryAfter: number;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private readonly users = new Map<number, FakeUser>();
  private updates: { update_id: number; [k: string]: unknown }[] = [];
  /** Updates delivered once more (same update_id) on the next getUpdates, whatever the offset. */
  private redeliveries: { update_id: number; [k: string]: unknown }[] = [];
  private updateId = 0;
  private confirmed = 0;
  private pollers: (() => void)[] = [];
  private messageIds = new Map<number, number>();
  private userMessageId = 0;
  private callbackId = 0;
  private sendTimes: number[] = [];
  private blockedUntil = 0;
  private stopped = false;
  private readonly unsupported: Set<string>;
  private readonly files = new Map<string, Buffer>();
  private readonly token: string | undefined;
  /** Webhook mode (after setWebhook): updates are POSTed there instead of waiting for getUpdates. */
  private webhook: { url: string; secretToken?: string } | undefined;
  /** Per chat, the delivery under way: a chat's updates are delivered one after another, in order. */
  private deliveries = new Map<number, Promise<void>>();
  /** Webhook deliveries the club did not answer 200 (each retried until it is). */
  webhookFailures = 0;
  /** Callers (BOT_API_ROOT `<apiRoot>/as/<caller>`) whose calls hang: see freezeCaller. */
  private readonly frozen = new Map<string, { calls: Set<{ method: string; chatId: number | undefined }>; until: Promise<'drop' | 'deliver'>; end: (how: 'drop' | 'deliver') => void }>();
  /** When the first getUpdates arrived (performance.now()): a bot's start-up ends there. */
  firstPollAt: number | undefined;

  constructor(opts: FakeBotApiOptions = {}) {
    this.platform = opts.platform ?? 'telegram';
    this.botUsername = opts.botUsername ?? 'fake_club_bot';
    this.botId = opts.botId ?? 4242;
    this.rateLimit = opts.rateLimitPerSecond ?? Infinity;
    this.retryAfter = opts.retryAfter ?? 1;
    this.unsupported = new Set(opts.unsupported ?? []);
    this.token = opts.token;
  }

  /**
   * Every call of one club process (its BOT_API_ROOT is `apiRoot/as/<caller>`, see callerRoot) but
   * getUpdates hangs from now on, as if that process stalled just before the Bot API saw the call:
   * its updates in flight stop at their next call, so a kill (or a stop) then lands at a known
   * point. The calls then never arrive (dropCaller: the process was killed) or arrive late (thawCaller).
   */
  freezeCaller(caller: string) {
    let end: (how: 'drop' | 'deliver') => void = () => {};
    const until = new Promise<'drop' | 'deliver'>((resolve) => (end = resolve));
    this.frozen.set(caller, { calls: new Set(), until, end });
  }

  /** The calls of a frozen caller now hanging, with the chat each is for. */
  heldCalls(caller: string): { method: string; chatId: number | undefined }[] {
    return [...(this.frozen.get(caller)?.calls ?? [])];
  }

  /** Updates the bot has not confirmed yet (a getUpdates offset above them forgets them). */
  unconfirmed(): number {
    return this.updates.filter((u) => u.update_id > this.confirmed).length;
  }

  /** The frozen caller's hanging calls fail (their connection is cut) and never take effect. */
  dropCaller(caller: string) {
    this.frozen.get(caller)?.end('drop');
    this.frozen.delete(caller);
  }

  /** The frozen caller's hanging calls go through now, and its later ones at once. */
  thawCaller(caller: string) {
    this.frozen.get(caller)?.end('deliver');
    this.frozen.delete(caller);
  }

  /** The BOT_API_ROOT for a club process that freezeCaller can name. */
  callerRoot(caller: string) {
    return `${this.apiRoot}/as/${caller}`;
  }

  private chatOfCall(params: Record<string, unknown>): number | undefined {
    if (params.chat_id !== undefined) return Number(params.chat_id);
    const id = params.callback_query_id === undefined ? undefined : String(params.callback_query_id);
    return id === undefined ? undefined : [...this.users.values()].find((u) => this.pressedBy(u, id))?.id;
  }

  /** Where updates are POSTed in webhook mode, as the bot set it (undefined: long polling). */
  get webhookInfo() {
    return this.webhook;
  }

  /**
   * Webhook mode: POSTs the update as Telegram does (with the secret token header when one was
   * set), and delivers it again after a short wait until the bot answers 200. A chat's updates
   * go one at a time, in order; different chats' go in parallel.
   */
  private deliver(update: { update_id: number; [k: string]: unknown }) {
    const chatId = chatOfUpdate(update);
    const previous = this.deliveries.get(chatId) ?? Promise.resolve();
    const delivery = previous.then(async () => {
      while (!this.stopped && this.webhook) {
        const { url, secretToken } = this.webhook;
        const status = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(secretToken ? { 'x-telegram-bot-api-secret-token': secretToken } : {}) },
          body: JSON.stringify(update),
        }).then(
          async (r) => (await r.arrayBuffer(), r.status),
          () => 0,
        );
        if (status === 200) return;
        this.webhookFailures++;
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    this.deliveries.set(chatId, delivery);
  }

  get apiRoot() {
    return `http://127.0.0.1:${this.port}`;
  }

  get isStopped() {
    return this.stopped;
  }

  async start() {
    servers.add(this);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop() {
    this.stopped = true;
    for (const wake of this.pollers.splice(0)) wake();
    for (const caller of [...this.frozen.keys()]) this.dropCaller(caller);
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      setTimeout(() => {
        for (const s of this.sockets) s.destroy();
      }, 50);
    });
  }

  /** Keeps a user's upload; getFile and /file/bot<token>/<path> serve it back. */
  storeFile(bytes: Buffer): string {
    const id = `file-${this.files.size + 1}-${Date.now()}`;
    this.files.set(id, bytes);
    return id;
  }

  setRateLimit(perSecond: number) {
    this.rateLimit = perSecond;
  }

  user(init: UserInit): FakeUser {
    const user = new FakeUser(this, init);
    this.users.set(init.id, user);
    return user;
  }

  nextUserMessageId() {
    return ++this.userMessageId + 1_000_000;
  }

  nextCallbackId() {
    return ++this.callbackId;
  }

  /** The update_id of the newest update pushed. */
  lastUpdateId() {
    return this.updateId;
  }

  pushUpdate(update: Record<string, unknown>): number {
    const full = { update_id: ++this.updateId, ...update };
    this.updates.push(full);
    if (this.webhook) this.deliver(full);
    for (const wake of this.pollers.splice(0)) wake();
    return this.updateId;
  }

  /**
   * Delivers an update again with the same update_id, as Telegram does when the bot did not confirm
   * it (a crash before the next getUpdates, a webhook answered too late). Default: the newest one.
   */
  redeliver(updateId = this.updateId) {
    const update = this.updates.find((u) => u.update_id === updateId);
    if (!update) throw new Error(`no update ${updateId}`);
    if (this.webhook) return this.deliver(update);
    this.redeliveries.push(update);
    for (const wake of this.pollers.splice(0)) wake();
  }

  toMessage(m: BotMessage) {
    const user = this.users.get(m.chat_id);
    return {
      message_id: m.message_id,
      from: { id: this.botId, is_bot: true, first_name: 'Club', username: this.botUsername },
      chat: { id: m.chat_id, type: 'private', first_name: user?.init.first_name ?? '' },
      date: Math.floor(Date.now() / 1000),
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(m.caption !== undefined ? { caption: m.caption } : {}),
      ...(m.photo ? { photo: [{ file_id: `photo-${m.message_id}`, file_unique_id: `p${m.message_id}`, width: 480, height: 480 }] } : {}),
      ...(m.document ? { document: { file_id: `doc-${m.message_id}`, file_unique_id: `d${m.message_id}` } } : {}),
      ...(m.reply_markup?.inline_keyboard ? { reply_markup: m.reply_markup } : {}),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const download = /^\/file\/bot[^/]+\/documents\/(.+)$/.exec(req.url ?? '');
    if (download) {
      const bytes = this.files.get(decodeURIComponent(download[1]!));
      res.writeHead(bytes ? 200 : 404, { 'content-type': 'application/octet-stream' });
      res.end(bytes ?? '');
      return;
    }
    // `/as/<caller>` before `/bot<token>`: a club process's BOT_API_ROOT names it (see freezeCaller).
    const match = /^(?:\/as\/([\w-]+))?\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? '');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const reply = (status: number, payload: unknown) => {
      if (res.writableEnded) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (!match) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, caller, token, method] = match as unknown as [string, string | undefined, string, string];
    if (this.token !== undefined && token !== this.token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    let params: Record<string, unknown> = {};
    let files: Record<string, Buffer> = {};
    try {
      ({ params, files } = await this.parseBody(req, body));
    } catch {
      return reply(400, { ok: false, error_code: 400, description: 'Bad Request: invalid request body' });
    }
    const frozen = caller !== undefined && method !== 'getUpdates' ? this.frozen.get(caller) : undefined;
    if (frozen) {
      const call = { method, chatId: this.chatOfCall(params) };
      frozen.calls.add(call);
      const how = await frozen.until;
      frozen.calls.delete(call);
      if (how === 'drop') {
        res.destroy();
        return;
      }
    }
    const held = SEND_METHODS.has(method) ? this.users.get(Number(params.chat_id))?.heldUntil() : null;
    if (held && (await held) === 'drop') {
      res.destroy();
      return;
    }
    const call: ApiCall = { token, method, params, status: 200 };
    if (method !== 'getUpdates') this.calls.push(call);
    try {
      const result = await this.dispatch(method, params, files);
      reply(200, { ok: true, result });
    } catch (error) {
      if (!(error instanceof ApiFailure)) throw error;
      call.status = error.status;
      call.description = error.description;
      reply(error.status, {
        ok: false,
        error_code: error.status,
        description: error.description,
        ...(error.parameters ? { parameters: error.parameters } : {}),
      });
    }
  }

  /** The Bot API request's parameters and uploads, read as the playground's emulator reads them. */
  private async parseBody(req: IncomingMessage, body: Buffer) {
    const { params, files } = parseApiBody(body, req.headers['content-type'] ?? '');
    return { params, files: Object.fromEntries(Object.entries(files).map(([name, upload]) => [name, upload.data])) };
  }

  private rateCheck() {
    const now = Date.now();
    if (now < this.blockedUntil) {
      throw new ApiFailure(429, `Too Many Requests: retry after ${Math.ceil((this.blockedUntil - now) / 1000)}`, {
        retry_after: Math.ceil((this.blockedUntil - now) / 1000),
      });
    }
    this.sendTimes = this.sendTimes.filter((t) => t > now - 1000);
    if (this.sendTimes.length >= this.rateLimit) {
      this.blockedUntil = now + this.retryAfter * 1000;
      throw new ApiFailure(429, `Too Many Requests: retry after ${this.retryAfter}`, { retry_after: this.retryAfter });
    }
    this.sendTimes.push(now);
  }

  private chatOf(params: Record<string, unknown>): FakeUser {
    const user = this.users.get(Number(params.chat_id));
    if (!user) throw new ApiFailure(400, 'Bad Request: chat not found');
    if (user.blocked) throw new ApiFailure(403, 'Forbidden: bot was blocked by the user');
    return user;
  }

  private checkFormatting(text: string | undefined, params: Record<string, unknown>) {
    if (params.parse_mode !== undefined && this.platform === 'bale') throw new ApiFailure(400, 'Bad Request: parse_mode is not supported');
    if (text === undefined) return;
    // Without parse_mode a person would read the raw markup (`<b>CODE</b>`, `&amp;`): a real server
    // shows it, this one refuses it (on Bale there is never a parse_mode, so never markup either),
    // and the test that caused it fails (see assertNoFormattingViolations).
    if (params.parse_mode === undefined && HTML_LEFTOVER.test(text)) {
      this.violations.push(text);
      throw new ApiFailure(400, 'Bad Request: HTML markup in a text sent without parse_mode (fake Bot API guard)');
    }
    if (params.parse_mode === 'HTML') {
      const problem = checkHtml(text);
      if (problem) throw new ApiFailure(400, `Bad Request: can't parse entities: ${problem}`);
      // Escaped twice (`&amp;amp;`, `&lt;b&gt;`): Telegram accepts it, and the person reads the markup.
      const rendered = text.replace(/<[^>]+>/g, '').replace(/&(lt|gt|quot|amp);/g, (e) => ({ '&lt;': '<', '&gt;': '>', '&quot;': '"', '&amp;': '&' })[e]!);
      if (HTML_LEFTOVER.test(rendered)) this.violations.push(text);
    } else if (params.parse_mode !== undefined) {
      throw new ApiFailure(400, `Bad Request: unsupported parse_mode ${String(params.parse_mode)}`);
    }
  }

  private checkMarkup(markup: any) {
    for (const button of ((markup?.inline_keyboard ?? []) as any[][]).flat()) {
      if (typeof button?.text !== 'string' || button.text === '') throw new ApiFailure(400, 'Bad Request: text buttons are unallowed in the inline keyboard');
      if (button.callback_data !== undefined && (byteLength(String(button.callback_data)) > 64 || button.callback_data === '')) {
        throw new ApiFailure(400, 'Bad Request: BUTTON_DATA_INVALID');
      }
    }
    if (markup?.keyboard && !Array.isArray(markup.keyboard)) throw new ApiFailure(400, 'Bad Request: field "keyboard" must be an Array');
  }

  private store(user: FakeUser, fields: Partial<BotMessage>): BotMessage {
    const id = (this.messageIds.get(user.id) ?? 0) + 1;
    this.messageIds.set(user.id, id);
    const message: BotMessage = { message_id: id, chat_id: user.id, edits: 0, deleted: false, version: ++this.version, ...fields };
    user.messages.push(message);
    user.changed(message);
    return message;
  }

  private findMessage(user: FakeUser, params: Record<string, unknown>) {
    const message = user.messages.find((m) => m.message_id === Number(params.message_id) && !m.deleted);
    if (!message) throw new ApiFailure(400, 'Bad Request: message to edit not found');
    return message;
  }

  private async dispatch(method: string, params: Record<string, unknown>, files: Record<string, Buffer>): Promise<unknown> {
    if (this.unsupported.has(method)) throw new ApiFailure(404, 'Not Found');
    if (SEND_METHODS.has(method)) this.rateCheck();
    switch (method) {
      case 'getFile': {
        const bytes = this.files.get(String(params.file_id));
        if (!bytes) throw new ApiFailure(400, 'Bad Request: invalid file_id');
        return { file_id: params.file_id, file_unique_id: `u-${String(params.file_id)}`, file_size: bytes.length, file_path: `documents/${String(params.file_id)}` };
      }
      case 'getMe':
        return { id: this.botId, is_bot: true, first_name: 'Club', username: this.botUsername, can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false };
      case 'setWebhook': {
        const url = String(params.url ?? '');
        this.webhook = url ? { url, ...(params.secret_token ? { secretToken: String(params.secret_token) } : {}) } : undefined;
        // Updates that were waiting for getUpdates go to the webhook now, as Telegram does.
        if (this.webhook) for (const u of this.updates.filter((u) => u.update_id > this.confirmed)) this.deliver(u);
        this.confirmed = this.updateId;
        return true;
      }
      case 'deleteWebhook':
        this.webhook = undefined;
        return true;
      case 'getUpdates':
        if (this.webhook) throw new ApiFailure(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
        return this.getUpdates(params);
      case 'setMyCommands':
      case 'setChatMenuButton':
      case 'sendChatAction':
        return true;
      case 'getMyCommands':
        return [];
      case 'sendMessage': {
        const user = this.chatOf(params);
        const text = params.text === undefined ? '' : String(params.text);
        if (text.trim() === '') throw new ApiFailure(400, 'Bad Request: message text is empty');
        if (text.length > 4096) throw new ApiFailure(400, 'Bad Request: message is too long');
        this.checkFormatting(text, params);
        this.checkMarkup(params.reply_markup);
        const message = this.store(user, {
          text,
          ...(params.parse_mode ? { parse_mode: String(params.parse_mode) } : {}),
          ...(params.reply_markup ? { reply_markup: params.reply_markup } : {}),
        });
        return this.toMessage(message);
      }
      case 'sendPhoto':
      case 'sendDocument': {
        const user = this.chatOf(params);
        const field = method === 'sendPhoto' ? 'photo' : 'document';
        const upload = files[field];
        if (!upload && typeof params[field] !== 'string') throw new ApiFailure(400, `Bad Request: there is no ${field} in the request`);
        const caption = params.caption === undefined ? undefined : String(params.caption);
        if (caption !== undefined && caption.length > 1024) throw new ApiFailure(400, 'Bad Request: message caption is too long');
        this.checkFormatting(caption, params);
        this.checkMarkup(params.reply_markup);
        const message = this.store(user, {
          ...(caption !== undefined ? { caption } : {}),
          ...(field === 'photo' ? { photo: true } : { document: true }),
          ...(upload && field === 'photo' ? { photoBytes: upload } : {}),
          ...(upload && field === 'document' ? { documentBytes: upload } : {}),
          ...(params.parse_mode ? { parse_mode: String(params.parse_mode) } : {}),
          ...(params.reply_markup ? { reply_markup: params.reply_markup } : {}),
        });
        return this.toMessage(message);
      }
      case 'editMessageText':
      case 'editMessageCaption':
      case 'editMessageReplyMarkup':
      case 'editMessageMedia': {
        const user = this.chatOf(params);
        const message = this.findMessage(user, params);
        const next: Partial<BotMessage> = {};
        if (method === 'editMessageText') {
          if (message.text === undefined) throw new ApiFailure(400, 'Bad Request: there is no text in the message to edit');
          const text = String(params.text ?? '');
          if (text.trim() === '') throw new ApiFailure(400, 'Bad Request: message text is empty');
          this.checkFormatting(text, params);
          next.text = text;
        } else if (method === 'editMessageCaption') {
          const caption = String(params.caption ?? '');
          this.checkFormatting(caption, params);
          next.caption = caption;
        } else if (method === 'editMessageMedia') {
          next.photo = true;
        }
        this.checkMarkup(params.reply_markup);
        const markup = params.reply_markup ?? (method === 'editMessageReplyMarkup' ? undefined : undefined);
        const sameText = next.text === undefined || next.text === message.text;
        const sameCaption = next.caption === undefined || next.caption === message.caption;
        const sameMarkup = JSON.stringify(markup ?? null) === JSON.stringify(message.reply_markup?.inline_keyboard ? message.reply_markup : null);
        if (method !== 'editMessageMedia' && sameText && sameCaption && sameMarkup) {
          throw new ApiFailure(
            400,
            'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        }
        Object.assign(message, next);
        if (markup) message.reply_markup = markup;
        else delete message.reply_markup;
        message.edits++;
        message.version = ++this.version;
        // A new text or caption is parsed as this edit says; a keyboard edit keeps the old parsing.
        if (method === 'editMessageText' || method === 'editMessageCaption') {
          if (params.parse_mode) message.parse_mode = String(params.parse_mode);
          else delete message.parse_mode;
        }
        user.changed(message);
        return this.toMessage(message);
      }
      case 'deleteMessage': {
        const user = this.chatOf(params);
        const message = user.messages.find((m) => m.message_id === Number(params.message_id) && !m.deleted);
        if (!message) throw new ApiFailure(400, 'Bad Request: message to delete not found');
        message.deleted = true;
        return true;
      }
      case 'answerCallbackQuery': {
        const id = String(params.callback_query_id ?? '');
        const user = [...this.users.values()].find((u) => this.pressedBy(u, id));
        if (!user) throw new ApiFailure(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        if (user.callbackAnswers.some((a) => a.callback_query_id === id)) {
          throw new ApiFailure(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        }
        user.callbackAnswers.push({
          callback_query_id: id,
          ...(params.text !== undefined ? { text: String(params.text) } : {}),
          ...(params.show_alert !== undefined ? { show_alert: Boolean(params.show_alert) } : {}),
        });
        return true;
      }
      default:
        throw new ApiFailure(404, 'Not Found');
    }
  }

  private pressedBy(user: FakeUser, callbackId: string) {
    return this.updates.some(
      (u) => (u.callback_query as { id?: string; from?: { id: number } } | undefined)?.id === callbackId && (u.callback_query as { from: { id: number } }).from.id === user.id,
    );
  }

  private async getUpdates(params: Record<string, unknown>) {
    this.firstPollAt ??= performance.now();
    const offset = Number(params.offset ?? 0);
    if (offset > 0) this.confirmed = Math.max(this.confirmed, offset - 1);
    const limit = Math.min(Number(params.limit ?? 100), 100);
    const timeout = Number(params.timeout ?? 0);
    // Redeliveries come first, so the offset the bot derives from the batch's last update still moves on.
    const pending = () => [...this.redeliveries, ...this.updates.filter((u) => u.update_id > this.confirmed)].slice(0, limit);
    if (pending().length === 0 && timeout > 0 && !this.stopped) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeout * 1000);
        this.pollers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.stopped) return [];
    const batch = pending();
    this.redeliveries = this.redeliveries.filter((u) => !batch.includes(u));
    return batch;
  }
}
