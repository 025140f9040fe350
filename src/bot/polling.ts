import type { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import type { Logger } from 'pino';
import type { Context } from './context.ts';

/** getUpdates returns at most this many updates at once (the Bot API's limit). */
const BATCH = 100;
/** Long-poll wait when nothing is in flight, seconds. */
const LONG_POLL_SECONDS = 30;
/**
 * While an update is in flight a poll cannot wait at the platform (the unfinished update comes back
 * at once, see below): new updates are then looked for at the latest after this long.
 */
const REPOLL_MS = 50;
/** A stop waits this long for the updates in flight; what is left is delivered again to the next process. */
const STOP_WAIT_MS = 30_000;

export interface Poller {
  /** Stops fetching, waits for the updates in flight, then confirms what was handled. */
  stop(): Promise<void>;
  /** Resolves once no update is in flight. */
  settled(): Promise<void>;
  /** Updates in flight. */
  size(): number;
}

export interface PollingOptions {
  allowedUpdates: readonly Exclude<keyof Update, 'update_id'>[];
  log: Logger;
}

/**
 * Long polling that loses nothing at kill -9. The platform forgets an update once a getUpdates
 * asks for a higher offset; @grammyjs/runner asks for the next batch (confirming the last one) as
 * soon as a batch is handed over, so a process killed then loses the updates it was handling.
 * Here the offset is the lowest update_id still in flight: an update is confirmed only once it and
 * every update before it were handled. After a kill the next process gets again every update from
 * that one on: those the killed process had finished are dropped by onceEach (handled_updates),
 * the rest are handled.
 *
 * A poll with an unfinished update below the newest returns that update again at once (it cannot
 * wait at the platform for new ones), with those after it: nothing this process handed over
 * already (every update_id below `next`: in flight, or finished, even one finished between the
 * poll's request and its answer) is handed over twice. (Issue 14: under a burst, two updates in
 * three came back in a poll sent before they finished and went through the whole middleware chain
 * again, to be dropped by onceEach.) So while something is in flight the loop looks again once
 * half of the updates in flight finished, or after REPOLL_MS; with nothing in flight it long-polls
 * as usual.
 * At most BATCH updates from the lowest unfinished one are seen: a chat stuck on one slow update
 * holds back new updates once BATCH of them arrived behind it (a lost update is worse).
 *
 * Updates are handed to the bot in update_id order, each without waiting for the previous one: a
 * chat's updates keep their order through sequentialize; different chats run concurrently.
 */
export function startPolling(bot: Bot<Context>, options: PollingOptions): Poller {
  const { log } = options;
  const inFlight = new Map<number, Promise<void>>();
  /** One past the highest update_id handed over: every one below it was handed over (updates come in update_id order). */
  let next = 0;
  let running = true;
  const abort = new AbortController();
  const wakers = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of [...wakers]) wake();
  };

  const lowestUnfinished = () => {
    let low = next;
    for (const id of inFlight.keys()) if (id < low) low = id;
    return low;
  };

  /** Resolves on the next finished update, a stop, or after ms. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });

  const hand = (update: Update) => {
    const id = update.update_id;
    const handling = bot
      .handleUpdate(update)
      .catch(async (error: unknown) => {
        try {
          await bot.errorHandler(error as Parameters<typeof bot.errorHandler>[0]);
        } catch (failure) {
          log.error({ err: failure, update_id: id }, 'the error handler failed');
        }
      })
      .finally(() => {
        inFlight.delete(id);
        wakeAll();
      });
    inFlight.set(id, handling);
  };

  const loop = async () => {
    let retryIn = 100;
    while (running) {
      const waiting = inFlight.size > 0;
      let updates: Update[];
      try {
        updates = await bot.api.getUpdates(
          { offset: lowestUnfinished(), limit: BATCH, timeout: waiting ? 0 : LONG_POLL_SECONDS, allowed_updates: [...options.allowedUpdates] },
          abort.signal as unknown as Parameters<typeof bot.api.getUpdates>[1],
        );
        retryIn = 100;
      } catch (error) {
        if (!running) break;
        log.warn({ err: error, retryInMs: retryIn }, 'getUpdates failed; trying again');
        await pause(retryIn);
        retryIn = Math.min(retryIn * 2, 15_000);
        continue;
      }
      for (const update of updates) {
        // Stopping: the rest stays unconfirmed and goes to the next process.
        if (!running) break;
        // Handed over already: in flight, or finished after this poll was sent, or a platform's
        // redelivery of one this process handled. (A redelivery to another process, or after a
        // restart, is dropped by onceEach: handled_updates.)
        if (update.update_id < next) continue;
        hand(update);
        next = Math.max(next, update.update_id + 1);
      }
      // A poll returns the updates still in flight again: look again once half of them finished
      // (fewer to fetch twice), or after REPOLL_MS for updates that came in meanwhile.
      if (inFlight.size > 0 && running) {
        const target = Math.floor(inFlight.size / 2);
        const deadline = Date.now() + REPOLL_MS;
        while (running && inFlight.size > target && Date.now() < deadline) await pause(deadline - Date.now());
      }
    }
  };
  const task = loop().catch((error: unknown) => log.error({ err: error }, 'polling stopped'));

  const settled = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
  };

  return {
    size: () => inFlight.size,
    settled,
    async stop() {
      running = false;
      abort.abort();
      wakeAll();
      await task;
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref());
      await Promise.race([settled(), deadline]);
      if (inFlight.size > 0) {
        log.warn({ inFlight: [...inFlight.keys()] }, 'stopped with updates in flight; the platform delivers them again');
        return;
      }
      // Everything handed over was handled: confirm it, so the next start does not fetch it again.
      // (limit 1: at most one new update comes back, unconfirmed, for the next process.)
      if (next > 0) await bot.api.getUpdates({ offset: next, limit: 1, timeout: 0 }).catch(() => undefined);
    },
  };
}
