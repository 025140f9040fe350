import type { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import type { Logger } from 'pino';
import { wasRecorded, type UpdateJournal } from '../club/updates.ts';
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
/** With the journal, updates in flight at most: past this the loop waits before fetching more. */
const MAX_IN_FLIGHT = 1_000;

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
  /** Where fetched updates are kept until handled, so they can be confirmed at once (see updateJournal). */
  journal?: UpdateJournal | undefined;
}

/**
 * Long polling that loses nothing at kill -9. The platform forgets an update once a getUpdates
 * asks for a higher offset; @grammyjs/runner asks for the next batch (confirming the last one) as
 * soon as a batch is handed over, so a process killed then loses the updates it was handling.
 *
 * With the journal (the club's way, see updateJournal): each page fetched is handed over and, at
 * the same time, written to the database in one statement; the next poll, sent once it is written,
 * confirms it. An update's row is deleted with its handled record. A process killed mid-way leaves its unfinished updates in the
 * journal and the next process hands those over before it polls. So the polls fetch each update
 * once and any number of updates are in flight (at most MAX_IN_FLIGHT).
 *
 * Without it, or for a page the journal could not take (the database is down: the updates are
 * handed over all the same, their senders get an answer), an update is confirmed only once it and
 * every update before it were handled: the offset is the lowest update_id in flight that is not in
 * the journal. After a kill the next process gets again every update from that one on: those the
 * killed process had finished are dropped by onceEach (handled_updates), the rest are handled.
 * A poll with such an unfinished update below the newest returns it again at once (it cannot wait
 * at the platform for new ones), with those after it: nothing this process handed over already
 * (every update_id below `next`) is handed over twice. While such updates are in flight the loop
 * looks again once half of them finished, or after REPOLL_MS; else it long-polls as usual. At most
 * BATCH updates from the lowest unconfirmed one are seen: a chat stuck on one slow update holds
 * back new updates once BATCH of them arrived behind it (a lost update is worse).
 *
 * Updates are handed to the bot in update_id order, each without waiting for the previous one: a
 * chat's updates keep their order through sequentialize; different chats run concurrently.
 */
export function startPolling(bot: Bot<Context>, options: PollingOptions): Poller {
  const { log, journal } = options;
  const inFlight = new Map<number, Promise<void>>();
  /** In flight and not in the journal: the platform must keep them until they are handled. */
  const unkept = new Set<number>();
  /** One past the highest update_id handed over: every one below it was handed over (updates come in update_id order). */
  let next = 0;
  let running = true;
  let journalOpen = false;
  const abort = new AbortController();
  const wakers = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of [...wakers]) wake();
  };

  /** The poll's offset: every update below it may be forgotten by the platform. */
  const offset = () => {
    let low = next;
    for (const id of unkept) if (id < low) low = id;
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

  /** `kept`: the update is in the journal already (one the previous process left). */
  const hand = (update: Update, kept: boolean) => {
    const id = update.update_id;
    if (!kept) unkept.add(id);
    const handling = bot
      .handleUpdate(update)
      .catch(async (error: unknown) => {
        try {
          await bot.errorHandler(error as Parameters<typeof bot.errorHandler>[0]);
        } catch (failure) {
          log.error({ err: failure, update_id: id }, 'the error handler failed');
        }
      })
      .then(() => {
        // Handled: its journal row went with its handled record (onceEach). One that was not
        // recorded (a redelivery, or the database failed) is answered all the same: its row goes here.
        if (journal && !unkept.has(id) && !wasRecorded(update)) return clear(id);
      })
      .finally(() => {
        inFlight.delete(id);
        unkept.delete(id);
        wakeAll();
      });
    inFlight.set(id, handling);
  };

  /** Journal deletes under way (a stop waits for them). */
  const clearing = new Set<Promise<void>>();
  /** Deletes an update's journal row (a failed delete is retried with the next one; a row left behind is dropped at the next start). */
  const clear = (id: number) => {
    const deleting: Promise<void> = journal!
      .done(id)
      .catch((error: unknown) => log.warn({ err: error, update_id: id }, 'could not clear an update from the journal'))
      .finally(() => clearing.delete(deleting));
    clearing.add(deleting);
    return deleting;
  };

  /** Hands over what the previous process left in the journal, before anything new. */
  const resume = async () => {
    if (!journal) return;
    let left: Update[] = [];
    for (let retryIn = 1_000; running; retryIn = Math.min(retryIn * 2, 15_000)) {
      try {
        left = (await journal.open()) as Update[];
        break;
      } catch (error) {
        log.warn({ err: error, retryInMs: retryIn }, 'could not read the journal of unfinished updates; trying again');
        await pause(retryIn);
      }
    }
    journalOpen = true;
    if (left.length > 0) log.info({ updates: left.length }, 'handling the updates the previous process left unfinished');
    for (const update of left) {
      if (!running) break;
      if (update.update_id < next) continue;
      hand(update, true);
      next = update.update_id + 1;
    }
  };

  const loop = async () => {
    let retryIn = 100;
    await resume();
    while (running) {
      if (inFlight.size >= MAX_IN_FLIGHT) {
        await pause(REPOLL_MS);
        continue;
      }
      let updates: Update[];
      try {
        updates = await bot.api.getUpdates(
          { offset: offset(), limit: BATCH, timeout: unkept.size > 0 ? 0 : LONG_POLL_SECONDS, allowed_updates: [...options.allowedUpdates] },
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
      // An update_id below `next` was handed over already: in flight, or finished after this poll
      // was sent, or a platform's redelivery of one this process handled. (A redelivery to another
      // process, or after a restart, is dropped by onceEach: handled_updates.)
      const fresh: Update[] = [];
      for (const update of updates) {
        // Stopping: the rest stays unconfirmed for the next process.
        if (!running) break;
        if (update.update_id < next) continue;
        // Handed over at once; the journal is written meanwhile (the update's first statement runs
        // beside it), and the page is confirmed by the next poll only once it is written.
        hand(update, false);
        fresh.push(update);
        next = update.update_id + 1;
      }
      if (journal && fresh.length > 0) {
        try {
          await journal.keep(fresh);
          for (const { update_id: id } of fresh) {
            // Kept: no longer holds the offset back. One that finished meanwhile had no row to delete yet.
            if (inFlight.has(id)) unkept.delete(id);
            else void clear(id);
          }
        } catch (error) {
          log.warn({ err: error, updates: fresh.length }, 'could not write updates to the journal; they stay unconfirmed until handled');
        }
      }
      // A poll returns the unconfirmed updates still in flight again: look again once half of
      // them finished (fewer to fetch twice), or after REPOLL_MS for updates that came in meanwhile.
      if (unkept.size > 0 && running) {
        const target = Math.floor(unkept.size / 2);
        const deadline = Date.now() + REPOLL_MS;
        while (running && unkept.size > target && Date.now() < deadline) await pause(deadline - Date.now());
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
      // Still waiting for another process to let go of the journal: stop waiting.
      if (!journalOpen) await journal?.close();
      await task;
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref());
      await Promise.race([settled(), deadline]);
      if (inFlight.size > 0) {
        log.warn({ inFlight: [...inFlight.keys()] }, 'stopped with updates in flight; the next process handles them');
      } else if (next > 0) {
        // Everything handed over was handled: confirm it, so the next start does not fetch it again.
        // (limit 1: at most one new update comes back, unconfirmed, for the next process.)
        await bot.api.getUpdates({ offset: next, limit: 1, timeout: 0 }).catch(() => undefined);
      }
      await Promise.allSettled([...clearing]);
      await journal?.close();
    },
  };
}
