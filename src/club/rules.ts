import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { EarningRule, Tier } from '../db/schema.ts';
import { isoToJalali, jalaliToIso, todayIso } from '../lib/jalali.ts';
import { zonedMidnight } from '../lib/zoned.ts';
import { ClubError } from './errors.ts';
import { settingsStore } from './settings.ts';
import type { Trx } from './ledger.ts';
import { audit } from './audit.ts';

/** Club-wide loyalty settings, editable by owner/manager; stored in club_settings('loyalty'). */
export const loyaltySettingsSchema = z.object({
  validity: z
    .object({ mode: z.enum(['days', 'jalali_month_end', 'jalali_year_end']), days: z.number().int().min(1).max(3650) })
    .default({ mode: 'days', days: 365 }),
  /** Rials of credit one point converts to. */
  rialsPerPointCredit: z.number().int().min(1).default(1000),
  tierWindowDays: z.number().int().min(1).max(3650).default(365),
  /** How long a member has to approve a redemption in their chat. */
  redemptionMinutes: z.number().int().min(1).max(60).default(5),
  /**
   * The club's display unit for money: a bare number typed at the till is read in it (120000 at a
   * Toman club is 1,200,000 Rials). Money is stored in Rials either way.
   */
  moneyUnit: z.enum(['toman', 'rial']).default('toman'),
  /**
   * Points per event: profile completion and the offers opt-out are paid by applyEventRule; the
   * survey amount is what a new survey's reward starts at. Referral amounts live in the referral
   * settings and the birthday gift on the birthday automation (see club/event-amounts.ts).
   */
  events: z
    .object({
      profile_completion: z.number().int().default(100),
      survey_answered: z.number().int().default(20),
      offers_opt_out: z.number().int().max(0).default(0),
    })
    .default({ profile_completion: 100, survey_answered: 20, offers_opt_out: 0 }),
});
export type LoyaltySettings = z.infer<typeof loyaltySettingsSchema>;

const loyaltyStore = settingsStore('loyalty', loyaltySettingsSchema);
export const loyaltySettings = loyaltyStore.read;
export const saveLoyaltySettings = loyaltyStore.save;

/** The branch's own rule while it is active, else the club's rule. */
export async function effectiveRule(db: Db | Trx, branchId: number | null, now: Date): Promise<EarningRule> {
  const rules = await db
    .selectFrom('earning_rules')
    .selectAll()
    .where((eb) => eb.or([eb('branch_id', 'is', null), ...(branchId === null ? [] : [eb('branch_id', '=', branchId)])]))
    .where((eb) => eb.or([eb('active_from', 'is', null), eb('active_from', '<=', now)]))
    .where((eb) => eb.or([eb('active_to', 'is', null), eb('active_to', '>', now)]))
    .orderBy(sql`branch_id is null`)
    .execute();
  const rule = rules[0];
  if (!rule) throw new Error('no active earning rule: the club rule must always exist');
  return rule;
}

export interface PointsBreakdown {
  base: number;
  multiplier: number;
  fromSpend: number;
  visit: number;
  total: number;
  belowMinimum: boolean;
}

/** Points for a purchase: spend points times the tier multiplier, plus visit points within the daily cap. */
export function purchasePoints(rule: Pick<EarningRule, 'rials_per_point' | 'min_purchase' | 'visit_points' | 'visit_daily_cap'>, amountRials: number, tier: Pick<Tier, 'earn_multiplier'>, visitsToday: number): PointsBreakdown {
  const multiplier = Number(tier.earn_multiplier);
  if (amountRials < rule.min_purchase) return { base: 0, multiplier, fromSpend: 0, visit: 0, total: 0, belowMinimum: true };
  const base = Math.floor(amountRials / rule.rials_per_point);
  // Multiply in hundredths to keep 1.25 x 3 = 3.75 -> 3 exact rather than floating.
  const fromSpend = Math.floor((base * Math.round(multiplier * 100)) / 100);
  const visit = visitsToday < rule.visit_daily_cap ? rule.visit_points : 0;
  return { base, multiplier, fromSpend, visit, total: fromSpend + visit, belowMinimum: false };
}

/** When a lot earned now expires: after N days, or at the end of the Jalali month or year (club time). */
export function lotExpiry(now: Date, validity: LoyaltySettings['validity'], tz: string): Date {
  if (validity.mode === 'days') return new Date(now.getTime() + validity.days * 86_400_000);
  const { jy, jm } = isoToJalali(todayIso(now, tz));
  const next = validity.mode === 'jalali_month_end' ? (jm === 12 ? [jy + 1, 1] : [jy, jm + 1]) : [jy + 1, 1];
  return zonedMidnight(jalaliToIso(next[0]!, next[1]!, 1), tz);
}

export type RulePatch = Partial<Pick<EarningRule, 'rials_per_point' | 'min_purchase' | 'visit_points' | 'visit_daily_cap'>>;

function checkRule(patch: RulePatch) {
  for (const [field, value] of Object.entries(patch)) {
    const min = field === 'rials_per_point' ? 1 : 0;
    if (!Number.isSafeInteger(value) || (value as number) < min) throw new ClubError('errors.rule_value_invalid', { field });
  }
}

/** Changes the club rule (branchId null) or a branch's own rule, creating the latter on first use. */
export async function setEarningRule(db: Db, actorMemberId: number, branchId: number | null, patch: RulePatch, now: Date) {
  checkRule(patch);
  return db.transaction().execute(async (trx) => {
    if (branchId !== null) {
      const branch = await trx.selectFrom('branches').select('id').where('id', '=', branchId).executeTakeFirst();
      if (!branch) throw new ClubError('errors.branch_not_found');
    }
    const existing = await trx
      .selectFrom('earning_rules')
      .selectAll()
      .where((eb) => (branchId === null ? eb('branch_id', 'is', null) : eb('branch_id', '=', branchId)))
      .executeTakeFirst();
    let rule: EarningRule;
    if (existing) {
      rule = await trx.updateTable('earning_rules').set({ ...patch, updated_by: actorMemberId, updated_at: now }).where('id', '=', existing.id).returningAll().executeTakeFirstOrThrow();
    } else {
      const club = await trx.selectFrom('earning_rules').selectAll().where('branch_id', 'is', null).executeTakeFirstOrThrow();
      rule = await trx
        .insertInto('earning_rules')
        .values({ branch_id: branchId, rials_per_point: club.rials_per_point, min_purchase: club.min_purchase, visit_points: club.visit_points, visit_daily_cap: club.visit_daily_cap, ...patch, updated_by: actorMemberId, updated_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
    }
    await audit(trx, { actor: actorMemberId, action: 'rules.set', payload: { branch_id: branchId, ...patch }, at: now });
    return rule;
  });
}

/** A branch goes back to the club's rule. */
export async function removeBranchRule(db: Db, actorMemberId: number, branchId: number, now: Date) {
  const deleted = await db.deleteFrom('earning_rules').where('branch_id', '=', branchId).returning('id').executeTakeFirst();
  if (deleted) await audit(db, { actor: actorMemberId, action: 'rules.remove_branch', payload: { branch_id: branchId }, at: now });
  return Boolean(deleted);
}

export async function listEarningRules(db: Db) {
  return db
    .selectFrom('earning_rules')
    .leftJoin('branches', 'branches.id', 'earning_rules.branch_id')
    .selectAll('earning_rules')
    .select('branches.name as branch_name')
    .orderBy(sql`earning_rules.branch_id is not null`)
    .orderBy('earning_rules.branch_id')
    .execute();
}

/**
 * When a branch's own rule applies (a promotion: "double points in Nowruz week"); outside those
 * dates the branch earns by the club's rule. The club's rule has no dates: it is always the fallback.
 */
/** Changes a branch rule's start or end date (the one not given stays as it is). */
export async function setRuleDates(db: Db, actorMemberId: number, branchId: number, change: { from?: Date | null; to?: Date | null }, now: Date) {
  const current = await db.selectFrom('earning_rules').select(['active_from', 'active_to']).where('branch_id', '=', branchId).executeTakeFirst();
  if (!current) throw new ClubError('panel.error_rule_not_found');
  const dates = { from: change.from !== undefined ? change.from : current.active_from, to: change.to !== undefined ? change.to : current.active_to };
  if (dates.from && dates.to && dates.to <= dates.from) throw new ClubError('panel.error_dates_order');
  const updated = await db
    .updateTable('earning_rules')
    .set({ active_from: dates.from, active_to: dates.to, updated_by: actorMemberId, updated_at: now })
    .where('branch_id', '=', branchId)
    .returningAll()
    .executeTakeFirst();
  if (!updated) throw new ClubError('panel.error_rule_not_found');
  await audit(db, { actor: actorMemberId, action: 'rules.dates', payload: { branch_id: branchId, from: dates.from, to: dates.to }, at: now });
  return updated;
}

/** What earning and spending rules need from outside: the club's clock, its zone, and configured defaults. */
export interface LoyaltyEnv {
  now: Date;
  timeZone: string;
  defaults?: Partial<LoyaltySettings>;
}
