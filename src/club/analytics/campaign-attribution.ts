import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/database.ts';

/** A purchase counts for a campaign when it comes within this many days after the message arrived. */
export const ATTRIBUTION_DAYS = 7;
/**
 * The job attributes purchases up to this long before its clock: a purchase or a delivery commits
 * within seconds of the time it carries (the till's and the sender's clock), so by then every
 * delivery that can claim a purchase before that time is visible. Purchases recorded at a past
 * time (the import) are attributed by their own transaction (attributeLatePurchase).
 */
export const ATTRIBUTION_SETTLE_MS = 15 * 60_000;
/** One transaction of the job covers at most this much purchase time. */
const STEP_MS = 31 * 86_400_000;

/**
 * Last touch: the campaign of the latest message delivered to the buyer of purchase `p` in the
 * `days` before it (campaign_outbox_delivered_idx), as `o.campaign_id`; no row when there is none.
 */
export function latestDelivery(days: number): RawBuilder<unknown> {
  return sql`cross join lateral (
      select o.campaign_id from campaign_outbox o
      where o.member_id = p.member_id and o.status = 'sent' and o.sent_at <= p.created_at
        and o.sent_at > p.created_at - make_interval(days => ${days})
      order by o.sent_at desc, o.campaign_id desc
      limit 1
    ) o`;
}

const ATTRIBUTED = sql.raw('p.id, o.campaign_id, p.member_id, p.branch_id, p.amount_rials, p.created_at, p.status');
const UPSERT = sql.raw(`on conflict (purchase_id) do update set campaign_id = excluded.campaign_id, member_id = excluded.member_id,
  branch_id = excluded.branch_id, amount_rials = excluded.amount_rials, created_at = excluded.created_at, status = excluded.status`);

/** Purchases before this time are in campaign_attributions (null: none yet). */
export async function attributedUntil(db: Db): Promise<Date | null> {
  const { rows } = await sql<{ covered_until: Date | null }>`select covered_until from campaign_attribution_state`.execute(db);
  return rows[0]?.covered_until ?? null;
}

/**
 * The job: attributes the purchases made since the watermark, up to ATTRIBUTION_SETTLE_MS before
 * `now`, a month of purchase time per transaction, and moves the watermark. The first run starts
 * at the first delivery: nothing before it can be attributed. Idempotent and safe to run from
 * several processes (the state row is locked). A purchase's copy follows its void by a trigger.
 */
export async function catchUpCampaignAttribution(db: Db, now: Date): Promise<{ purchases: number; until: Date | null }> {
  const target = new Date(now.getTime() - ATTRIBUTION_SETTLE_MS);
  let purchases = 0;
  for (;;) {
    const step = await db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ covered_until: Date | null }>`select covered_until from campaign_attribution_state for update`.execute(trx);
      const covered = rows[0]!.covered_until;
      if (covered && covered >= target) return { done: true, attributed: 0, until: covered };
      const lower = covered ?? (await sql<{ first: Date | null }>`select min(sent_at) as first from campaign_outbox where status = 'sent'`.execute(trx)).rows[0]!.first;
      const upper = lower ? new Date(Math.min(lower.getTime() + STEP_MS, target.getTime())) : target;
      let attributed = 0;
      if (lower && lower < upper) {
        // The purchases are locked so that a void in progress is copied once it commits (the
        // trigger of a void that comes after finds the row).
        const inserted = await sql`
          insert into campaign_attributions (purchase_id, campaign_id, member_id, branch_id, amount_rials, created_at, status)
          select ${ATTRIBUTED} from purchases p ${latestDelivery(ATTRIBUTION_DAYS)}
          where p.created_at >= ${lower} and p.created_at < ${upper}
          for share of p
          ${UPSERT}`.execute(trx);
        attributed = Number(inserted.numAffectedRows ?? 0);
      }
      await sql`update campaign_attribution_state set covered_until = ${upper}`.execute(trx);
      return { done: upper >= target, attributed, until: upper };
    });
    purchases += step.attributed;
    if (step.done) return { purchases, until: step.until };
  }
}

/**
 * A purchase recorded at a past time, in its own transaction after it is written: attributed here
 * when the watermark has passed its time (the job, waiting for this transaction, sees it otherwise).
 */
export async function attributeLatePurchase(trx: Db, purchase: { id: number; created_at: Date }): Promise<void> {
  const { rows } = await sql<{ covered_until: Date | null }>`select covered_until from campaign_attribution_state for share`.execute(trx);
  const covered = rows[0]?.covered_until;
  if (!covered || purchase.created_at >= covered) return;
  await sql`
    insert into campaign_attributions (purchase_id, campaign_id, member_id, branch_id, amount_rials, created_at, status)
    select ${ATTRIBUTED} from purchases p ${latestDelivery(ATTRIBUTION_DAYS)}
    where p.id = ${purchase.id}
    ${UPSERT}`.execute(trx);
}
