import { sql } from 'kysely';
import type { DatabaseHandle, Db } from '../db/database.ts';
import { PREPARED } from '../db/prepared.ts';
import type { Member, MembersTable, Platform, Tier, TiersTable } from '../db/schema.ts';
import type { AccountMember } from './members.ts';
import { grouped } from '../lib/grouped.ts';

/** How long an update is remembered: Telegram keeps one it could not deliver for 24 hours. */
export const HANDLED_UPDATES_KEPT_MS = 2 * 86_400_000;

export interface UpdateRef {
  platform: Platform;
  botId: number;
  updateId: number;
}

/**
 * Takes on an update: true the first time, false when this update_id was already taken on (a
 * redelivery), by this process or another one.
 */
export async function claimUpdate(db: Db, ref: UpdateRef, now: Date): Promise<boolean> {
  const row = await db
    .insertInto('handled_updates')
    .values({ platform: ref.platform, bot_id: ref.botId, update_id: ref.updateId, handled_at: now })
    .onConflict((oc) => oc.doNothing())
    .returning('update_id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Forgets updates too old to be delivered again; returns how many. Long polling's journal loses
 * its rows that old too (never replayed, see updateJournal) and rows whose update was handled (a
 * delete that failed).
 */
export async function pruneHandledUpdates(db: Db, now: Date): Promise<number> {
  const before = new Date(now.getTime() - HANDLED_UPDATES_KEPT_MS);
  await sql`delete from received_updates r where r.received_at < ${before}
    or exists (select 1 from handled_updates h where h.platform = r.platform and h.bot_id = r.bot_id and h.update_id = r.update_id)`.execute(db);
  const result = await db.deleteFrom('handled_updates').where('handled_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Whether this update was handled already, by this process or another one. */
export async function wasHandled(db: Db, ref: UpdateRef): Promise<boolean> {
  const row = await db
    .selectFrom('handled_updates')
    .select('update_id')
    .where('platform', '=', ref.platform)
    .where('bot_id', '=', ref.botId)
    .where('update_id', '=', ref.updateId)
    .executeTakeFirst();
  return row !== undefined;
}

/** What an update finds when it arrives, read in one round trip (see `takeUpdates`). */
export interface Intake {
  /** This update_id was handled already: a redelivery, to be dropped. */
  handled: boolean;
  /** The member behind the sender's account, with their role; undefined for a stranger. */
  account: AccountMember | undefined;
  /** The member's tier, read with them: the home screen shows it (so /menu costs no read of its own). */
  tier: Tier | undefined;
  /** The chat's stored conversation state, or undefined when the chat has no conversation. */
  conversation: unknown;
  /** Set once the conversation storage took `conversation` (see conversation-storage.ts). */
  conversationUsed?: boolean;
}

/**
 * Every column of members, by name. The intake statement is prepared once per connection, and a
 * prepared `members.*` would change its result type when a migration adds a column while a club
 * process runs (another process's deploy): PostgreSQL then refuses every execution ("cached plan
 * must not change result type"). Named columns keep the statement's result as it was prepared.
 */
const MEMBER_COLUMNS = [
  'id', 'phone', 'first_name', 'last_name', 'birth_date', 'gender', 'locale', 'referral_code', 'tier_id',
  'points_balance', 'credit_balance', 'marketing_opt_in', 'joined_at', 'last_active_at', 'join_link_id',
  'referred_by', 'city', 'email', 'interests', 'heard_from', 'profile_completed_at', 'purchase_count',
  'spend_rials', 'last_purchase_at', 'earned_points', 'reachable', 'platforms', 'referral_count',
  'join_bonus_due', 'note',
] as const satisfies readonly (keyof MembersTable)[];
/** The member's tier comes along (the home screen shows it), each column as `tier__<column>` (members has a `tier_id` of its own). */
const TIER_COLUMNS = ['id', 'code', 'rank', 'name_fa', 'name_en', 'threshold', 'discount_percent', 'earn_multiplier', 'perks_fa', 'perks_en'] as const satisfies readonly (keyof TiersTable)[];
/** Neither compiles while a column of the table is missing from its list. */
const everyColumn: [[Exclude<keyof MembersTable, (typeof MEMBER_COLUMNS)[number]>, Exclude<keyof TiersTable, (typeof TIER_COLUMNS)[number]>]] extends [[never, never]] ? true : never = true;
void everyColumn;

/** A value a statement compiled once is given at each execution (see compiledIntake). */
class Slot {
  constructor(readonly index: number) {}
}

/** What one update asks of the intake statement (see takeUpdates). */
export interface IntakeRequest {
  ref: UpdateRef;
  /** The sender; undefined for an update without one. */
  userId: number | undefined;
  /** The chat's key in conversation_state (conversationKey); undefined without a chat. */
  conversationKey: string | undefined;
}

/** The intake columns, one row per update asked about: `n` is its place in the arrays. */
type IntakeInput = { platform: Platform; user_id: number | null; conversation_key: string | null; bot_id: number; update_id: number; n: number };

/**
 * The intake statement (see takeUpdates): one row per update, from five arrays (platforms, users,
 * conversation keys, bot ids, update ids), which are Slots when it is compiled once.
 */
function intakeQuery(db: Db, platforms: Platform[], users: (number | null)[], keys: (string | null)[], bots: number[], updates: number[]) {
  // One row per update (unnest), the rest left-joined onto it: columns come back typed as the
  // per-table reads gave them.
  const input = sql<IntakeInput>`(select * from unnest(${platforms}::text[], ${users}::int8[], ${keys}::text[], ${bots}::int8[], ${updates}::int8[])
    with ordinality as u(platform, user_id, conversation_key, bot_id, update_id, n))`;
  // Each table is reached through a LATERAL subquery keyed on the update's own row, so the plan is
  // index lookups per update whether the arrays hold one update or a hundred: the statement is
  // prepared once per connection (PREPARED) and its generic plan must suit both.
  return db
    .selectFrom(input.as('intake'))
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('member_accounts')
          .innerJoin('members', 'members.id', 'member_accounts.member_id')
          .leftJoin('staff', 'staff.member_id', 'members.id')
          .leftJoin('tiers as member_tier', 'member_tier.id', 'members.tier_id')
          .whereRef('member_accounts.platform', '=', 'intake.platform')
          .whereRef('member_accounts.user_id', '=', 'intake.user_id')
          .select(MEMBER_COLUMNS.map((column) => `members.${column}` as const))
          .select(TIER_COLUMNS.map((column) => `member_tier.${column} as tier__${column}` as const))
          .select(['staff.role as staff_role', 'member_accounts.blocked as account_blocked'])
          .as('account'),
      (join) => join.onTrue(),
    )
    .leftJoinLateral(
      (eb) => eb.selectFrom('conversation_state').select('conversation_state.value').whereRef('conversation_state.key', '=', 'intake.conversation_key').as('state'),
      (join) => join.onTrue(),
    )
    .selectAll('account')
    .select((eb) => [
      'intake.n as intake_n',
      'state.value as conversation',
      eb
        .exists(
          eb
            .selectFrom('handled_updates')
            .select('handled_updates.update_id')
            .whereRef('handled_updates.platform', '=', 'intake.platform')
            .whereRef('handled_updates.bot_id', '=', 'intake.bot_id')
            .whereRef('handled_updates.update_id', '=', 'intake.update_id'),
        )
        .as('handled'),
    ]);
}

type IntakeRow = Awaited<ReturnType<ReturnType<typeof intakeQuery>['executeTakeFirstOrThrow']>>;
const intakes = new WeakMap<Db, ReturnType<typeof compileIntake>>();

/**
 * The intake statement is built and compiled by Kysely once per database handle, not per update
 * (issue 14: building and compiling it showed in `node --cpu-prof`); each execution only puts its
 * arrays in. `order` says which array goes to each parameter ($1, $2...).
 */
function compileIntake(db: Db) {
  const slot = <T>(i: number) => new Slot(i) as unknown as T;
  const built = intakeQuery(db, slot(0), slot(1), slot(2), slot(3), slot(4)).compile();
  const order = built.parameters.map((p) => {
    if (!(p instanceof Slot)) throw new Error('the intake statement has a value that is not a slot');
    return p.index;
  });
  // A constant text with every value a parameter: each connection prepares and plans it once.
  const compiled = { ...built, sql: PREPARED + built.sql };
  return { compiled, order };
}

/**
 * Everything updates need from the database before they are handled, in one statement for any
 * number of them (issue 14: it ran as three or four round trips per update before): for each,
 * whether it was handled already, the sender's member with their tier and staff role, and the
 * chat's conversation state (so a chat without a conversation costs no further read). Updates are
 * not recorded here: `markHandled` does that after each is handled. Results in the requests' order.
 */
export async function takeUpdates(db: Db, requests: IntakeRequest[]): Promise<Intake[]> {
  let intake = intakes.get(db);
  if (!intake) intakes.set(db, (intake = compileIntake(db)));
  const values: unknown[] = [
    requests.map((r) => r.ref.platform),
    requests.map((r) => r.userId ?? null),
    requests.map((r) => r.conversationKey ?? null),
    requests.map((r) => r.ref.botId),
    requests.map((r) => r.ref.updateId),
  ];
  const result = await db.executeQuery<IntakeRow>({ ...intake.compiled, parameters: intake.order.map((i) => values[i]) });
  const found: Intake[] = new Array(requests.length);
  for (const row of result.rows) {
    const i = Number(row.intake_n) - 1;
    // A member has one staff row and one account per sender: one row each (the first if not).
    if (found[i] === undefined) found[i] = intakeOf(row);
  }
  for (let i = 0; i < requests.length; i++) if (found[i] === undefined) throw new Error('the intake statement returned no row for an update');
  return found;
}

/** The tier's columns as the intake row names them. */
const TIER_ALIASES = TIER_COLUMNS.map((c) => `tier__${c}`);

/** An object of `columns` from the row, read under `names` (a loop: this runs for every update). */
function pick(row: Record<string, unknown>, columns: readonly string[], names: readonly string[]) {
  const picked: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) picked[columns[i]!] = row[names[i]!];
  return picked;
}

function intakeOf(row: IntakeRow): Intake {
  const cells = row as Record<string, unknown>;
  const account = row.id === null ? undefined : { member: pick(cells, MEMBER_COLUMNS, MEMBER_COLUMNS) as Member, role: row.staff_role, blocked: row.account_blocked ?? false };
  const tier = row.tier__id === null ? undefined : (pick(cells, TIER_COLUMNS, TIER_ALIASES) as Tier);
  return { handled: Boolean(row.handled), account, tier, conversation: row.conversation ?? undefined };
}

/** Updates one intake statement reads at most (getUpdates hands over at most 100 at once). */
const TAKEN_TOGETHER = 500;

/**
 * Intake by group (issue 14), as handled records are written (see handledRecorder): the first
 * update arriving while no intake statement runs is read at once, alone; those arriving while one
 * runs (a getUpdates batch handed over) are read together by the next. A chat's updates are
 * handled one at a time, so no update is read together with an earlier one of its own chat.
 */
export function intakeReader(db: Db): (request: IntakeRequest) => Promise<Intake> {
  return grouped(TAKEN_TOGETHER, (requests) => takeUpdates(db, requests));
}

/** Records an update as handled: from now on a delivery of the same update_id is dropped. */
export async function markHandled(db: Db, ref: UpdateRef, now: Date): Promise<void> {
  await markAllHandled(db, [{ ref, now }]);
}

/**
 * One statement for a group, `done` in update_id order (see handledRecorder); `journaled`: the
 * updates' rows in long polling's journal (see updateJournal) are deleted by it too. The text is a
 * constant, the values arrays: prepared once per connection whatever the group's size. handled_at
 * is the group's latest time (it only serves pruning).
 */
async function markAllHandled(db: Db, done: { ref: UpdateRef; now: Date }[], journaled = false): Promise<void> {
  const latest = done.reduce((t, d) => (d.now > t ? d.now : t), done[0]!.now);
  const [platforms, bots, ids] = [done.map((d) => d.ref.platform), done.map((d) => d.ref.botId), done.map((d) => d.ref.updateId)];
  const cleared = journaled
    ? sql`, cleared as (delete from received_updates r using done where r.platform = done.platform and r.bot_id = done.bot_id and r.update_id = done.update_id)`
    : sql``;
  await sql`${sql.raw(PREPARED)}with done as (select * from unnest(${platforms}::text[], ${bots}::int8[], ${ids}::int8[]) as d(platform, bot_id, update_id))${cleared}
    insert into handled_updates (platform, bot_id, update_id, handled_at) select platform, bot_id, update_id, ${latest}::timestamptz from done
    on conflict do nothing`.execute(db);
}

/**
 * Updates whose handled record was written, by their Update object (the one the poller handed
 * over): the same statement deleted their journal row, so the poller need not (see startPolling).
 */
const recordedUpdates = new WeakSet<object>();
/** Notes that `update`'s handled record is written (onceEach). */
export const noteRecorded = (update: object) => void recordedUpdates.add(update);
/** Whether `update`'s handled record, and so the deletion of its journal row, was written. */
export const wasRecorded = (update: object) => recordedUpdates.has(update);

/** Updates one statement records at most. */
const RECORDED_TOGETHER = 500;

/**
 * Records handled updates the way a database commits a group (issue 14): the first update
 * finished while no record is being written is written at once, alone; those finished while a
 * write is under way go together in the next one. A single update waits no longer than with its
 * own INSERT (no timer); under load, one statement records many. Each caller's promise resolves
 * only once its own row is committed, so the guard keeps its chat until then, as before.
 *
 * After a crash: an update counts as handled only once its row is committed, as with one INSERT
 * each. What grows is the time between an answer sent and its row committed (by at most the one
 * write already under way), the window in which a process killed leaves an answered update
 * unrecorded, so the platform's redelivery of it is answered a second time. No design closes that
 * window (the answer and the record cannot commit together); this one keeps it to a round trip or
 * two. The alternative, recording on arrival, would lose updates at a crash instead.
 * `journaled`: long polling keeps a journal (see updateJournal); the same statement deletes the rows.
 */
export function handledRecorder(db: Db, journaled = false): (ref: UpdateRef, now: Date) => Promise<void> {
  const record = grouped(RECORDED_TOGETHER, async (group: { ref: UpdateRef; now: Date }[]) => {
    // One order for every writer, so two processes' groups never wait on each other in a cycle.
    await markAllHandled(db, [...group].sort((a, b) => a.ref.updateId - b.ref.updateId), journaled);
    return group.map(() => undefined);
  });
  return (ref, now) => record({ ref, now });
}

/**
 * Runs `work` while holding a PostgreSQL advisory lock named by `key` (a chat) in this club's name:
 * across any number of processes of the club, one holder at a time, the others wait. The lock is held by a
 * session on a reserved connection (the work's own queries use other connections of the pool), so
 * a process that dies releases it with its connection.
 */
export async function withAdvisoryLock<T>(db: Db, key: string, work: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${lockKey(key)})`.execute(conn);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(${lockKey(key)})`.execute(conn);
    }
  });
}

/** An advisory lock's key in the club's own name: several clubs (schemas) may share a database. */
const lockKey = (key: string) => sql`hashtextextended(current_schema() || ':' || ${key}, 0)`;

/** A journal row older than this is not replayed: Telegram itself drops an update after 24 hours. */
const REPLAYED_WITHIN_MS = 86_400_000;
/** While another process polls the bot, the lock is tried again this often. */
const LOCK_RETRY_MS = 1_000;

/**
 * Long polling's journal of fetched, unfinished updates (issue 14). Without it a poll must leave
 * every update still in flight unconfirmed at the platform (else a kill -9 loses it), so each poll
 * fetches them again and at most one page of updates is in flight. With it, a page is written here
 * in one statement and then confirmed; each update's row is deleted once the update was handled.
 * A process killed mid-way leaves its unfinished updates here and the next process handles them
 * first (`open`): those it had finished are deleted there (handled_updates), the rest are handled.
 */
export interface UpdateJournal {
  /**
   * Takes the bot's journal: on PostgreSQL, waits while another process polls the same bot (a
   * session advisory lock, released at `close` or when this process dies), so no two processes
   * replay or handle the same rows. Returns the unfinished updates a previous process left, in
   * update_id order.
   */
  open(): Promise<unknown[]>;
  /** Writes a page of fetched updates; once it resolves they may be confirmed at the platform. */
  keep(updates: readonly { update_id: number }[]): Promise<void>;
  /** The update was handled: its row goes (grouped with others finished meanwhile; retried with the next group if the write fails). */
  done(updateId: number): Promise<void>;
  /** Lets the next process take the journal. */
  close(): Promise<void>;
}

export interface JournalOptions {
  handle: Pick<DatabaseHandle, 'db' | 'driver' | 'session'>;
  platform: Platform;
  botId: number;
  now: () => Date;
  /** Told once when another process holds the bot's journal. */
  onWait?: () => void;
  /** Told when the lock's connection is lost while held (the server restarted): another process could then take the bot. */
  onLockLost?: (error: unknown) => void;
}

export function updateJournal({ handle, platform, botId, now, onWait, onLockLost }: JournalOptions): UpdateJournal {
  const { db } = handle;
  let failedDeletes: number[] = [];

  const remove = grouped(RECORDED_TOGETHER, async (ids: number[]) => {
    const all = failedDeletes.length ? [...failedDeletes, ...ids] : ids;
    failedDeletes = [];
    try {
      await sql`${sql.raw(PREPARED)}delete from received_updates where platform = ${platform} and bot_id = ${botId} and update_id = any(${all}::int8[])`.execute(db);
    } catch (error) {
      failedDeletes = all;
      throw error;
    }
    return ids.map(() => undefined);
  });

  /** Set by close: stop waiting for the lock, or let it go. */
  let closed = false;
  /** Lets go of the lock now held (or stops waiting for it). */
  let release = () => {};
  /** The lock's work, settled once its connection is given back. */
  let held: Promise<unknown> = Promise.resolve();

  /**
   * PostgreSQL: one poller per bot and club across processes, by a session advisory lock on a
   * connection of its own (the embedded database has one process). Resolves true once held, false
   * when closed first. A lock whose connection is lost while held (the server restarted) is said
   * and taken again on a new connection.
   */
  const lock = (): Promise<boolean> => {
    if (handle.driver !== 'pg' || !handle.session) return Promise.resolve(true);
    const key = `received_updates:${platform}:${botId}`;
    let holding = false;
    let lost = false;
    let letGo!: () => void;
    const released = new Promise<void>((resolve) => (letGo = resolve));
    release = letGo;
    const session = handle.session((error) => {
      if (!holding || lost) return;
      lost = true;
      onLockLost?.(error);
      letGo();
      void relock();
    });
    return new Promise<boolean>((acquired, failed) => {
      held = session
        .connection()
        .execute(async (conn) => {
          let told = false;
          for (;;) {
            const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${lockKey(key)}) as ok`.execute(conn);
            if (rows[0]!.ok) break;
            if (closed) return acquired(false);
            if (!told) onWait?.();
            told = true;
            await Promise.race([released, new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS))]);
          }
          holding = true;
          acquired(true);
          await released;
          if (!lost) await sql`select pg_advisory_unlock(${lockKey(key)})`.execute(conn);
        })
        .catch((error: unknown) => (holding ? undefined : failed(error)))
        .finally(() => session.destroy());
    });
  };

  /** Takes the lock again after its connection was lost: until it holds (the server may still be down) or the journal is closed. */
  const relock = async () => {
    for (let retryIn = 100; !closed; retryIn = Math.min(retryIn * 2, LOCK_RETRY_MS * 15)) {
      try {
        await lock();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, retryIn));
      }
    }
  };

  return {
    async open() {
      if (!(await lock())) return [];
      // Updates finished before the previous process could delete their rows: nothing to do.
      await sql`delete from received_updates r using handled_updates h
        where r.platform = ${platform} and r.bot_id = ${botId} and h.platform = r.platform and h.bot_id = r.bot_id and h.update_id = r.update_id`.execute(db);
      const rows = await db
        .selectFrom('received_updates')
        .select('payload')
        .where('platform', '=', platform)
        .where('bot_id', '=', botId)
        .where('received_at', '>', new Date(now().getTime() - REPLAYED_WITHIN_MS))
        .orderBy('update_id')
        .execute();
      return rows.map((r) => (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload));
    },
    async keep(updates) {
      if (updates.length === 0) return;
      await sql`${sql.raw(PREPARED)}insert into received_updates (platform, bot_id, update_id, payload, received_at)
        select ${platform}::text, ${botId}::int8, (e ->> 'update_id')::int8, e, ${now()}::timestamptz from json_array_elements(${JSON.stringify(updates)}::json) as e
        on conflict do nothing`.execute(db);
    },
    done: (updateId) => remove(updateId),
    async close() {
      closed = true;
      release();
      await held;
    },
  };
}
