import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { toLatinDigits } from '../lib/digits.ts';
import { ClubError } from './errors.ts';

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

function compileCondition(c: SegmentCondition, now: Date): RawBuilder<unknown> {
  const days = (column: RawBuilder<unknown>) => sql`(extract(epoch from (${now}::timestamptz - ${column})) / 86400)`;
  switch (c.field) {
    case 'tier':
      return sql`m.tier_id in (select id from tiers where code in (${sql.join(c.in)}))`;
    case 'points':
      return between(sql`m.points_balance`, c);
    case 'joined_days':
      return between(days(sql`m.joined_at`), c);
    case 'last_purchase_days':
      return between(days(sql`(select max(p.created_at) from purchases p where p.member_id = m.id and p.status = 'recorded')`), c);
    case 'purchases':
      return between(sql`(select count(*) from purchases p where p.member_id = m.id and p.status = 'recorded')`, c);
    case 'spend':
      return between(sql`(select coalesce(sum(p.amount_rials), 0) from purchases p where p.member_id = m.id and p.status = 'recorded')`, c);
    case 'birthday_month': {
      const from = JALALI_MONTH_STARTS[c.month - 1]!;
      const to = JALALI_MONTH_STARTS[c.month % 12]!;
      const md = sql`to_char(m.birth_date, 'MMDD')`;
      // Dey runs from December into January: the span wraps around the year.
      return from < to ? sql`(${md} >= ${from} and ${md} < ${to})` : sql`(${md} >= ${from} or ${md} < ${to})`;
    }
    case 'gender':
      return sql`m.gender = ${c.value}`;
    case 'age':
      return between(sql`extract(year from age(${now}::timestamptz, m.birth_date::timestamptz))`, c);
    case 'platform':
      return sql`exists (select 1 from member_accounts a2 where a2.member_id = m.id and a2.platform = ${c.value})`;
    case 'referrals':
      return between(sql`(select count(*) from members r where r.referred_by = m.id)`, c);
    case 'join_link':
      return sql`m.join_link_id = (select id from join_links where slug = ${c.slug})`;
  }
}

/** The filter as SQL over `members m`: groups ORed, conditions in a group ANDed; no groups = everyone. */
export function compileSegment(filter: SegmentFilter, now: Date): RawBuilder<unknown> {
  if (filter.groups.length === 0) return sql`true`;
  const groups = filter.groups.map((g) => (g.length ? sql`(${sql.join(g.map((c) => compileCondition(c, now)), sql` and `)})` : sql`true`));
  return sql`(${sql.join(groups, sql` or `)})`;
}

/** Members a campaign would reach: the filter, offers not turned off, and a reachable account. */
export async function countSegment(db: Db, filter: SegmentFilter, now: Date): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*) as n from members m
    where m.marketing_opt_in and ${compileSegment(filter, now)}
      and exists (select 1 from member_accounts a where a.member_id = m.id and not a.blocked)`.execute(db);
  return rows[0]!.n;
}

/**
 * The small typed language of /segments: conditions separated by ";" (AND), groups by "|" (OR):
 *   tier=gold,platinum; points>=500; joined<30; bought>60; purchases>=3; spend>=10000000;
 *   birthday=9; gender=female; age=20-35; platform=bale; referrals>=1; link=poster-1
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

export async function saveSegment(db: Db, actorMemberId: number, name: string, filter: SegmentFilter) {
  if (!name.trim() || name.length > 64) throw new ClubError('errors.segment_name_invalid');
  return db.insertInto('segments').values({ name: name.trim(), filter: JSON.stringify(segmentFilterSchema.parse(filter)), created_by: actorMemberId }).returningAll().executeTakeFirstOrThrow();
}

export async function loadSegment(db: Db, id: number | null): Promise<SegmentFilter> {
  if (id === null) return ALL_MEMBERS;
  const row = await db.selectFrom('segments').select('filter').where('id', '=', id).executeTakeFirst();
  if (!row) throw new ClubError('errors.segment_not_found');
  return segmentFilterSchema.parse(row.filter);
}
