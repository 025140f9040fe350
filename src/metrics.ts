import type { Context as BaseContext, MiddlewareFn, Transformer } from 'grammy';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { operationalFigures } from './club/operations.ts';
import type { Db } from './db/database.ts';
import type { Platform } from './db/schema.ts';

/** What kind of update it was, for the per-kind figures (a small, fixed set of labels). */
export function updateKind(ctx: BaseContext): string {
  if (ctx.callbackQuery) return 'callback_query';
  const message = ctx.message;
  if (!message) return 'other';
  if (message.text?.startsWith('/')) return 'command';
  if (message.contact) return 'contact';
  if (message.text !== undefined) return 'text';
  return 'media';
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * The club's Prometheus figures. One registry per club (not prom-client's global one), so two
 * clubs in one process (tests) do not mix. Everything on the update path is a counter or histogram
 * update in memory; figures that live in the database are read at scrape time.
 */
export class ClubMetrics {
  readonly registry = new Registry();
  /** When each platform's API last answered ok (ms since epoch): readiness reads it. */
  readonly lastSuccess = new Map<Platform, number>();
  private readonly updates: Counter<'platform' | 'kind' | 'outcome'>;
  private readonly latency: Histogram<'platform' | 'kind'>;
  private readonly tooMany: Counter<'platform'>;
  private readonly blocked: Counter<'platform'>;

  constructor(db: Db, now: () => Date, poolStats: (() => PoolStats) | undefined) {
    const registers = [this.registry];
    this.updates = new Counter({ name: 'bashgah_updates_total', help: 'Updates handled, by kind', labelNames: ['platform', 'kind', 'outcome'], registers });
    this.latency = new Histogram({
      name: 'bashgah_update_seconds',
      help: 'Time to handle one update, by kind',
      labelNames: ['platform', 'kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.tooMany = new Counter({ name: 'bashgah_api_429_total', help: 'Bot API answers 429 Too Many Requests', labelNames: ['platform'], registers });
    this.blocked = new Counter({ name: 'bashgah_blocked_users_total', help: 'Bot API answers 403: a user blocked the bot', labelNames: ['platform'], registers });
    if (poolStats) {
      new Gauge({
        name: 'bashgah_db_pool_connections',
        help: 'Database pool connections by state',
        labelNames: ['state'],
        registers,
        collect() {
          const s = poolStats();
          this.set({ state: 'total' }, s.total);
          this.set({ state: 'idle' }, s.idle);
          this.set({ state: 'in_use' }, s.total - s.idle);
          this.set({ state: 'waiting' }, s.waiting);
        },
      });
    }
    // The database figures are read once per scrape, shared by the gauges below.
    let figures: ReturnType<typeof operationalFigures> | undefined;
    const read = () => (figures ??= operationalFigures(db, now()).finally(() => setTimeout(() => (figures = undefined), 1000)));
    new Gauge({
      name: 'bashgah_outbox_depth',
      help: 'Campaign messages waiting (pending) or being sent, by platform',
      labelNames: ['kind', 'platform', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const row of (await read()).outbox) this.set({ kind: 'campaign', platform: row.platform, status: row.status }, row.count);
      },
    });
    new Gauge({
      name: 'bashgah_campaign_progress_ratio',
      help: 'Share of a sending campaign already settled (0..1)',
      labelNames: ['campaign'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await read()).campaigns) this.set({ campaign: String(c.id) }, c.total ? c.settled / c.total : 1);
      },
    });
    new Gauge({
      name: 'bashgah_blocked_accounts',
      help: 'Messenger accounts that have blocked the bot',
      labelNames: ['platform'],
      registers,
      async collect() {
        this.reset();
        for (const row of (await read()).blockedAccounts) this.set({ platform: row.platform }, row.count);
      },
    });
    new Gauge({
      name: 'bashgah_purchases_last_day',
      help: 'Purchases recorded in the last 24 hours',
      registers,
      async collect() {
        this.set((await read()).purchasesLastDay);
      },
    });
  }

  /** First middleware of a bot: counts each update and times it. */
  middleware(platform: Platform): MiddlewareFn<BaseContext> {
    return async (ctx, next) => {
      const kind = updateKind(ctx);
      const end = this.latency.startTimer({ platform, kind });
      let outcome = 'error';
      try {
        await next();
        outcome = 'ok';
      } finally {
        end();
        this.updates.inc({ platform, kind, outcome });
      }
    };
  }

  /** An API transformer: 429s, 403s, and the time of the last successful call. */
  apiTransformer(platform: Platform): Transformer {
    return async (prev, method, payload, signal) => {
      const result = await prev(method, payload, signal);
      if (result.ok) this.lastSuccess.set(platform, Date.now());
      else if (result.error_code === 429) this.tooMany.inc({ platform });
      else if (result.error_code === 403) this.blocked.inc({ platform });
      return result;
    };
  }
}
