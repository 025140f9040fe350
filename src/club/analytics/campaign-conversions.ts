import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { inSnapshot } from './activity.ts';
import type { ReportScope } from './sales.ts';

/** A purchase counts for a campaign when it comes within this many days after the message arrived. */
export const ATTRIBUTION_DAYS = 7;
/** The report lists at most this many campaigns (the most recent of the period). */
export const MAX_CAMPAIGNS = 50;

export interface CampaignConversion {
  id: number;
  startedAt: Date;
  /** The campaign's first words (plain text as it was written). */
  text: string;
  automation: boolean;
  /** Messages queued (one per recipient), accepted by the messenger, refused because the person blocked the bot, failed otherwise or lost in a crash, not sent yet. */
  queued: number;
  delivered: number;
  blocked: number;
  failed: number;
  waiting: number;
  /** Discount codes handed out with the message, and how many of them were used (at the branch, when one is chosen). */
  codesGiven: number;
  codesUsed: number;
  /** Recipients who bought, their purchases and revenue attributed to this campaign (see campaignConversions). */
  buyers: number;
  purchases: number;
  revenue: number;
}

/**
 * Campaigns started in the period, with what came of them. A recorded purchase is attributed to
 * the latest campaign message delivered to the buyer in the ATTRIBUTION_DAYS before it (last touch),
 * so one purchase never counts for two campaigns; with a branch chosen, only that branch's
 * purchases and code uses count. Telegram and Bale do not report whether a message was read.
 */
/** In one snapshot with JIT off, as the other reports (see inSnapshot). */
export async function campaignConversions(db: Db, scope: ReportScope, now: Date, days = ATTRIBUTION_DAYS): Promise<CampaignConversion[]> {
  return inSnapshot(db, (db) => readCampaignConversions(db, scope, now, days));
}

async function readCampaignConversions(db: Db, scope: ReportScope, now: Date, days: number): Promise<CampaignConversion[]> {
  const { from, to } = scope.period;
  const campaigns = await db
    .selectFrom('campaigns')
    .select(['id', 'started_at', 'finished_at', 'text', 'automation_id'])
    .where('started_at', '>=', from)
    .where('started_at', '<', to)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(MAX_CAMPAIGNS)
    .execute();
  if (campaigns.length === 0) return [];
  const ids = campaigns.map((c) => c.id);
  const window = sql`make_interval(days => ${days})`;
  const { rows: sent } = await sql<{ campaign_id: number; queued: number; delivered: number; blocked: number; failed: number; waiting: number; given: number; used: number }>`
    select o.campaign_id, count(*)::int8 as queued,
      count(*) filter (where o.status = 'sent')::int8 as delivered,
      count(*) filter (where o.status = 'blocked')::int8 as blocked,
      count(*) filter (where o.status in ('failed', 'lost'))::int8 as failed,
      count(*) filter (where o.status in ('pending', 'sending'))::int8 as waiting,
      count(o.voucher_code)::int8 as given,
      count(v.id)::int8 as used
    from campaign_outbox o
    left join voucher_codes v on v.code = o.voucher_code and v.redeemed_at is not null
      ${scope.branchId === null ? sql`` : sql`and v.redeemed_branch_id = ${scope.branchId}`}
    where o.campaign_id in (${sql.join(ids)})
    group by o.campaign_id`.execute(db);
  // Driven by the purchases that can be attributed at all (from the first of these campaigns to
  // the last one's end plus the window), each looking up its buyer's latest delivery before it
  // (campaign_outbox_delivered_idx), rather than by every delivery: a campaign reaches much of
  // the club, while few of them buy within days.
  const first = campaigns.reduce((m, c) => (c.started_at! < m ? c.started_at! : m), campaigns[0]!.started_at!);
  const last = campaigns.reduce((m, c) => {
    const end = c.finished_at ?? now;
    return end > m ? end : m;
  }, first);
  const until = new Date(last.getTime() + days * 86_400_000);
  const { rows: bought } = await sql<{ campaign_id: number; buyers: number; purchases: number; revenue: number }>`
    select o.campaign_id, count(distinct p.member_id)::int8 as buyers, count(*)::int8 as purchases, sum(p.amount_rials)::int8 as revenue
    from purchases p
    cross join lateral (
      select o.campaign_id from campaign_outbox o
      where o.member_id = p.member_id and o.status = 'sent' and o.sent_at <= p.created_at and o.sent_at > p.created_at - ${window}
      order by o.sent_at desc, o.campaign_id desc
      limit 1
    ) o
    where p.status = 'recorded' and p.created_at >= ${first} and p.created_at < ${until}
      ${scope.branchId === null ? sql`` : sql`and p.branch_id = ${scope.branchId}`}
      and o.campaign_id in (${sql.join(ids)})
    group by o.campaign_id`.execute(db);
  return campaigns.map((c) => {
    const s = sent.find((r) => r.campaign_id === c.id);
    const b = bought.find((r) => r.campaign_id === c.id);
    return {
      id: c.id,
      startedAt: c.started_at!,
      text: c.text.replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim().slice(0, 40),
      automation: c.automation_id !== null,
      queued: s?.queued ?? 0,
      delivered: s?.delivered ?? 0,
      blocked: s?.blocked ?? 0,
      failed: s?.failed ?? 0,
      waiting: s?.waiting ?? 0,
      codesGiven: s?.given ?? 0,
      codesUsed: s?.used ?? 0,
      buyers: b?.buyers ?? 0,
      purchases: b?.purchases ?? 0,
      revenue: b?.revenue ?? 0,
    };
  });
}
