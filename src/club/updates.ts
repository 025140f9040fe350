import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Member, Platform, Tier } from '../db/schema.ts';
import type { AccountMember } from './members.ts';

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

/** Forgets updates too old to be delivered again; returns how many. */
export async function pruneHandledUpdates(db: Db, now: Date): Promise<number> {
  const result = await db.deleteFrom('handled_updates').where('handled_at', '<', new Date(now.getTime() - HANDLED_UPDATES_KEPT_MS)).executeTakeFirst();
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

/** What an update finds when it arrives, read in one round trip (see `takeUpdate`). */
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

/** A value a statement compiled once is given at each execution (see compiledIntake). */
class Slot {
  constructor(readonly index: number) {}
}

/** The intake statement (see takeUpdate); its five values are Slots when it is compiled once. */
function intakeQuery(db: Db, platform: Platform, userId: number | null, conversationKey: string | null, botId: number, updateId: number) {
  // One row always (the VALUES), the rest left-joined onto it: columns come back typed as the
  // per-table reads gave them.
  return db
    .selectFrom(sql<{ one: number }>`(values (1))`.as('intake'))
    .leftJoin('member_accounts', (join) => join.on('member_accounts.platform', '=', platform).on('member_accounts.user_id', '=', userId))
    .leftJoin('members', 'members.id', 'member_accounts.member_id')
    .leftJoin('staff', 'staff.member_id', 'members.id')
    .leftJoin('tiers as member_tier', 'member_tier.id', 'members.tier_id')
    .leftJoin('conversation_state', (join) => join.on('conversation_state.key', '=', conversationKey))
    .selectAll('members')
    .select((eb) => [
      'staff.role as staff_role',
      'member_accounts.blocked as account_blocked',
      'conversation_state.value as conversation',
      'member_tier.id as tier_id_',
      'member_tier.code as tier_code',
      'member_tier.rank as tier_rank',
      'member_tier.name_fa as tier_name_fa',
      'member_tier.name_en as tier_name_en',
      'member_tier.threshold as tier_threshold',
      'member_tier.discount_percent as tier_discount_percent',
      'member_tier.earn_multiplier as tier_earn_multiplier',
      'member_tier.perks_fa as tier_perks_fa',
      'member_tier.perks_en as tier_perks_en',
      eb
        .exists(
          eb
            .selectFrom('handled_updates')
            .select('handled_updates.update_id')
            .where('handled_updates.platform', '=', platform)
            .where('handled_updates.bot_id', '=', botId)
            .where('handled_updates.update_id', '=', updateId),
        )
        .as('handled'),
    ]);
}

type IntakeRow = Awaited<ReturnType<ReturnType<typeof intakeQuery>['executeTakeFirstOrThrow']>>;
const intakes = new WeakMap<Db, ReturnType<typeof compileIntake>>();

/**
 * The intake statement is built and compiled by Kysely once per database handle, not per update
 * (issue 14: building and compiling it showed in `node --cpu-prof`); each update only puts its
 * values in. `order` says which value goes to each parameter ($1, $2...).
 */
function compileIntake(db: Db) {
  const slot = <T>(i: number) => new Slot(i) as unknown as T;
  const compiled = intakeQuery(db, slot(0), slot(1), slot(2), slot(3), slot(4)).compile();
  const order = compiled.parameters.map((p) => {
    if (!(p instanceof Slot)) throw new Error('the intake statement has a value that is not a slot');
    return p.index;
  });
  return { compiled, order };
}

/**
 * Everything an update needs from the database before it is handled, in one statement (issue 14:
 * it ran as three or four round trips before): whether it was handled already, the sender's member
 * with their tier and staff role, and the chat's conversation state (so a chat without a
 * conversation costs no further read). The update is not recorded here: `markHandled` does that
 * after it is handled.
 */
export async function takeUpdate(db: Db, ref: UpdateRef, userId: number | undefined, conversationKey: string | undefined): Promise<Intake> {
  let intake = intakes.get(db);
  if (!intake) intakes.set(db, (intake = compileIntake(db)));
  const values: unknown[] = [ref.platform, userId ?? null, conversationKey ?? null, ref.botId, ref.updateId];
  const result = await db.executeQuery<IntakeRow>({ ...intake.compiled, parameters: intake.order.map((i) => values[i]) });
  const row = result.rows[0];
  if (!row) throw new Error('the intake statement returned no row');
  const {
    staff_role, account_blocked, conversation, handled,
    tier_id_, tier_code, tier_rank, tier_name_fa, tier_name_en, tier_threshold, tier_discount_percent, tier_earn_multiplier, tier_perks_fa, tier_perks_en,
    ...member
  } = row;
  const account = member.id === null ? undefined : { member: member as Member, role: staff_role, blocked: account_blocked ?? false };
  const tier =
    tier_id_ === null
      ? undefined
      : ({
          id: tier_id_, code: tier_code, rank: tier_rank, name_fa: tier_name_fa, name_en: tier_name_en, threshold: tier_threshold,
          discount_percent: tier_discount_percent, earn_multiplier: tier_earn_multiplier, perks_fa: tier_perks_fa, perks_en: tier_perks_en,
        } as Tier);
  return { handled: Boolean(handled), account, tier, conversation: conversation ?? undefined };
}

/** Records an update as handled: from now on a delivery of the same update_id is dropped. */
export async function markHandled(db: Db, ref: UpdateRef, now: Date): Promise<void> {
  await markAllHandled(db, [{ ref, now }]);
}

async function markAllHandled(db: Db, done: { ref: UpdateRef; now: Date }[]): Promise<void> {
  await db
    .insertInto('handled_updates')
    .values(done.map(({ ref, now }) => ({ platform: ref.platform, bot_id: ref.botId, update_id: ref.updateId, handled_at: now })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

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
 */
export function handledRecorder(db: Db): (ref: UpdateRef, now: Date) => Promise<void> {
  let queue: { ref: UpdateRef; now: Date; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let writing = false;
  const write = async () => {
    writing = true;
    while (queue.length > 0) {
      const group = queue.slice(0, RECORDED_TOGETHER);
      queue = queue.slice(group.length);
      // One order for every writer, so two processes' groups never wait on each other in a cycle.
      const rows = [...group].sort((a, b) => a.ref.updateId - b.ref.updateId);
      try {
        await markAllHandled(db, rows);
        for (const r of group) r.resolve();
      } catch (error) {
        for (const r of group) r.reject(error);
      }
    }
    writing = false;
  };
  return (ref, now) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ ref, now, resolve, reject });
      if (!writing) void write();
    });
}

/**
 * Runs `work` while holding a PostgreSQL advisory lock named by `key` (a chat): across any number
 * of processes on one database, one holder at a time, the others wait. The lock is held by a
 * session on a reserved connection (the work's own queries use other connections of the pool), so
 * a process that dies releases it with its connection.
 */
export async function withAdvisoryLock<T>(db: Db, key: string, work: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(hashtextextended(${key}, 0))`.execute(conn);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended(${key}, 0))`.execute(conn);
    }
  });
}
