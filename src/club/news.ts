import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { News } from '../db/schema.ts';
import { audit } from './audit.ts';
import { campaignTextMax, createCampaign, startCampaign } from './campaigns.ts';
import { ClubError } from './errors.ts';

/** News and events (اخبار و رویدادها): posted by managers, browsed newest first, an event pushable to a segment. */

export interface NewsInput {
  text: string;
  photoFileId: string | null;
  eventAt: Date | null;
  branchId: number | null;
  button: { text: string; url: string } | null;
}

export async function postNews(db: Db, actorMemberId: number, input: NewsInput, now: Date): Promise<News> {
  const text = input.text.trim();
  if (!text) throw new ClubError('errors.text_empty');
  // Within what a campaign can carry, so any post can also be pushed.
  const max = campaignTextMax(Boolean(input.photoFileId), false) - 100;
  if (text.length > max) throw new ClubError('errors.text_too_long', { max });
  const news = await db
    .insertInto('news')
    .values({
      text,
      photo_file_id: input.photoFileId,
      event_at: input.eventAt,
      branch_id: input.branchId,
      button: input.button ? JSON.stringify(input.button) : null,
      campaign_id: null,
      created_by: actorMemberId,
      created_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(db, { actor: actorMemberId, action: 'news.post', payload: { news_id: news.id }, at: now });
  return news;
}

/** One page of posts, newest first, with the total for "2 of 7". */
export async function newsPage(db: Db, offset: number): Promise<{ item: (News & { branch_name: string | null }) | undefined; total: number }> {
  const { rows } = await sql<News & { branch_name: string | null; total: number }>`
    select n.*, b.name as branch_name, count(*) over () as total
    from news n left join branches b on b.id = n.branch_id
    order by n.created_at desc, n.id desc offset ${Math.max(0, offset)} limit 1`.execute(db);
  if (rows[0]) return { item: rows[0], total: rows[0].total };
  const { n } = await db.selectFrom('news').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return { item: undefined, total: n };
}

/** One post with its branch's name (a pushed post is rendered from it for each member). */
export async function newsById(db: Db, id: number): Promise<(News & { branch_name: string | null }) | undefined> {
  const { rows } = await sql<News & { branch_name: string | null }>`
    select n.*, b.name as branch_name from news n left join branches b on b.id = n.branch_id where n.id = ${id}`.execute(db);
  return rows[0];
}

/**
 * Pushes a post to a segment through the campaign outbox (members who take offers), once: the
 * post remembers its campaign, and a second push adds nothing.
 */
export async function pushNews(db: Db, actorMemberId: number, newsId: number, segmentId: number | null, text: string, now: Date): Promise<number | null> {
  return db.transaction().execute(async (trx) => {
    const news = await trx.selectFrom('news').selectAll().where('id', '=', newsId).forUpdate().executeTakeFirst();
    if (!news) throw new ClubError('errors.news_not_found');
    if (news.campaign_id !== null) return null;
    const button = news.button ? { kind: 'url' as const, ...news.button } : null;
    const campaign = await createCampaign(trx, actorMemberId, { segmentId, text, photoFileId: news.photo_file_id, button }, now);
    await trx.updateTable('news').set({ campaign_id: campaign.id }).where('id', '=', newsId).execute();
    await startCampaign(trx, campaign.id, now);
    return campaign.id;
  });
}
