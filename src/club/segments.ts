import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { toLatinDigits } from '../lib/digits.ts';
import { audit } from './audit.ts';
import type { Trx } from './ledger.ts';
import { ClubError } from './errors.ts';
import { INTERESTS } from './profile.ts';
import { loyaltySettings } from './rules.ts';

const range = { min: z.number().int().optional(), max: z.number().int().optional() };
export const conditionSchema = z.discriminatedUnion('field', [
  z.object({ field: z.literal('tier'), in: z.array(z.string()).min(1) }),
  z.object({ field: z.literal('points'), ...range }),
  /** Joined within the last `max` days, or more than `min` days ago. */
  z.object({ field: z.literal('joined_days'), ...range }),
  /** Days since the last purchase (members who never bought have no value and never match). */
  z.object({ field: z.literal('last_purchase_days'), ...range }),
  z.object({ field: z.literal('purchases'), ...range }),
  z.object({ field: z.literal('spend'), ...range }),
  z.object({ field: z.literal('birthday_month'), month: z.number().int().min(1).max(12) }),
  z.object({ field: z.literal('gender'), value: z.enum(['female', 'male']) }),
  z.object({ field: z.literal('age'), ...range }),
  z.object({ field: z.literal('platform'), value: z.enum(['telegram', 'bale']) }),
  z.object({ field: z.literal('referrals'), ...range }),
  z.object({ field: z.literal('join_link'), slug: z.string() }),
  /** The city typed in the profile, compared without case, spaces around it or Arabic ي/ك. */
  z.object({ field: z.literal('city'), value: z.string().trim().min(1).max(64) }),
  /** Any of these interests (from the profile's closed list). */
  z.object({ field: z.literal('interests'), any: z.array(z.enum(INTERESTS)).min(1) }),
  /** Bought at this branch at least once (recorded purchases). */
  z.object({ field: z.literal('branch'), id: z.number().int().positive() }),
]);
export type SegmentCondition = z.infer<typeof conditionSchema>;
export const segmentFilterSchema = z.object({ groups: z.array(z.array(conditionSchema)) });
export type SegmentFilter = z.infer<typeof segmentFilterSchema>;

export const ALL_MEMBERS: SegmentFilter = { groups: [] };

// Jalali months as Gregorian (month, day) spans: exact within a day (Nowruz moves between 20 and 21 March).
const JALALI_MONTH_STARTS = ['0321', '0421', '0522', '0622', '0723', '0823', '0923', '1023', '1122', '1222', '0121', '0220'];

function between(expr: RawBuilder<unknown>, c: { min?: number | undefined; max?: number | undefined }) {
  const parts = [];
  if (c.min !== undefined) parts.push(sql`${expr} >= ${c.min}`);
  if (c.max !== undefined) parts.push(sql`${expr} <= ${c.max}`);
  return parts.length ? sql.join(parts, sql` and `) : sql`true`;
}

// Day counts turn into instants so that indexed timestamp columns can be compared directly:
// (now - t) / 1 day >= n  <=>  t <= now - n days. Clamped to ~5,000 years either way (timestamptz's
// range), which every real joined or purchase time is well inside.
const DAY_MS = 86_400_000;
const MAX_DAYS = 2_000_000;

function compileCondition(c: SegmentCondition, now: Date): RawBuilder<unknown> {
  const ago = (n: number) => new Date(now.getTime() - Math.max(-MAX_DAYS, Math.min(MAX_DAYS, n)) * DAY_MS);
  const daysSince = (column: RawBuilder<unknown>, r: { min?: number | undefined; max?: number | undefined }) => {
    const parts = [];
    if (r.min !== undefined) parts.push(sql`${column} <= ${ago(r.min)}::timestamptz`);
    if (r.max !== undefined) parts.push(sql`${column} >= ${ago(r.max)}::timestamptz`);
    return parts.length ? sql`(${sql.join(parts, sql` and `)})` : sql`true`;
  };
  switch (c.field) {
    case 'tier':
      return sql`m.tier_id in (select id from tiers where code in (${sql.join(c.in)}))`;
    case 'points':
      return between(sql`m.points_balance`, c);
    case 'joined_days':
      return daysSince(sql`m.joined_at`, c);
    // The purchase figures are cached on members from purchases with status 'recorded'
    // (migrations/20261122235000_member_stats.ts); a member who never bought has no last_purchase_at.
    case 'last_purchase_days':
      return daysSince(sql`m.last_purchase_at`, c);
    case 'purchases':
      return between(sql`m.purchase_count`, c);
    case 'spend':
      return between(sql`m.spend_rials`, c);
    case 'birthday_month': {
      // Month * 100 + day of the birth date (321 = 21 March), worked out once per member and
      // without a time zone (to_char did both twice and took ~0.25 s more over a million members).
      const from = Number(JALALI_MONTH_STARTS[c.month - 1]!);
      const to = Number(JALALI_MONTH_STARTS[c.month % 12]!);
      const md = sql`(date_part('month', m.birth_date::timestamp) * 100 + date_part('day', m.birth_date::timestamp))::int`;
      // Dey runs from December into January: the span wraps around the year.
      return from < to ? sql`(int4range(${from}, ${to}) @> ${md})` : sql`(not int4range(${to}, ${from}) @> ${md})`;
    }
    case 'gender':
      return sql`m.gender = ${c.value}`;
    case 'age': {
      // Whole years as age() counts them: age >= n exactly when born on or before today n years ago
      // (29 February falls back to the 28th, as age() does). The dates are computed once per query
      // (sub-selects) rather than per member. A birth date after today (bad data) takes age() itself.
      const today = sql`(select ${now}::timestamptz::date)`;
      const bornBy = (years: number) => sql`(select (${now}::timestamptz::date - make_interval(years => ${Math.max(-5000, Math.min(5000, years))}))::date)`;
      const parts = [];
      if (c.min !== undefined) parts.push(sql`m.birth_date <= ${bornBy(c.min)}`);
      if (c.max !== undefined) parts.push(sql`m.birth_date > ${bornBy(c.max + 1)}`);
      if (!parts.length) return sql`true`;
      return sql`(case when m.birth_date <= ${today} then ${sql.join(parts, sql` and `)}
        else ${between(sql`extract(year from age(${now}::timestamptz, m.birth_date::timestamptz))`, c)} end)`;
    }
    case 'platform':
      // Platforms of the member's accounts, blocked or not (cached on members).
      return sql`${c.value} = any(m.platforms)`;
    case 'referrals':
      // Members whose referred_by is this member (cached on members).
      return between(sql`m.referral_count`, c);
    case 'join_link':
      return sql`m.join_link_id = (select id from join_links where slug = ${c.slug})`;
    case 'city':
      return sql`translate(lower(btrim(m.city)), 'يك', 'یک') = ${normalizeCity(c.value)}`;
    case 'interests':
      return sql`(${sql.join(c.any.map((i) => sql`m.interests @> ${JSON.stringify([i])}::jsonb`), sql` or `)})`;
    case 'branch':
      return sql`exists (select 1 from purchases p where p.member_id = m.id and p.branch_id = ${c.id} and p.status = 'recorded')`;
  }
}

/** A city as segments compare it: lower case, trimmed, Persian ی/ک for Arabic ي/ك. */
export function normalizeCity(city: string) {
  return city.trim().toLowerCase().replace(/ي/g, 'ی').replace(/ك/g, 'ک');
}

/** The filter as SQL over `members m`: groups ORed, conditions in a group ANDed; no groups = everyone. */
export function compileSegment(filter: SegmentFilter, now: Date): RawBuilder<unknown> {
  if (filter.groups.length === 0) return sql`true`;
  const groups = filter.groups.map((g) => (g.length ? sql`(${sql.join(g.map((c) => compileCondition(c, now)), sql` and `)})` : sql`true`));
  return sql`(${sql.join(groups, sql` or `)})`;
}

/** Members a campaign would reach: the filter, offers not turned off, and a reachable account. */
export async function countSegment(db: Db, filter: SegmentFilter, now: Date): Promise<number> {
  // m.reachable caches "has an account that has not blocked the bot" (kept by triggers).
  const count = async (q: Db) => {
    const { rows } = await sql<{ n: number }>`
      select count(*) as n from members m
      where m.marketing_opt_in and m.reachable and ${compileSegment(filter, now)}`.execute(q);
    return rows[0]!.n;
  };
  if (db.isTransaction) return count(db);
  // JIT compiling takes longer than the scan it would speed up (~0.4 s at a million members).
  return db.transaction().execute(async (trx) => {
    await sql`set local jit = off`.execute(trx);
    return count(trx);
  });
}

/**
 * The small typed language of /segments: conditions separated by ";" (AND), groups by "|" (OR):
 *   tier=gold,platinum; points>=500; joined<30; bought>60; purchases>=3; spend>=10000000;
 *   birthday=9; gender=female; age=20-35; platform=bale; referrals>=1; link=poster-1;
 *   city=Tehran; interests=food,books; branch=2
 */
export function parseSegment(text: string): SegmentFilter {
  const source = toLatinDigits(text).trim();
  if (!source || source === 'all') return ALL_MEMBERS;
  const groups = source.split('|').map((group) =>
    group
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part): SegmentCondition => {
        const m = /^([a-z_]+)\s*(>=|<=|=|<|>)\s*(.+)$/.exec(part);
        if (!m) throw new ClubError('errors.segment_syntax', { part });
        const [, key, op, raw] = m as unknown as [string, string, string, string];
        const num = Number(raw);
        const bound = (): { min?: number; max?: number } => {
          const span = /^(\d+)-(\d+)$/.exec(raw);
          if (op === '=' && span) return { min: Number(span[1]), max: Number(span[2]) };
          if (!Number.isSafeInteger(num)) throw new ClubError('errors.segment_syntax', { part });
          if (op === '>=' ) return { min: num };
          if (op === '>') return { min: num + 1 };
          if (op === '<=') return { max: num };
          if (op === '<') return { max: num - 1 };
          return { min: num, max: num };
        };
        const parsed = (() => {
          switch (key) {
            case 'tier': return { field: 'tier', in: raw.split(',').map((s) => s.trim().toLowerCase()) };
            case 'points': return { field: 'points', ...bound() };
            case 'joined': return { field: 'joined_days', ...bound() };
            case 'bought': return { field: 'last_purchase_days', ...bound() };
            case 'purchases': return { field: 'purchases', ...bound() };
            case 'spend': return { field: 'spend', ...bound() };
            case 'birthday': return { field: 'birthday_month', month: num };
            case 'gender': return { field: 'gender', value: raw.trim() };
            case 'age': return { field: 'age', ...bound() };
            case 'platform': return { field: 'platform', value: raw.trim() };
            case 'referrals': return { field: 'referrals', ...bound() };
            case 'link': return { field: 'join_link', slug: raw.trim() };
            case 'city': return { field: 'city', value: raw.trim() };
            case 'interests': return { field: 'interests', any: raw.split(',').map((s) => s.trim().toLowerCase()) };
            case 'branch': return { field: 'branch', id: num };
            default: throw new ClubError('errors.segment_syntax', { part });
          }
        })();
        const checked = conditionSchema.safeParse(parsed);
        if (!checked.success) throw new ClubError('errors.segment_syntax', { part });
        return checked.data;
      }),
  );
  return { groups };
}

export async function saveSegment(db: Db, actorMemberId: number, name: string, filter: SegmentFilter, now: Date) {
  if (!name.trim() || name.length > 64) throw new ClubError('errors.segment_name_invalid');
  const parsed = segmentFilterSchema.parse(filter);
  return db.transaction().execute(async (trx) => {
    const segment = await trx.insertInto('segments').values({ name: name.trim(), filter: JSON.stringify(parsed), created_by: actorMemberId, created_at: now }).returningAll().executeTakeFirstOrThrow();
    await audit(trx, { actor: actorMemberId, action: 'segment.save', payload: { segment_id: segment.id, name: segment.name, filter: parsed }, at: now });
    return segment;
  });
}

export async function loadSegment(db: Db, id: number | null): Promise<SegmentFilter> {
  if (id === null) return ALL_MEMBERS;
  const row = await db.selectFrom('segments').select('filter').where('id', '=', id).executeTakeFirst();
  if (!row) throw new ClubError('errors.segment_not_found');
  return segmentFilterSchema.parse(row.filter);
}

/** Names a segment builder shows for tiers, branches and join links, and how money is spoken. */
export interface SegmentChoices {
  tiers: { code: string; fa: string; en: string }[];
  branches: { id: number; name: string }[];
  links: { slug: string; name: string }[];
  moneyUnit: 'toman' | 'rial';
}

export async function segmentChoices(db: Db): Promise<SegmentChoices> {
  const tiers = await db.selectFrom('tiers').select(['code', 'name_fa', 'name_en']).orderBy('rank').execute();
  const branches = await db.selectFrom('branches').select(['id', 'name']).where('active', '=', true).orderBy('id').execute();
  const links = await db.selectFrom('join_links').select(['slug', 'name']).orderBy('id', 'desc').limit(10).execute();
  const { moneyUnit } = await loyaltySettings(db);
  return { tiers: tiers.map((x) => ({ code: x.code, fa: x.name_fa, en: x.name_en })), branches, links, moneyUnit };
}

export async function segmentName(db: Db, id: number): Promise<string | undefined> {
  return (await db.selectFrom('segments').select('name').where('id', '=', id).executeTakeFirst())?.name;
}

/** Saved segments (not deleted), newest first, for pickers (broadcast, surveys, automations). */
export async function listSegments(db: Db, limit = 10) {
  return db.selectFrom('segments').select(['id', 'name']).where('archived_at', 'is', null).orderBy('id', 'desc').limit(limit).execute();
}

/** A saved segment to show and edit; undefined when unknown or deleted. */
export async function findSegment(db: Db, id: number) {
  const row = await db.selectFrom('segments').select(['id', 'name', 'filter']).where('id', '=', id).where('archived_at', 'is', null).executeTakeFirst();
  return row && { id: row.id, name: row.name, filter: segmentFilterSchema.parse(row.filter) };
}

/** Something that will still read a segment's members later. */
export type SegmentUse =
  | { kind: 'campaign'; id: number }
  | { kind: 'automation'; id: number; name: string }
  | { kind: 'lottery'; id: number; name: string }
  | { kind: 'quiz'; id: number; name: string }
  | { kind: 'voucher_pool'; id: number; name: string }
  | { kind: 'survey'; id: number; name: string };

/**
 * What still depends on the segment: scheduled campaigns, automations that are on, open lotteries
 * and quizzes, voucher pools still valid, surveys not yet published. What already ran keeps its
 * record and does not count.
 */
export async function segmentUses(db: Db | Trx, id: number, now: Date): Promise<SegmentUse[]> {
  const [campaigns, automations, lotteries, quizzes, pools, surveys] = await Promise.all([
    db.selectFrom('campaigns').select('id').where('segment_id', '=', id).where('status', '=', 'scheduled').orderBy('id').execute(),
    db.selectFrom('automations').select(['id', 'name', 'kind']).where('segment_id', '=', id).where('enabled', '=', true).orderBy('id').execute(),
    db.selectFrom('lotteries').select(['id', 'title']).where('segment_id', '=', id).where('status', '=', 'open').orderBy('id').execute(),
    db.selectFrom('quizzes').select(['id', 'title']).where('segment_id', '=', id).where('closes_at', '>', now).orderBy('id').execute(),
    db.selectFrom('voucher_pools').select(['id', 'name']).where('segment_id', '=', id).where('valid_to', '>', now).orderBy('id').execute(),
    db.selectFrom('surveys').select(['id', 'title_fa']).where('status', '=', 'draft').where(sql<boolean>`audience->>'kind' = 'segment' and (audience->>'id')::int = ${id}`).orderBy('id').execute(),
  ]);
  return [
    ...campaigns.map((c) => ({ kind: 'campaign' as const, id: c.id })),
    ...automations.map((a) => ({ kind: 'automation' as const, id: a.id, name: a.name })),
    ...lotteries.map((l) => ({ kind: 'lottery' as const, id: l.id, name: l.title })),
    ...quizzes.map((q) => ({ kind: 'quiz' as const, id: q.id, name: q.title })),
    ...pools.map((p) => ({ kind: 'voucher_pool' as const, id: p.id, name: p.name })),
    ...surveys.map((s) => ({ kind: 'survey' as const, id: s.id, name: s.title_fa })),
  ];
}

export async function renameSegment(db: Db, actorMemberId: number, id: number, name: string, now: Date) {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 64) throw new ClubError('errors.segment_name_invalid');
  return db.transaction().execute(async (trx) => {
    const renamed = await trx.updateTable('segments').set({ name: trimmed }).where('id', '=', id).where('archived_at', 'is', null).returning(['id', 'name']).executeTakeFirst();
    if (!renamed) throw new ClubError('errors.segment_not_found');
    await audit(trx, { actor: actorMemberId, action: 'segment.rename', payload: { segment_id: id, name: trimmed }, at: now });
    return renamed;
  });
}

/** New conditions for a saved segment: whatever reads it later (a scheduled campaign) reads these. */
export async function updateSegmentFilter(db: Db, actorMemberId: number, id: number, filter: SegmentFilter, now: Date) {
  const parsed = segmentFilterSchema.parse(filter);
  return db.transaction().execute(async (trx) => {
    const updated = await trx.updateTable('segments').set({ filter: JSON.stringify(parsed) }).where('id', '=', id).where('archived_at', 'is', null).returning(['id', 'name']).executeTakeFirst();
    if (!updated) throw new ClubError('errors.segment_not_found');
    await audit(trx, { actor: actorMemberId, action: 'segment.edit', payload: { segment_id: id, filter: parsed }, at: now });
    return updated;
  });
}

/**
 * Deletes (archives) a segment nothing still depends on; otherwise refuses and says what uses it
 * (the manager cancels or changes those first). Checked in the transaction that archives it.
 */
export async function deleteSegment(db: Db, actorMemberId: number, id: number, now: Date): Promise<{ deleted: true } | { deleted: false; uses: SegmentUse[] }> {
  return db.transaction().execute(async (trx) => {
    const segment = await trx.selectFrom('segments').select(['id', 'name']).where('id', '=', id).where('archived_at', 'is', null).forUpdate().executeTakeFirst();
    if (!segment) throw new ClubError('errors.segment_not_found');
    const uses = await segmentUses(trx, id, now);
    if (uses.length > 0) return { deleted: false as const, uses };
    await trx.updateTable('segments').set({ archived_at: now }).where('id', '=', id).execute();
    await audit(trx, { actor: actorMemberId, action: 'segment.delete', payload: { segment_id: id, name: segment.name }, at: now });
    return { deleted: true as const };
  });
}
