import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { startClub, type RunningClub } from '../club.ts';
import { findMemberByAccount, joinClub, setMemberLocale } from '../club/members.ts';
import { addStaff, listBranches, roleOf } from '../club/staff.ts';
import { loadConfig } from '../config.ts';
import type { DatabaseHandle } from '../db/database.ts';
import { PlaygroundClock } from './clock.ts';
import { ApiError, BotApiEmulator, type BotIdentity, type ChatState, type PlaygroundPlatform } from './emulator.ts';
import { runDueJobs } from './jobs.ts';
import { readQr } from './qr.ts';
import { seedDemo, type SeedResult } from './seed.ts';

export const PLATFORMS: PlaygroundPlatform[] = ['telegram', 'bale'];
const BOTS: BotIdentity[] = [
  { token: '700001:playground-telegram-token-0000', platform: 'telegram', id: 700001, username: 'bashgah_playground_bot', firstName: 'Bashgah' },
  { token: '700002:playground-bale-token-000000000', platform: 'bale', id: 700002, username: 'bashgah_playground_bot', firstName: 'Bashgah' },
];
const OWNER_PHONE = '+989120000001';
const CASHIER_PHONE = '+989120000002';
const CUSTOMER_NAMES = ['سارا', 'رضا', 'مینا', 'بابک', 'نیلوفر', 'کیوان', 'هانیه', 'فرهاد'];

export type Role = 'owner' | 'cashier' | 'customer';
export type Language = 'fa' | 'en';

export interface Persona {
  key: string;
  role: Role;
  name: string;
  phone: string;
  /** Their chat on each platform (the emulator's chat keys). */
  chats: Record<PlaygroundPlatform, string>;
}

export interface PlaygroundOptions {
  /** The environment: LOG_LEVEL, TZ_CLUB, points settings… Tokens, DATABASE_URL and OWNER_PHONES are the playground's own. */
  env: Record<string, string | undefined>;
  logger: Logger;
  port?: number;
  /** Where embedded PGlite keeps the playground's club (default ./data/playground). */
  dataDir?: string;
  /** An already open database (tests). */
  database?: DatabaseHandle;
  /** The club's scheduler (default on; tests run jobs through fastForward). */
  scheduler?: boolean;
}

/** The club, the emulator it talks to, and the people in the browser. */
export class Playground {
  readonly personas: Persona[] = [];
  language: Language = 'fa';
  private seeding: Promise<SeedResult> | undefined;

  readonly emulator: BotApiEmulator;
  readonly clock: PlaygroundClock;
  private readonly logger: Logger;
  private readonly dataDir: string;
  club!: RunningClub;

  constructor(private readonly options: PlaygroundOptions) {
    this.logger = options.logger;
    this.dataDir = path.resolve(options.dataDir ?? './data/playground');
    if (!options.database) mkdirSync(this.dataDir, { recursive: true });
    this.clock = new PlaygroundClock(options.database ? undefined : path.join(this.dataDir, 'clock.json'));
    this.emulator = new BotApiEmulator(BOTS, this.clock.now);
  }

  /** Opens the club against the emulator, which the caller already serves over HTTP at apiRoot. */
  async start(apiRoot: string) {
    const { options } = this;
    const { DATABASE_URL: _ignored, OWNER_PHONES: _owners, ...env } = options.env;
    const config = loadConfig({
      ...env,
      BOT_TOKEN: BOTS[0]!.token,
      BOT_API_ROOT: apiRoot,
      BALE_BOT_TOKEN: BOTS[1]!.token,
      BALE_API_ROOT: apiRoot,
      DATA_DIR: path.join(this.dataDir, 'pgdata'),
      OWNER_PHONES: OWNER_PHONE,
    });
    this.club = await startClub({
      config,
      logger: options.logger,
      now: this.clock.now,
      ...(options.database ? { database: options.database } : {}),
      ...(options.scheduler === false ? { scheduler: false } : {}),
    });
    await this.cast();
  }

  get deps() {
    return this.club.deps;
  }

  /** The owner and the cashier are members and staff from the start; customers join by themselves. */
  private async cast() {
    const owner = this.addPersona('owner', 'نگار', OWNER_PHONE, 1);
    const cashier = this.addPersona('cashier', 'کامران', CASHIER_PHONE, 2);
    this.addCustomer();
    this.addCustomer();
    const { db, config } = this.deps;
    const policy = { signupBonusPoints: config.signupBonusPoints, pointsValidityDays: config.pointsValidityDays, ownerPhones: config.ownerPhones, now: this.clock.now() };
    let ownerId = 0;
    for (const person of [owner, cashier]) {
      for (const platform of PLATFORMS) {
        const userId = this.emulator.chat(person.chats[platform])!.user.id;
        const joined = await joinClub(db, { platform, userId, chatId: userId }, { phone: person.phone, firstName: person.name, locale: this.language }, policy);
        if (person === owner) ownerId = joined.member.id;
      }
    }
    const branch = (await listBranches(db))[0];
    const cashierMember = await findMemberByAccount(db, 'telegram', this.emulator.chat(cashier.chats.telegram)!.user.id);
    if (branch && cashierMember && (await roleOf(db, cashierMember.id)) !== 'cashier') {
      await addStaff(db, { memberId: ownerId, role: 'owner' }, CASHIER_PHONE, 'cashier', branch.id, this.clock.now());
    }
  }

  private addPersona(role: Role, name: string, phone: string, n: number): Persona {
    const chats = {} as Record<PlaygroundPlatform, string>;
    for (const [i, platform] of PLATFORMS.entries()) {
      // Telegram and Bale give one person different user ids.
      const chat = this.emulator.addUser(platform, { id: (i + 1) * 100_000 + n, firstName: name, languageCode: this.language, phone });
      chats[platform] = chat.key;
    }
    const persona: Persona = { key: role === 'customer' ? `customer${n - 100}` : role, role, name, phone, chats };
    this.personas.push(persona);
    return persona;
  }

  addCustomer(): Persona {
    const n = this.personas.filter((p) => p.role === 'customer').length + 1;
    const name = CUSTOMER_NAMES[(n - 1) % CUSTOMER_NAMES.length]! + (n > CUSTOMER_NAMES.length ? ` ${n}` : '');
    const persona = this.addPersona('customer', name, `+9891200001${String(n).padStart(2, '0')}`, 100 + n);
    this.emulator.emit('personas');
    return persona;
  }

  /** The page's language: every persona's app language, and the club's language for members among them. */
  async setLanguage(language: Language) {
    this.language = language;
    for (const persona of this.personas) {
      for (const platform of PLATFORMS) {
        const chat = this.emulator.chat(persona.chats[platform])!;
        chat.user = { ...chat.user, languageCode: language };
        const member = await findMemberByAccount(this.deps.db, platform, chat.user.id);
        if (member && member.locale !== language) await setMemberLocale(this.deps.db, member.id, language);
      }
    }
  }

  /**
   * "Scan": the cashier's phone camera reads the QR of the card shown in the customer's chat and
   * opens the link in it, which starts the bot with the card's payload.
   */
  scan(cashierChat: string, customerChat: string): string {
    const chat = this.emulator.chat(customerChat);
    if (!chat) throw new ApiError(404, 'no such chat');
    const photos = chat.messages.filter((m) => m.photo && !m.deleted).reverse();
    for (const message of photos) {
      const text = readQr(this.emulator.getMedia(message.photo!)!.data);
      if (text) return this.openLink(cashierChat, text);
    }
    throw new ApiError(409, 'no_card');
  }

  /** A deep link to the playground's bot (a card, an invitation, a join link) opened in a chat. */
  openLink(chatKey: string, link: string): string {
    const chat = this.emulator.chat(chatKey);
    if (!chat) throw new ApiError(404, 'no such chat');
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      throw new ApiError(400, 'not_a_link');
    }
    const bot = this.emulator.bot(chat.platform);
    const host = chat.platform === 'bale' ? 'ble.ir' : 't.me';
    if (url.hostname !== host || url.pathname !== `/${bot.username}`) throw new ApiError(409, 'other_platform');
    const payload = url.searchParams.get('start');
    this.emulator.sendText(chatKey, payload ? `/start ${payload}` : '/start');
    return payload ?? '';
  }

  async fastForward(days: number) {
    if (![1, 7, 30].includes(days)) throw new ApiError(400, 'days must be 1, 7 or 30');
    this.clock.advance(days);
    const ran = await runDueJobs(this.deps);
    this.emulator.emit('clock');
    this.logger.info({ days, now: this.clock.now().toISOString(), ...ran }, 'playground clock moved');
    return ran;
  }

  seed(size?: number): Promise<SeedResult> {
    this.seeding ??= (async () => {
      const cashier = this.personas.find((p) => p.role === 'cashier')!;
      const member = await findMemberByAccount(this.deps.db, 'telegram', this.emulator.chat(cashier.chats.telegram)!.user.id);
      const result = await seedDemo(this.deps, member!.id, size);
      this.logger.info(result, 'playground demo data');
      return result;
    })().finally(() => (this.seeding = undefined));
    return this.seeding;
  }

  chatView(chat: ChatState) {
    return {
      key: chat.key,
      platform: chat.platform,
      messages: chat.messages.filter((m) => !m.deleted),
      replyKeyboard: chat.replyKeyboard ?? null,
    };
  }

  state() {
    return {
      language: this.language,
      now: this.clock.now().toISOString(),
      daysAhead: this.clock.daysAhead,
      timeZone: this.deps.config.timeZone,
      personas: this.personas.map((p) => ({
        ...p,
        chats: Object.fromEntries(PLATFORMS.map((platform) => [platform, this.chatView(this.emulator.chat(p.chats[platform])!)])),
      })),
    };
  }

  async stop() {
    this.emulator.stop();
    await this.club?.stop();
  }
}
