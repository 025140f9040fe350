import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Member, Tier } from '../db/schema.ts';
import { ClubError } from './errors.ts';
import type { Trx } from './ledger.ts';
import { audit } from './audit.ts';
import { queueNotice } from './notifications.ts';

/** A tier's name as a notice says it, in the recipient's language. */
const tierWords = (tier: Tier) => ({ fa: tier.name_fa, en: tier.name_en });

/** Ledger kinds that count toward a tier: earnings, less earnings taken back by a void. */
export const EARNING_KINDS = ['earn', 'earn_reversal'] as const;

export async function listTiers(db: Db | Trx): Promise<Tier[]> {
  return db.selectFrom('tiers').selectAll().orderBy('rank').execute();
}

export async function tierById(db: Db | Trx, id: number): Promise<Tier | undefined> {
  return db.selectFrom('tiers').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The member's tier (every member has one). */
export async function tierOf(db: Db | Trx, member: Pick<Member, 'tier_id'>): Promise<Tier> {
  return db.selectFrom('tiers').selectAll().where('id', '=', member.tier_id).executeTakeFirstOrThrow();
}

export async function lowestTier(db: Db): Promise<Tier> {
  return db.selectFrom('tiers').selectAll().orderBy('rank').limit(1).executeTakeFirstOrThrow();
}

/** Points earned in the rolling qualifying window (never the balance: spending does not demote). */
export async function earnedInWindow(db: Db | Trx, memberId: number, now: Date, windowDays: number): Promise<number> {
  const since = new Date(now.getTime() - windowDays * 86_400_000);
  const row = await db
    .selectFrom('ledger_entries')
    .select(sql<number>`coalesce(sum(amount), 0)::int8`.as('earned'))
    .where('member_id', '=', memberId)
    .where('currency', '=', 'points')
    .where('kind', 'in', [...EARNING_KINDS])
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  return row.earned;
}

export interface TierProgress {
  tier: Tier;
  next: Tier | undefined;
  earned: number;
  /** Points still to earn in the window to reach `next` (0 at the top tier). */
  toNext: number;
}

export async function tierProgress(db: Db, member: Member, now: Date, windowDays: number): Promise<TierProgress> {
  const [tiers, earned] = await Promise.all([listTiers(db), earnedInWindow(db, member.id, now, windowDays)]);
  const tier = tiers.find((t) => t.id === member.tier_id) ?? tiers[0];
  if (!tier) throw new Error('no tiers configured');
  const next = tiers.find((t) => t.rank > tier.rank);
  return { tier, next, earned, toNext: next ? Math.max(0, next.threshold - earned) : 0 };
}

/** The tier a number of earned points qualifies for (the highest threshold reached). */
export function qualifyingTier(tiers: readonly Tier[], earned: number): Tier {
  let best = tiers[0]!;
  for (const tier of tiers) if (tier.threshold <= earned && tier.rank > best.rank) best = tier;
  return best;
}

/** Promotion is immediate: called after every earning, inside its transaction. Never demotes. */
export async function promoteIfQualified(trx: Trx, memberId: number, now: Date, windowDays: number): Promise<Tier | null> {
  const member = await trx.selectFrom('members').select(['tier_id']).where('id', '=', memberId).executeTakeFirstOrThrow();
  const tiers = await listTiers(trx);
  const current = tiers.find((t) => t.id === member.tier_id) ?? tiers[0]!;
  const target = qualifyingTier(tiers, await earnedInWindow(trx, memberId, now, windowDays));
  if (target.rank <= current.rank) return null;
  await trx.updateTable('members').set({ tier_id: target.id }).where('id', '=', memberId).execute();
  return target;
}

export interface TierReview {
  demoted: { memberId: number; from: Tier; to: Tier }[];
  warned: { memberId: number; tier: Tier; toKeep: number }[];
}

/**
 * The nightly tier review: members whose earnings in the window no longer hold their tier drop to
 * the tier they qualify for; members who would drop within `warnDays` (as older earnings leave the
 * window) are warned once a month per tier. Each notice is queued in the outbox in the same
 * transaction as the change (or the record that the warning was given): never lost, never twice.
 */
export async function reviewTiers(db: Db, now: Date, windowDays: number, warnDays: number): Promise<TierReview> {
  const tiers = await listTiers(db);
  const lowest = tiers[0]!;
  const since = new Date(now.getTime() - windowDays * 86_400_000);
  const soon = new Date(since.getTime() + warnDays * 86_400_000);
  const rows = await db
    .selectFrom('members')
    .leftJoin('ledger_entries as e', (join) =>
      join.onRef('e.member_id', '=', 'members.id').on('e.currency', '=', 'points').on('e.kind', 'in', [...EARNING_KINDS]).on('e.created_at', '>', since),
    )
    .select([
      'members.id',
      'members.tier_id',
      sql<number>`coalesce(sum(e.amount), 0)::int8`.as('earned'),
      sql<number>`coalesce(sum(e.amount) filter (where e.created_at > ${soon}), 0)::int8`.as('earned_soon'),
    ])
    .where('members.tier_id', '<>', lowest.id)
    .groupBy(['members.id', 'members.tier_id'])
    .execute();
  const review: TierReview = { demoted: [], warned: [] };
  const month = now.toISOString().slice(0, 7);
  for (const row of rows) {
    const current = tiers.find((t) => t.id === row.tier_id) ?? lowest;
    const qualified = qualifyingTier(tiers, row.earned);
    if (qualified.rank < current.rank) {
      await db.transaction().execute(async (trx) => {
        const moved = await trx.updateTable('members').set({ tier_id: qualified.id }).where('id', '=', row.id).where('tier_id', '=', current.id).returning('id').executeTakeFirst();
        if (!moved) return;
        await audit(trx, { actor: null, action: 'tier.demote', payload: { member_id: row.id, from: current.code, to: qualified.code, earned: row.earned }, at: now });
        const notice = { kind: 'tier_demoted', lines: [{ key: 'tiers.demoted', params: { from: tierWords(current), to: tierWords(qualified) } }] };
        await queueNotice(trx, row.id, notice, `tier_demoted:${row.id}:${current.code}:${now.toISOString()}`, now);
        review.demoted.push({ memberId: row.id, from: current, to: qualified });
      });
    } else if (qualifyingTier(tiers, row.earned_soon).rank < current.rank) {
      await db.transaction().execute(async (trx) => {
        const key = `${current.code}:${month}`;
        const inserted = await trx.insertInto('member_notices').values({ member_id: row.id, kind: 'tier_warning', key, created_at: now }).onConflict((oc) => oc.doNothing()).returning('member_id').executeTakeFirst();
        if (!inserted) return;
        const toKeep = Math.max(0, current.threshold - row.earned_soon);
        const notice = { kind: 'tier_warning', lines: [{ key: 'tiers.warning', params: { tier: tierWords(current), points: toKeep, days: warnDays } }] };
        await queueNotice(trx, row.id, notice, `tier_warning:${row.id}:${key}`, now);
        review.warned.push({ memberId: row.id, tier: current, toKeep });
      });
    }
  }
  return review;
}

export const TIER_FIELDS = ['threshold', 'discount', 'multiplier', 'name_fa', 'name_en', 'perks_fa', 'perks_en'] as const;
export type TierField = (typeof TIER_FIELDS)[number];

/**
 * Owner/manager edits a tier. Thresholds must keep rising with rank (the first tier stays at 0);
 * a discount is 0-100 percent; a multiplier 1-10 in hundredths.
 */
export async function updateTier(db: Db, actorMemberId: number, code: string, field: TierField, value: string, now: Date): Promise<Tier> {
  return db.transaction().execute(async (trx) => {
    const tiers = await trx.selectFrom('tiers').selectAll().orderBy('rank').forUpdate().execute();
    const index = tiers.findIndex((t) => t.code === code);
    const tier = tiers[index];
    if (!tier) throw new ClubError('errors.tier_not_found');
    const text = value.trim();
    let patch: Partial<Tier>;
    if (field === 'threshold') {
      const n = Number(text);
      const below = tiers[index - 1];
      const above = tiers[index + 1];
      const ok = Number.isSafeInteger(n) && (index === 0 ? n === 0 : n > (below?.threshold ?? 0)) && (!above || n < above.threshold);
      if (!ok) throw new ClubError('errors.tier_threshold_invalid');
      patch = { threshold: n };
    } else if (field === 'discount') {
      const n = Number(text);
      if (!Number.isFinite(n) || n < 0 || n > 100) throw new ClubError('errors.tier_discount_invalid');
      patch = { discount_percent: n.toFixed(2) };
    } else if (field === 'multiplier') {
      const n = Number(text);
      if (!Number.isFinite(n) || n < 1 || n > 10 || Math.round(n * 100) !== n * 100) throw new ClubError('errors.tier_multiplier_invalid');
      patch = { earn_multiplier: n.toFixed(2) };
    } else {
      if (!text || text.length > (field.startsWith('perks') ? 200 : 32)) throw new ClubError('errors.tier_text_invalid');
      patch = { [field]: text };
    }
    const updated = await trx.updateTable('tiers').set(patch).where('id', '=', tier.id).returningAll().executeTakeFirstOrThrow();
    await audit(trx, { actor: actorMemberId, action: 'tiers.update', payload: { code, field, value: text }, at: now });
    return updated;
  });
}
