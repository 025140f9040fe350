import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { toLatinDigits } from '../lib/digits.ts';
import { isoToJalali, jalaliToIso, todayIso } from '../lib/jalali.ts';
import { zonedMidnight } from '../lib/zoned.ts';
import { audit } from './audit.ts';
import { ClubError } from './errors.ts';
import { credit } from './ledger.ts';
import { queueNotice, type NoticeText } from './notifications.ts';
import type { LoyaltyEnv } from './rules.ts';
import { loyaltySettings, lotExpiry } from './rules.ts';
import { settingsStore } from './settings.ts';

/**
 * Badges for milestones (first purchase, 5th visit, 3 visits in a Jalali month, first friend
 * invited, profile complete, survey answered), each earned once per member, with the points the
 * owner set; and a visit streak (weeks in a row with a purchase, Saturday to Friday in the club's
 * zone) with a bonus at chosen lengths, once per streak. Awarded by a sweep over recent activity
 * (the per-minute job), so no purchase, signup or survey path has to know about badges.
 */

export const BADGE_CODES = ['first_purchase', 'fifth_visit', 'three_visits_month', 'first_invite', 'profile_complete', 'survey_answered'] as const;
export type BadgeCode = (typeof BADGE_CODES)[number];

export const streakSettings = settingsStore('streaks', z.object({ bonuses: z.record(z.string().regex(/^\d{1,2}$/), z.number().int().min(0).max(1_000_000)).default({ '4': 50, '8': 100 }) }));

export type Award = { memberId: number; kind: 'badge'; code: BadgeCode; points: number } | { memberId: number; kind: 'streak'; weeks: number; points: number };

const DAY_MS = 86_400_000;

/** The Saturday (YYYY-MM-DD) starting the week of `at` in the club's zone. */
export function weekOf(at: Date, tz: string): string {
  const day = new Date(`${todayIso(at, tz)}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 1) % 7));
  return day.toISOString().slice(0, 10);
}

/** Weeks in a row with a purchase, ending this week; with the first week of the run. */
export function streakOf(purchaseTimes: Date[], now: Date, tz: string): { weeks: number; since: string | null } {
  const weeks = new Set(purchaseTimes.map((t) => weekOf(t, tz)));
  let week = weekOf(now, tz);
  let count = 0;
  let since: string | null = null;
  while (weeks.has(week)) {
    count++;
    since = week;
    const previous = new Date(`${week}T00:00:00Z`);
    previous.setUTCDate(previous.getUTCDate() - 7);
    week = previous.toISOString().slice(0, 10);
  }
  return { weeks: count, since };
}

/** Checks one member's milestones and streak, and pays what is newly earned (each once, keyed). */
export async function awardMember(db: Db, memberId: number, env: LoyaltyEnv): Promise<Award[]> {
  const { now, timeZone: tz } = env;
  const { jy, jm } = isoToJalali(todayIso(now, tz));
  const monthStart = zonedMidnight(jalaliToIso(jy, jm, 1), tz);
  const { rows } = await sql<{ purchases: number; referrals: number; profile: boolean; survey: boolean; month: number }>`
    select m.purchase_count as purchases, m.referral_count as referrals, m.profile_completed_at is not null as profile,
      exists (select 1 from survey_responses r where r.member_id = m.id) as survey,
      (select count(*) from purchases p where p.member_id = m.id and p.status = 'recorded' and p.created_at >= ${monthStart})::int8 as month
    from members m where m.id = ${memberId}`.execute(db);
  const facts = rows[0];
  if (!facts) return [];
  const reached: Record<BadgeCode, boolean> = {
    first_purchase: facts.purchases >= 1,
    fifth_visit: facts.purchases >= 5,
    three_visits_month: facts.month >= 3,
    first_invite: facts.referrals >= 1,
    profile_complete: facts.profile,
    survey_answered: facts.survey,
  };
  const badges = await db.selectFrom('badges').selectAll().where('enabled', '=', true).orderBy('position').execute();
  const times = await db.selectFrom('purchases').select('created_at').where('member_id', '=', memberId).where('status', '=', 'recorded').where('created_at', '>', new Date(now.getTime() - 60 * 7 * DAY_MS)).execute();
  const streak = streakOf(times.map((p) => p.created_at), now, tz);
  const { bonuses } = await streakSettings.read(db);
  const settings = await loyaltySettings(db, env.defaults);
  const expiresAt = lotExpiry(now, settings.validity, tz);

  return db.transaction().execute(async (trx) => {
    const awards: Award[] = [];
    for (const badge of badges) {
      if (!reached[badge.code as BadgeCode]) continue;
      const earned = await trx.insertInto('member_badges').values({ member_id: memberId, code: badge.code, earned_at: now }).onConflict((oc) => oc.doNothing()).returning('code').executeTakeFirst();
      if (!earned) continue;
      if (badge.points > 0) {
        await credit(trx, { memberId, currency: 'points', amount: badge.points, kind: 'badge', reason: badge.code, idempotencyKey: `badge:${badge.code}:${memberId}`, expiresAt, at: now });
      }
      awards.push({ memberId, kind: 'badge', code: badge.code as BadgeCode, points: badge.points });
      const name = { key: `badges.name_${badge.code}` };
      const line: NoticeText = badge.points > 0 ? { key: 'badges.earned_points', params: { name, points: badge.points } } : { key: 'badges.earned', params: { name } };
      await queueNotice(trx, memberId, { kind: 'badge', lines: [line] }, `badge:${badge.code}:${memberId}`, now);
    }
    for (const [length, points] of Object.entries(bonuses)) {
      const weeks = Number(length);
      if (weeks < 1 || streak.weeks < weeks || points <= 0) continue;
      // Once per run of weeks: a new streak after a break can earn it again.
      const paid = await credit(trx, { memberId, currency: 'points', amount: points, kind: 'streak', reason: `${weeks} weeks`, idempotencyKey: `streak:${memberId}:${streak.since}:${weeks}`, expiresAt, at: now });
      if (paid.duplicate) continue;
      awards.push({ memberId, kind: 'streak', weeks, points });
      await queueNotice(trx, memberId, { kind: 'streak', lines: [{ key: 'badges.streak', params: { weeks, points } }] }, `streak:${memberId}:${streak.since}:${weeks}`, now);
    }
    return awards;
  });
}

/**
 * Members with something new since the last sweep (a purchase, a survey answer, a completed
 * profile, a friend who joined), checked and paid. The window overlaps the previous one by five
 * minutes (a purchase stamped just before the last sweep may have committed after it): awards are
 * keyed, so looking twice pays once.
 */
export async function sweepBadges(db: Db, env: LoyaltyEnv): Promise<Award[]> {
  const { now } = env;
  const mark = await db.selectFrom('club_settings').select('value').where('key', '=', 'badge_sweep').executeTakeFirst();
  const last = mark ? new Date((mark.value as { at: string }).at) : new Date(now.getTime() - 10 * 60_000);
  const since = new Date(last.getTime() - 5 * 60_000);
  const { rows } = await sql<{ id: number }>`
    select member_id as id from purchases where created_at > ${since}
    union select member_id from survey_responses where completed_at > ${since}
    union select id from members where profile_completed_at > ${since}
    union select referred_by from members where joined_at > ${since} and referred_by is not null`.execute(db);
  const awards: Award[] = [];
  for (const { id } of rows) awards.push(...(await awardMember(db, id, env)));
  const value = JSON.stringify({ at: now.toISOString() });
  await db.insertInto('club_settings').values({ key: 'badge_sweep', value, updated_at: now }).onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now })).execute();
  return awards;
}

export async function listBadges(db: Db) {
  return db.selectFrom('badges').selectAll().orderBy('position').execute();
}

export async function memberBadges(db: Db, memberId: number): Promise<string[]> {
  const rows = await db.selectFrom('member_badges').innerJoin('badges', 'badges.code', 'member_badges.code').select('member_badges.code').where('member_id', '=', memberId).orderBy('badges.position').execute();
  return rows.map((r) => r.code);
}

export async function updateBadge(db: Db, actorMemberId: number, code: string, patch: { points?: number; enabled?: boolean }, now: Date) {
  if (patch.points !== undefined && (!Number.isSafeInteger(patch.points) || patch.points < 0 || patch.points > 1_000_000)) throw new ClubError('errors.badge_points');
  const updated = await db.updateTable('badges').set(patch).where('code', '=', code).returningAll().executeTakeFirst();
  if (!updated) throw new ClubError('errors.badge_unknown');
  await audit(db, { actor: actorMemberId, action: 'badge.update', payload: { code, ...patch }, at: now });
  return updated;
}

/** "4:50, 8:100": weeks in a row and the bonus for reaching them. */
export function parseStreakBonuses(text: string): Record<string, number> | null {
  const bonuses: Record<string, number> = {};
  for (const part of toLatinDigits(text).split(/[,،]/).map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d{1,2})\s*:\s*(\d{1,7})$/.exec(part);
    if (!m || Number(m[1]) < 1) return null;
    bonuses[String(Number(m[1]))] = Number(m[2]);
  }
  return bonuses;
}
