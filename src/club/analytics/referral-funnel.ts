import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { inSnapshot } from './activity.ts';
import { perBucket, periodBuckets } from './buckets.ts';
import type { Period } from './period.ts';

/**
 * The invitation funnel of the people who arrived in the period (club-wide: an invitation belongs
 * to no branch). The messenger does not tell the club when a member shares their link, so the
 * funnel starts where the club can see it:
 * - opened: people not yet members who opened an invitation link (invitation_opens), or joined
 *   through one, in the period; each person once;
 * - joined: friends who joined through a link in the period (referrals other than refusals);
 * - bought: of those, friends with a recorded purchase so far (at any branch, up to now);
 * - rewarded: of those, referrals whose inviter has been rewarded and not reversed.
 * Openings by people who were members already (or their own link) are counted apart as refused.
 */
export interface ReferralFunnel {
  opened: number;
  joined: number;
  bought: number;
  rewarded: number;
  /** Joined and waiting (for a qualifying purchase, or a manager's review beyond the caps). */
  waiting: number;
  /** A manager refused the referral (over the caps), or the reward was taken back with a void. */
  rejected: number;
  reversed: number;
  refused: number;
  inviterPoints: number;
  inviters: number;
  byBucket: { bucket: string; opened: number; joined: number; bought: number; rewarded: number }[];
}

/** In one snapshot with JIT off, as the other reports (see inSnapshot). */
export async function referralFunnel(db: Db, period: Period): Promise<ReferralFunnel> {
  return inSnapshot(db, (db) => readReferralFunnel(db, period));
}

async function readReferralFunnel(db: Db, period: Period): Promise<ReferralFunnel> {
  const { from, to } = period;
  const { keys, edges } = periodBuckets(period);
  const { rows: opened } = await sql<{ b: number; opened: number }>`
    select width_bucket(at, ${edges}) as b, count(*)::int8 as opened from (
      select platform, user_id, min(at) as at from (
        select platform, user_id, opened_at as at from invitation_opens where opened_at >= ${from} and opened_at < ${to}
        union all
        select platform, user_id, created_at from referrals where status <> 'refused' and created_at >= ${from} and created_at < ${to}
      ) o group by 1, 2
    ) p group by 1`.execute(db);
  const { rows: joined } = await sql<{ b: number; joined: number; bought: number; rewarded: number; waiting: number; rejected: number; reversed: number; points: number; inviters: number; refused: number }>`
    select width_bucket(r.created_at, ${edges}) as b,
      count(*) filter (where r.status <> 'refused')::int8 as joined,
      count(*) filter (where r.status <> 'refused' and m.purchase_count > 0)::int8 as bought,
      count(*) filter (where r.status = 'rewarded')::int8 as rewarded,
      count(*) filter (where r.status in ('pending', 'pending_review'))::int8 as waiting,
      count(*) filter (where r.status = 'rejected')::int8 as rejected,
      count(*) filter (where r.status = 'reversed')::int8 as reversed,
      coalesce(sum(r.inviter_points) filter (where r.status = 'rewarded'), 0)::int8 as points,
      count(distinct r.inviter_id) filter (where r.status <> 'refused')::int8 as inviters,
      count(*) filter (where r.status = 'refused')::int8 as refused
    from referrals r left join members m on m.id = r.referee_id
    where r.created_at >= ${from} and r.created_at < ${to}
    group by rollup (1)`.execute(db);
  const total = joined.find((r) => r.b === null);
  const byBucket = perBucket(
    keys,
    [...opened, ...joined.filter((r) => r.b !== null).map(({ b, joined, bought, rewarded }) => ({ b, joined, bought, rewarded }))],
    () => ({ opened: 0, joined: 0, bought: 0, rewarded: 0 }),
  );
  return {
    opened: opened.reduce((s, r) => s + r.opened, 0),
    joined: total?.joined ?? 0,
    bought: total?.bought ?? 0,
    rewarded: total?.rewarded ?? 0,
    waiting: total?.waiting ?? 0,
    rejected: total?.rejected ?? 0,
    reversed: total?.reversed ?? 0,
    refused: total?.refused ?? 0,
    inviterPoints: total?.points ?? 0,
    inviters: total?.inviters ?? 0,
    byBucket,
  };
}
