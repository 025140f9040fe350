import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { audit } from './audit.ts';
import { ClubError } from './errors.ts';

/** Join links: a named link per poster, table or branch (`/start j_<slug>`), and how many joined and bought through each. */
export const JOIN_LINK_PREFIX = 'j_';

export function isValidSlug(slug: string) {
  return /^[a-z0-9][a-z0-9_-]{0,31}$/.test(slug);
}

export async function createJoinLink(db: Db, actorMemberId: number, slug: string, name: string, branchId: number | null, now: Date) {
  const s = slug.toLowerCase();
  if (!isValidSlug(s)) throw new ClubError('errors.link_slug_invalid');
  if (!name.trim() || name.trim().length > 64) throw new ClubError('errors.link_name_invalid');
  const existing = await db.selectFrom('join_links').select('id').where('slug', '=', s).executeTakeFirst();
  if (existing) throw new ClubError('errors.link_exists');
  const link = await db.insertInto('join_links').values({ slug: s, name: name.trim(), branch_id: branchId, created_by: actorMemberId, created_at: now }).returningAll().executeTakeFirstOrThrow();
  await audit(db, { actor: actorMemberId, action: 'link.create', payload: { link_id: link.id, slug: s }, at: now });
  return link;
}

export async function attributeJoinLink(db: Db, memberId: number, slug: string) {
  const link = await db.selectFrom('join_links').select('id').where('slug', '=', slug.toLowerCase()).executeTakeFirst();
  if (link) await db.updateTable('members').set({ join_link_id: link.id }).where('id', '=', memberId).where('join_link_id', 'is', null).execute();
  return Boolean(link);
}

export interface GrowthRow {
  label: string;
  joins: number;
  firstPurchases: number;
}

/** Joins and first purchases over a period, per join link and per inviter. */
export async function growthReport(db: Db, since: Date): Promise<{ links: GrowthRow[]; inviters: GrowthRow[] }> {
  const firstPurchase = sql<number>`count(*) filter (where exists (select 1 from purchases p where p.member_id = m.id and p.status = 'recorded'))`;
  const links = await db
    .selectFrom('join_links as l')
    .leftJoin('members as m', (j) => j.onRef('m.join_link_id', '=', 'l.id').on('m.joined_at', '>=', since))
    .select(['l.slug as label', sql<number>`count(m.id)`.as('joins'), firstPurchase.as('firstPurchases')])
    .groupBy(['l.id', 'l.slug'])
    .orderBy('joins', 'desc')
    .execute();
  const inviters = await db
    .selectFrom('members as m')
    .innerJoin('members as i', 'i.id', 'm.referred_by')
    .select([sql<string>`i.first_name || ' #' || i.id`.as('label'), sql<number>`count(*)`.as('joins'), firstPurchase.as('firstPurchases')])
    .where('m.joined_at', '>=', since)
    .groupBy(['i.id', 'i.first_name'])
    .orderBy('joins', 'desc')
    .limit(20)
    .execute();
  return { links, inviters };
}
