import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { inSnapshot } from './activity.ts';
import { ATTRIBUTION_DAYS, attributedUntil, latestDelivery } from './campaign-attribution.ts';
import type { ReportScope } from './sales.ts';

export { ATTRIBUTION_DAYS };

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
  const branch = (column: string) => (scope.branchId === null ? sql`` : sql`and ${sql.ref(column)} = ${scope.branchId}`);
  // Message counts are kept per campaign by the outbox's triggers (campaign_message_counts).
  const { rows: sent } = await sql<{ campaign_id: number; pending: number; sending: number; sent: number; blocked: number; failed: number; lost: number; given: number }>`
    select campaign_id, sum(pending)::int8 as pending, sum(sending)::int8 as sending, sum(sent)::int8 as sent,
      sum(blocked)::int8 as blocked, sum(failed)::int8 as failed, sum(lost)::int8 as lost, sum(given)::int8 as given
    from campaign_message_counts where campaign_id in (${sql.join(ids)})
    group by campaign_id`.execute(db);
  const withCodes = sent.filter((r) => r.given > 0).map((r) => r.campaign_id);
  const { rows: used } = withCodes.length
    ? await sql<{ campaign_id: number; used: number }>`
        select o.campaign_id, count(*)::int8 as used
        from campaign_outbox o join voucher_codes v on v.code = o.voucher_code
        where o.campaign_id in (${sql.join(withCodes)}) and o.voucher_code is not null and v.redeemed_at is not null ${branch('v.redeemed_branch_id')}
        group by o.campaign_id`.execute(db)
    : { rows: [] };
  // Purchases that can be attributed at all: from the first of these campaigns to the last one's
  // end plus the window. Those before the job's watermark have their campaign (and a copy of what
  // is read of them) in campaign_attributions; the rest each look up their buyer's latest delivery.
  const first = campaigns.reduce((m, c) => (c.started_at! < m ? c.started_at! : m), campaigns[0]!.started_at!);
  const last = campaigns.reduce((m, c) => {
    const end = c.finished_at ?? now;
    return end > m ? end : m;
  }, first);
  const until = new Date(last.getTime() + days * 86_400_000);
  const covered = days === ATTRIBUTION_DAYS ? await attributedUntil(db) : null;
  const split = covered === null || covered < first ? first : covered > until ? until : covered;
  const { rows: bought } = await sql<{ campaign_id: number; buyers: number; purchases: number; revenue: number }>`
    select campaign_id, count(distinct member_id)::int8 as buyers, count(*)::int8 as purchases, sum(amount_rials)::int8 as revenue
    from (
      select a.campaign_id, a.member_id, a.amount_rials
      from campaign_attributions a
      where a.campaign_id in (${sql.join(ids)}) and a.status = 'recorded' and a.created_at >= ${first} and a.created_at < ${split} ${branch('a.branch_id')}
      union all
      select o.campaign_id, p.member_id, p.amount_rials
      from purchases p ${latestDelivery(days)}
      where p.status = 'recorded' and p.created_at >= ${split} and p.created_at < ${until} ${branch('p.branch_id')}
        and o.campaign_id in (${sql.join(ids)})
    ) attributed
    group by campaign_id`.execute(db);
  return campaigns.map((c) => {
    const s = sent.find((r) => r.campaign_id === c.id);
    const b = bought.find((r) => r.campaign_id === c.id);
    return {
      id: c.id,
      startedAt: c.started_at!,
      text: c.text.replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim().slice(0, 40),
      automation: c.automation_id !== null,
      queued: s ? s.pending + s.sending + s.sent + s.blocked + s.failed + s.lost : 0,
      delivered: s?.sent ?? 0,
      blocked: s?.blocked ?? 0,
      failed: (s?.failed ?? 0) + (s?.lost ?? 0),
      waiting: (s?.pending ?? 0) + (s?.sending ?? 0),
      codesGiven: s?.given ?? 0,
      codesUsed: used.find((r) => r.campaign_id === c.id)?.used ?? 0,
      buyers: b?.buyers ?? 0,
      purchases: b?.purchases ?? 0,
      revenue: b?.revenue ?? 0,
    };
  });
}
