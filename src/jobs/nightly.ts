import { sql } from 'kysely';
import type { ClubDeps } from '../bot/context.ts';
import { refreshMemberActivity } from '../club/analytics/activity.ts';
import { expireLots } from '../club/ledger.ts';
import { expireRedemptions } from '../club/redemptions.ts';
import { loyaltySettings } from '../club/rules.ts';
import { reviewTiers } from '../club/tiers.ts';
import { referralSettings, settleReferralPurchase } from '../club/referrals.ts';
import { pruneHandledUpdates } from '../club/updates.ts';
import type { Db } from '../db/database.ts';
import { formatNumber } from '../lib/format.ts';
import { formatValidUntil, todayIso } from '../lib/jalali.ts';
import { tierName } from '../bot/screens.ts';

export const EXPIRY_WARNING_DAYS = 7;
export const TIER_WARNING_DAYS = 14;
const STALE_RUN_MS = 30 * 60_000;

/**
 * Claims a named run (e.g. the night of 2026-11-22) for this process. A run already done is not
 * repeated; a run that started and died more than half an hour ago is taken over and resumed:
 * every step below is idempotent, so resuming never pays or takes twice.
 */
export async function claimRun(db: Db, name: string, runKey: string, now: Date): Promise<boolean> {
  const inserted = await db
    .insertInto('job_runs')
    .values({ name, run_key: runKey, status: 'running', started_at: now })
    .onConflict((oc) => oc.doNothing())
    .returning('name')
    .executeTakeFirst();
  if (inserted) return true;
  const takenOver = await db
    .updateTable('job_runs')
    .set({ started_at: now })
    .where('name', '=', name)
    .where('run_key', '=', runKey)
    .where('status', '=', 'running')
    .where('started_at', '<', new Date(now.getTime() - STALE_RUN_MS))
    .returning('name')
    .executeTakeFirst();
  return Boolean(takenOver);
}

export async function finishRun(db: Db, name: string, runKey: string, now: Date) {
  await db.updateTable('job_runs').set({ status: 'done', finished_at: now }).where('name', '=', name).where('run_key', '=', runKey).execute();
}

export interface NightlyReport {
  ran: boolean;
  expiredPoints: number;
  expiryWarnings: number;
  demoted: number;
  tierWarnings: number;
}

/** Expire lots, warn about points expiring within a week, review tiers. */
export async function runNightly(deps: ClubDeps, now = deps.now()): Promise<NightlyReport> {
  const { db, config } = deps;
  const runKey = todayIso(now, config.timeZone);
  const report: NightlyReport = { ran: false, expiredPoints: 0, expiryWarnings: 0, demoted: 0, tierWarnings: 0 };
  if (!(await claimRun(db, 'nightly', runKey, now))) return report;
  report.ran = true;
  const settings = await loyaltySettings(db, { tierWindowDays: config.tierWindowDays, validity: { mode: 'days', days: config.pointsValidityDays } });

  await expireRedemptions(db, now);
  report.expiredPoints = (await expireLots(db, now)).points;
  report.expiryWarnings = await warnExpiringPoints(deps, now);

  await settlePendingReferrals(deps, now);
  const review = await reviewTiers(db, now, settings.tierWindowDays, TIER_WARNING_DAYS);
  report.demoted = review.demoted.length;
  report.tierWarnings = review.warned.length;
  for (const d of review.demoted) {
    await deps.notifier.notify(d.memberId, ({ t, locale }) => ({ html: t('tiers.demoted', { from: tierName(d.from, locale), to: tierName(d.to, locale) }) }));
  }
  for (const w of review.warned) {
    await deps.notifier.notify(w.memberId, ({ t, locale }) => ({
      html: t('tiers.warning', { tier: tierName(w.tier, locale), points: formatNumber(w.toKeep, locale), days: formatNumber(TIER_WARNING_DAYS, locale) }),
    }));
  }
  await pruneHandledUpdates(db, now);
  // The month that ended is added to the reports' activity rollup, months voided in are rebuilt.
  await refreshMemberActivity(db, now, config.timeZone);
  await finishRun(db, 'nightly', runKey, now);
  deps.logger.info({ runKey, ...report }, 'nightly run done');
  return report;
}

/**
 * One reminder per lot, a week before it expires, grouped into one message per member. The notice
 * is recorded before the message goes out: after a crash a reminder may be missing, never doubled.
 */
export async function warnExpiringPoints(deps: ClubDeps, now: Date): Promise<number> {
  const { db } = deps;
  const horizon = new Date(now.getTime() + EXPIRY_WARNING_DAYS * 86_400_000);
  const lots = await db
    .selectFrom('ledger_lots')
    .select(['ledger_lots.entry_id', 'ledger_lots.member_id', 'ledger_lots.remaining', 'ledger_lots.expires_at'])
    .where('ledger_lots.currency', '=', 'points')
    .where('ledger_lots.remaining', '>', 0)
    .where('ledger_lots.expires_at', '>', now)
    .where('ledger_lots.expires_at', '<=', horizon)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('member_notices')
            .select(sql`1`.as('one'))
            .whereRef('member_notices.member_id', '=', 'ledger_lots.member_id')
            .where('member_notices.kind', '=', 'expiry')
            .whereRef('member_notices.key', '=', sql`ledger_lots.entry_id::text`),
        ),
      ),
    )
    .orderBy('ledger_lots.member_id')
    .execute();
  const byMember = new Map<number, { points: number; first: Date; lots: number[] }>();
  for (const lot of lots) {
    const entry = byMember.get(lot.member_id) ?? { points: 0, first: lot.expires_at!, lots: [] };
    entry.points += lot.remaining;
    if (lot.expires_at! < entry.first) entry.first = lot.expires_at!;
    entry.lots.push(lot.entry_id);
    byMember.set(lot.member_id, entry);
  }
  for (const [memberId, warning] of byMember) {
    await db
      .insertInto('member_notices')
      .values(warning.lots.map((id) => ({ member_id: memberId, kind: 'expiry', key: String(id), created_at: now })))
      .onConflict((oc) => oc.doNothing())
      .execute();
    await deps.notifier.notify(memberId, ({ t, locale }) => ({
      html: t('expiry.warning', { points: formatNumber(warning.points, locale), date: formatValidUntil(warning.first, locale, deps.config.timeZone) }),
      keyboard: { inline_keyboard: [[{ text: t('menu.rewards'), callback_data: 'rewards' }]] },
    }));
  }
  return byMember.size;
}

/**
 * The till settles a referral right after the purchase; this catches any a crash left behind:
 * pending referrals whose friend already has a qualifying purchase. Settling is idempotent.
 */
export async function settlePendingReferrals(deps: ClubDeps, now: Date): Promise<number> {
  const settings = await referralSettings(deps.db);
  if (settings.inviterWhen !== 'first_purchase') return 0;
  const due = await deps.db
    .selectFrom('referrals as r')
    .innerJoin('purchases as p', 'p.member_id', 'r.referee_id')
    .select(['r.referee_id', sql<number>`min(p.id)`.as('purchase_id')])
    .where('r.status', '=', 'pending')
    .where('p.status', '=', 'recorded')
    .where('p.amount_rials', '>=', settings.inviterMinPurchase)
    .groupBy('r.referee_id')
    .execute();
  let settled = 0;
  for (const row of due) {
    const result = await settleReferralPurchase(deps.db, row.referee_id!, row.purchase_id, { now, timeZone: deps.config.timeZone });
    if (result) settled++;
  }
  return settled;
}
