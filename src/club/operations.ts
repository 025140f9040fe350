import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Platform } from '../db/schema.ts';

/** Figures an operator watches (read by /metrics at each scrape; each is one indexed or small query). */
export interface OperationalFigures {
  /** Campaign messages waiting or claimed, per platform and status. */
  outbox: { platform: Platform; status: string; count: number }[];
  /** Each campaign being sent: how many of its messages are settled (sent, failed, blocked, lost). */
  campaigns: { id: number; total: number; settled: number }[];
  blockedAccounts: { platform: Platform; count: number }[];
  /** Purchases recorded in the 24 hours before `now`. */
  purchasesLastDay: number;
}

export async function operationalFigures(db: Db, now: Date): Promise<OperationalFigures> {
  const [outbox, campaigns, blocked, purchases] = await Promise.all([
    db
      .selectFrom('campaign_outbox')
      .select(['platform', 'status', sql<number>`count(*)::int`.as('count')])
      .where('status', 'in', ['pending', 'sending'])
      .groupBy(['platform', 'status'])
      .execute(),
    db
      .selectFrom('campaigns')
      .innerJoin('campaign_outbox', 'campaign_outbox.campaign_id', 'campaigns.id')
      .select([
        'campaigns.id',
        sql<number>`count(*)::int`.as('total'),
        sql<number>`(count(*) filter (where campaign_outbox.status not in ('pending', 'sending')))::int`.as('settled'),
      ])
      .where('campaigns.status', '=', 'sending')
      .groupBy('campaigns.id')
      .execute(),
    db
      .selectFrom('member_accounts')
      .select(['platform', sql<number>`count(*)::int`.as('count')])
      .where('blocked', '=', true)
      .groupBy('platform')
      .execute(),
    db
      .selectFrom('purchases')
      .select(sql<number>`count(*)::int`.as('count'))
      .where('created_at', '>=', new Date(now.getTime() - 86_400_000))
      .executeTakeFirstOrThrow(),
  ]);
  return { outbox, campaigns, blockedAccounts: blocked, purchasesLastDay: purchases.count };
}

/** The database answers a trivial query within `ms`. */
export async function databaseReachable(db: Db, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([sql`select 1`.execute(db).then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
