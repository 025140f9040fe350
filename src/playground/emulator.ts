import { EventEmitter } from 'node:events';
import type { Upload } from './multipart.ts';

/**
 * A Bot API server in memory, for the playground: the real club talks to it over HTTP as it would
 * to Telegram or Bale (one bot token per platform), and people in the browser are its users.
 * It speaks the part of the Bot API the club uses and refuses what the real servers refuse
 * (parse_mode on Bale, bad HTML, an edit that changes nothing), so what the page shows is what a
 * messenger would show. Every change is emitted as a `chat` event (the page gets it by SSE).
 */

export type PlaygroundPlatform = 'telegram' | 'bale';

export interface BotIdentity {
  token: string;
  platform: PlaygroundPlatform;
  id: number;
  username: string;
  firstName: string;
}

export interface Button {
  text: string;
  callback_data?: string;
  url?: string;
  request_contact?: boolean;
  [k: string]: unknown;
}

export interface ChatMessage {
  id: number;
  from: 'bot' | 'user';
  /** Unix seconds on the playground's clock. */
  date: number;
  text?: string;
  caption?: string;
  /** Sent with parse_mode HTML: the page renders Telegram's tag subset. */
  html?: boolean;
  /** Media id of a photo (GET /media/<id>). */
  photo?: string;
  document?: { media: string; name: string };
  /** The phone number the user shared. */
  contact?: string;
  inline?: Button[][];
  edited?: boolean;
  deleted?: boolean;
}

export interface UserInfo {
  id: number;
  firstName: string;
  languageCode: string;
  phone: string;
}

export interface ChatState {
  key: string;
  platform: PlaygroundPlatform;
  user: UserInfo;
  messages: ChatMessage[];
  replyKeyboard?: Button[][];
  /** A chat the club opened on its own (a seeded member): kept, never shown. */
  hidden: boolean;
}

export interface Media {
  data: Buffer;
  name: string;
  type: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
  ) {
    super(description);
  }
}

// Update ids start from the wall clock: the club remembers handled ids across restarts (handled_updates).
type Update = { update_id: number; [k: string]: unknown };

interface BotQueue {
  bot: BotIdentity;
  updates: Update[];
  nextId: number;
  confirmed: number;
  pollers: (() => void)[];
  callbacks: Map<string, { chat: string; answered: boolean }>;
}

const ALLOWED_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);

/** Telegram's HTML parse check: known tags, balanced, every & or < part of an entity or tag. */
function htmlProblem(text: string): string | null {
  const stack: string[] = [];
  const re = /<(\/?)([a-z-]+)((?:\s+[a-z-]+="[^"]*")*)\s*>|&(#\d+|#x[0-9a-f]+|lt|gt|amp|quot);|[<&]/gi;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '<' || m[0] === '&') return `unexpected "${m[0]}" at byte offset ${m.index}`;
    if (m[4] !== undefined) continue;
    const closing = m[1];
    const tag = m[2]!.toLowerCase();
    if (!ALLOWED_TAGS.has(tag)) return `unsupported start tag "${tag}"`;
    if (closing) {
      if (stack.pop() !== tag) return `unmatched end tag "${tag}"`;
    } else stack.push(tag);
  }
  return stack.length ? `can't find end tag corresponding to start tag "${stack.at(-1)}"` : null;
}

const MEDIA_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', csv: 'text/csv', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', txt: 'text/plain', pdf: 'application/pdf' };

export class BotApiEmulator extends EventEmitter {
  private readonly queues = new Map<string, BotQueue>();
  private readonly chats = new Map<string, ChatState>();
  private readonly media = new Map<string, Media>();
  private callbackId = 0;
  private stopped = false;

  constructor(
    bots: BotIdentity[],
    /** The playground's clock: message dates follow a fast-forward. */
    private readonly now: () => Date = () => new Date(),
  ) {
    super();
    this.setMaxListeners(100);
    for (const bot of bots) this.queues.set(bot.token, { bot, updates: [], nextId: Date.now(), confirmed: 0, pollers: [], callbacks: new Map() });
  }

  static key(platform: PlaygroundPlatform, userId: number) {
    return `${platform}:${userId}`;
  }

  bot(platform: PlaygroundPlatform): BotIdentity {
    const queue = [...this.queues.values()].find((q) => q.bot.platform === platform);
    if (!queue) throw new Error(`no ${platform} bot`);
    return queue.bot;
  }

  /** A person in the browser: their chat with the platform's bot. */
  addUser(platform: PlaygroundPlatform, user: UserInfo): ChatState {
    const key = BotApiEmulator.key(platform, user.id);
    const existing = this.chats.get(key);
    if (existing) {
      existing.user = user;
      existing.hidden = false;
      return existing;
    }
    const chat: ChatState = { key, platform, user, messages: [], hidden: false };
    this.chats.set(key, chat);
    return chat;
  }

  chat(key: string): ChatState | undefined {
    return this.chats.get(key);
  }

  getMedia(id: string): Media | undefined {
    return this.media.get(id);
  }

  stop() {
    this.stopped = true;
    for (const q of this.queues.values()) for (const wake of q.pollers.splice(0)) wake();
  }

  // ---- what the people in the browser do ----

  sendText(key: string, text: string) {
    const chat = this.requireChat(key);
    const trimmed = text.trim();
    if (trimmed === '') throw new ApiError(400, 'empty message');
    const command = /^\/[A-Za-z0-9_]+/.exec(trimmed);
    const message = this.storeUser(chat, { text: trimmed });
    this.push(chat, {
      message: { ...this.userMessage(chat, message.id), text: trimmed, ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}) },
    });
  }

  /** The reply keyboard's "share my phone number": the messenger sends the user's own contact. */
  shareContact(key: string) {
    const chat = this.requireChat(key);
    const message = this.storeUser(chat, { contact: chat.user.phone });
    this.push(chat, {
      message: { ...this.userMessage(chat, message.id), contact: { phone_number: chat.user.phone, first_name: chat.user.firstName, user_id: chat.user.id } },
    });
  }

  press(key: string, messageId: number, data: string) {
    const chat = this.requireChat(key);
    const message = chat.messages.find((m) => m.id === messageId && !m.deleted);
    if (!message) throw new ApiError(404, 'message not found');
    const id = `${++this.callbackId}`;
    const queue = this.queueOf(chat.platform);
    queue.callbacks.set(id, { chat: key, answered: false });
    this.push(chat, {
      callback_query: { id, from: this.from(chat), chat_instance: key, message: this.toMessage(chat, message), data },
    });
  }

  // ---- the Bot API the club calls ----

  /** Calls refused with 400 (bad HTML, parse_mode on Bale…), "not modified" aside: a bug in the club. */
  readonly refusals: { method: string; description: string }[] = [];

  async call(token: string, method: string, params: Record<string, unknown>, files: Record<string, Upload>): Promise<unknown> {
    try {
      return await this.dispatch(token, method, params, files);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && !error.description.includes('not modified')) {
        this.refusals.push({ method, description: error.description });
        this.emit('refused', { method, description: error.description });
      }
      throw error;
    }
  }

  private async dispatch(token: string, method: string, params: Record<string, unknown>, files: Record<string, Upload>): Promise<unknown> {
    const queue = this.queues.get(token);
    if (!queue) throw new ApiError(401, 'Unauthorized');
    const { bot } = queue;
    switch (method) {
      case 'getMe':
        return { id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username, can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false };
      case 'getUpdates':
        return this.getUpdates(queue, params);
      case 'deleteWebhook':
      case 'setWebhook':
      case 'setMyCommands':
      case 'deleteMyCommands':
      case 'setChatMenuButton':
      case 'sendChatAction':
        return true;
      case 'getMyCommands':
        return [];
      case 'getFile': {
        const id = String(params.file_id ?? '');
        const media = this.media.get(id);
        if (!media) throw new ApiError(400, 'Bad Request: invalid file_id');
        return { file_id: id, file_unique_id: `u-${id}`, file_size: media.data.length, file_path: `media/${id}` };
      }
      case 'sendMessage': {
        const chat = this.chatFor(bot, params);
        const text = String(params.text ?? '');
        if (text.trim() === '') throw new ApiError(400, 'Bad Request: message text is empty');
        if (text.length > 4096) throw new ApiError(400, 'Bad Request: message is too long');
        const html = this.checkFormatting(bot, text, params);
        const message = this.storeBot(chat, { text, ...(html ? { html } : {}) }, params.reply_markup);
        return this.toMessage(chat, message);
      }
      case 'sendPhoto':
      case 'sendDocument': {
        const chat = this.chatFor(bot, params);
        const field = method === 'sendPhoto' ? 'photo' : 'document';
        const upload = files[field];
        if (!upload) throw new ApiError(400, `Bad Request: there is no ${field} in the request`);
        const caption = params.caption === undefined ? undefined : String(params.caption);
        if (caption !== undefined && caption.length > 1024) throw new ApiError(400, 'Bad Request: message caption is too long');
        const html = this.checkFormatting(bot, caption, params);
        const name = upload.filename ?? (field === 'photo' ? 'photo.png' : 'file');
        const mediaId = this.storeMedia(upload.data, name);
        const message = this.storeBot(
          chat,
          { ...(caption !== undefined ? { caption } : {}), ...(html ? { html } : {}), ...(field === 'photo' ? { photo: mediaId } : { document: { media: mediaId, name } }) },
          params.reply_markup,
        );
        return this.toMessage(chat, message);
      }
      case 'editMessageText':
      case 'editMessageCaption':
      case 'editMessageReplyMarkup': {
        const chat = this.chatFor(bot, params);
        const message = chat.messages.find((m) => m.from === 'bot' && m.id === Number(params.message_id) && !m.deleted);
        if (!message) throw new ApiError(400, 'Bad Request: message to edit not found');
        const before = JSON.stringify([message.text, message.caption, message.inline ?? null]);
        if (method === 'editMessageText') {
          if (message.text === undefined) throw new ApiError(400, 'Bad Request: there is no text in the message to edit');
          const text = String(params.text ?? '');
          if (text.trim() === '') throw new ApiError(400, 'Bad Request: message text is empty');
          message.html = this.checkFormatting(bot, text, params);
          message.text = text;
        } else if (method === 'editMessageCaption') {
          const caption = String(params.caption ?? '');
          message.html = this.checkFormatting(bot, caption, params);
          message.caption = caption;
        }
        const markup = params.reply_markup as { inline_keyboard?: Button[][] } | undefined;
        if (markup?.inline_keyboard) message.inline = markup.inline_keyboard;
        else delete message.inline;
        if (JSON.stringify([message.text, message.caption, message.inline ?? null]) === before) {
          throw new ApiError(400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
        }
        message.edited = true;
        this.changed(chat);
        return this.toMessage(chat, message);
      }
      case 'deleteMessage': {
        const chat = this.chatFor(bot, params);
        const message = chat.messages.find((m) => m.id === Number(params.message_id) && !m.deleted);
        if (!message) throw new ApiError(400, 'Bad Request: message to delete not found');
        message.deleted = true;
        this.changed(chat);
        return true;
      }
      case 'answerCallbackQuery': {
        const id = String(params.callback_query_id ?? '');
        const query = queue.callbacks.get(id);
        if (!query || query.answered) throw new ApiError(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        query.answered = true;
        if (params.text !== undefined && String(params.text) !== '') {
          this.emit('toast', { key: query.chat, text: String(params.text), alert: Boolean(params.show_alert) });
        }
        return true;
      }
      default:
        throw new ApiError(404, 'Not Found');
    }
  }

  // ---- internals ----

  private requireChat(key: string): ChatState {
    const chat = this.chats.get(key);
    if (!chat) throw new ApiError(404, 'no such chat');
    return chat;
  }

  private queueOf(platform: PlaygroundPlatform): BotQueue {
    return [...this.queues.values()].find((q) => q.bot.platform === platform)!;
  }

  /** The chat a call names; one the club opens on its own (a seeded member) is kept out of sight. */
  private chatFor(bot: BotIdentity, params: Record<string, unknown>): ChatState {
    const userId = Number(params.chat_id);
    if (!Number.isSafeInteger(userId)) throw new ApiError(400, 'Bad Request: chat not found');
    const key = BotApiEmulator.key(bot.platform, userId);
    let chat = this.chats.get(key);
    if (!chat) {
      chat = { key, platform: bot.platform, user: { id: userId, firstName: '', languageCode: 'fa', phone: '' }, messages: [], hidden: true };
      this.chats.set(key, chat);
    }
    // Nobody reads a hidden chat: keep only its last messages.
    if (chat.hidden && chat.messages.length > 20) chat.messages.splice(0, chat.messages.length - 20);
    return chat;
  }

  /** Bale has no parse_mode; on Telegram, HTML must parse. Returns whether the text is HTML. */
  private checkFormatting(bot: BotIdentity, text: string | undefined, params: Record<string, unknown>): boolean {
    if (params.parse_mode === undefined) return false;
    if (bot.platform === 'bale') throw new ApiError(400, 'Bad Request: parse_mode is not supported');
    if (params.parse_mode !== 'HTML') throw new ApiError(400, `Bad Request: unsupported parse_mode ${String(params.parse_mode)}`);
    const problem = text === undefined ? null : htmlProblem(text);
    if (problem) throw new ApiError(400, `Bad Request: can't parse entities: ${problem}`);
    return true;
  }

  private storeMedia(data: Buffer, name: string): string {
    const id = `m${this.media.size + 1}`;
    const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
    this.media.set(id, { data, name, type: MEDIA_TYPES[ext] ?? 'application/octet-stream' });
    return id;
  }

  private nextMessageId(chat: ChatState) {
    return (chat.messages.at(-1)?.id ?? 0) + 1;
  }

  private storeUser(chat: ChatState, fields: Partial<ChatMessage>): ChatMessage {
    const message: ChatMessage = { id: this.nextMessageId(chat), from: 'user', date: this.unixNow(), ...fields };
    chat.messages.push(message);
    this.changed(chat);
    return message;
  }

  private storeBot(chat: ChatState, fields: Partial<ChatMessage>, markup: unknown): ChatMessage {
    const m = markup as { inline_keyboard?: Button[][]; keyboard?: (Button | string)[][]; remove_keyboard?: boolean } | undefined;
    const message: ChatMessage = { id: this.nextMessageId(chat), from: 'bot', date: this.unixNow(), ...fields, ...(m?.inline_keyboard ? { inline: m.inline_keyboard } : {}) };
    if (m?.keyboard) chat.replyKeyboard = m.keyboard.map((row) => row.map((b) => (typeof b === 'string' ? { text: b } : b)));
    else if (m?.remove_keyboard) delete chat.replyKeyboard;
    chat.messages.push(message);
    this.changed(chat);
    return message;
  }

  private changed(chat: ChatState) {
    if (!chat.hidden) this.emit('chat', chat);
  }

  private unixNow() {
    return Math.floor(this.now().getTime() / 1000);
  }

  private from(chat: ChatState) {
    return { id: chat.user.id, is_bot: false, first_name: chat.user.firstName, language_code: chat.user.languageCode };
  }

  private userMessage(chat: ChatState, messageId: number) {
    return { message_id: messageId, from: this.from(chat), chat: { id: chat.user.id, type: 'private', first_name: chat.user.firstName }, date: this.unixNow() };
  }

  private toMessage(chat: ChatState, m: ChatMessage) {
    const bot = this.queueOf(chat.platform).bot;
    return {
      message_id: m.id,
      from: m.from === 'bot' ? { id: bot.id, is_bot: true, first_name: bot.firstName, username: bot.username } : this.from(chat),
      chat: { id: chat.user.id, type: 'private', first_name: chat.user.firstName },
      date: m.date,
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(m.caption !== undefined ? { caption: m.caption } : {}),
      ...(m.photo ? { photo: [{ file_id: m.photo, file_unique_id: `u-${m.photo}`, width: 480, height: 480 }] } : {}),
      ...(m.document ? { document: { file_id: m.document.media, file_unique_id: `u-${m.document.media}`, file_name: m.document.name } } : {}),
      ...(m.inline ? { reply_markup: { inline_keyboard: m.inline } } : {}),
    };
  }

  private push(chat: ChatState, update: Record<string, unknown>) {
    const queue = this.queueOf(chat.platform);
    queue.updates.push({ update_id: ++queue.nextId, ...update });
    for (const wake of queue.pollers.splice(0)) wake();
  }

  private async getUpdates(queue: BotQueue, params: Record<string, unknown>) {
    const offset = Number(params.offset ?? 0);
    if (offset > 0) {
      queue.confirmed = Math.max(queue.confirmed, offset - 1);
      queue.updates = queue.updates.filter((u) => u.update_id > queue.confirmed);
    }
    const limit = Math.min(Number(params.limit ?? 100), 100);
    const timeout = Math.min(Number(params.timeout ?? 0), 50);
    if (queue.updates.length === 0 && timeout > 0 && !this.stopped) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeout * 1000);
        queue.pollers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.stopped) return [];
    return queue.updates.slice(0, limit);
  }
}
