import { randomCode } from '../lib/codes.ts';
import { toLatinDigits } from '../lib/digits.ts';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Gender, Locale, Member, Platform, StaffRole } from '../db/schema.ts';
import { isUniqueViolation } from './errors.ts';
import { credit, type Trx } from './ledger.ts';
import { bootstrapOwner, roleOf } from './staff.ts';
import { audit } from './audit.ts';

export interface AccountRef {
  platform: Platform;
  userId: number;
  chatId: number;
  username?: string | null | undefined;
}

export async function findMemberByAccount(db: Db | Trx, platform: Platform, userId: number): Promise<Member | undefined> {
  return db
    .selectFrom('member_accounts')
    .innerJoin('members', 'members.id', 'member_accounts.member_id')
    .selectAll('members')
    .where('member_accounts.platform', '=', platform)
    .where('member_accounts.user_id', '=', userId)
    .executeTakeFirst();
}

export async function findMemberByPhone(db: Db | Trx, phone: string): Promise<Member | undefined> {
  return db.selectFrom('members').selectAll().where('phone', '=', phone).executeTakeFirst();
}

/** The messenger accounts that can be written to (not blocked), with the member's saved language. */
export async function reachableAccounts(db: Db | Trx, memberIds: readonly number[]) {
  if (memberIds.length === 0) return [];
  return db
    .selectFrom('member_accounts')
    .innerJoin('members', 'members.id', 'member_accounts.member_id')
    .select(['member_accounts.member_id', 'member_accounts.platform', 'member_accounts.chat_id', 'members.locale'])
    .where('member_accounts.member_id', 'in', memberIds)
    .where('member_accounts.blocked', '=', false)
    .execute();
}

export async function findMemberById(db: Db | Trx, id: number): Promise<Member | undefined> {
  return db.selectFrom('members').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Readable codes (no 0/O, 1/I/L): 31^8 ≈ 8.5e11 of them. */
/** The member behind a messenger account, with their staff role if any; null before signup. */
export async function accountSpeaker(db: Db, platform: Platform, userId: number): Promise<{ id: number; first_name: string; role: StaffRole | null } | null> {
  const row = await db
    .selectFrom('member_accounts')
    .innerJoin('members', 'members.id', 'member_accounts.member_id')
    .leftJoin('staff', 'staff.member_id', 'members.id')
    .select(['members.id', 'members.first_name', 'staff.role'])
    .where('member_accounts.platform', '=', platform)
    .where('member_accounts.user_id', '=', userId)
    .executeTakeFirst();
  return row ?? null;
}

/** The member id behind a messenger account, or null before signup. */
export async function memberIdOfAccount(db: Db, platform: Platform, userId: number): Promise<number | null> {
  const row = await db.selectFrom('member_accounts').select('member_id').where('platform', '=', platform).where('user_id', '=', userId).executeTakeFirst();
  return row?.member_id ?? null;
}

/** The member id of an owner's or manager's account, or null for anyone else. */
export async function managerIdOfAccount(db: Db, platform: Platform, userId: number): Promise<number | null> {
  const row = await db
    .selectFrom('member_accounts')
    .innerJoin('staff', 'staff.member_id', 'member_accounts.member_id')
    .select('staff.member_id')
    .where('member_accounts.platform', '=', platform)
    .where('member_accounts.user_id', '=', userId)
    .where('staff.role', 'in', ['owner', 'manager'])
    .executeTakeFirst();
  return row?.member_id ?? null;
}

/** A member who must exist (the one this update is about). */
export async function loadMember(db: Db | Trx, memberId: number): Promise<Member> {
  return db.selectFrom('members').selectAll().where('id', '=', memberId).executeTakeFirstOrThrow();
}

export function newReferralCode(length = 8): string {
  return randomCode(length);
}

async function linkAccount(trx: Trx, memberId: number, account: AccountRef, now: Date) {
  await trx
    .insertInto('member_accounts')
    .values({
      platform: account.platform,
      user_id: account.userId,
      member_id: memberId,
      chat_id: account.chatId,
      username: account.username ?? null,
      created_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['platform', 'user_id']).doUpdateSet({
        member_id: memberId,
        chat_id: account.chatId,
        username: account.username ?? null,
        blocked: false,
        blocked_at: null,
      }),
    )
    .execute();
}

export interface SignupProfile {
  phone: string;
  firstName: string;
  lastName?: string | null | undefined;
  birthDate?: string | null | undefined;
  gender?: Gender | null | undefined;
  locale?: Locale | null | undefined;
}

export interface SignupPolicy {
  signupBonusPoints: number;
  pointsValidityDays: number;
  ownerPhones: readonly string[];
  now: Date;
}

export interface SignupResult {
  member: Member;
  /** False when the phone was already a member (another platform): the account was linked to it. */
  created: boolean;
  /** The phone was pre-registered (imported, or registered at the till) and is joining now. */
  preRegistered?: boolean;
  bonus: number;
  role: StaffRole | null;
}

/**
 * Links a verified phone to a messenger account: an existing member (same phone, e.g. from the
 * other platform) gains this account; otherwise a new member is created with the signup bonus.
 * The bonus is keyed by phone, so it is paid once per person however often this runs.
 */
export async function joinClub(db: Db, account: AccountRef, profile: SignupProfile, policy: SignupPolicy): Promise<SignupResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction().execute((trx) => joinClubOnce(trx, account, profile, policy));
    } catch (error) {
      // Two accounts (Telegram and Bale) signing up with one phone at the same moment: the loser
      // of the race retries and finds the winner's member.
      if (attempt === 0 && isUniqueViolation(error, 'members_phone_key')) continue;
      throw error;
    }
  }
}

async function joinClubOnce(trx: Trx, account: AccountRef, profile: SignupProfile, policy: SignupPolicy): Promise<SignupResult> {
  const existing = await trx.selectFrom('members').selectAll().where('phone', '=', profile.phone).forUpdate().executeTakeFirst();
  if (existing) {
    const firstAccount = !(await trx.selectFrom('member_accounts').select('member_id').where('member_id', '=', existing.id).executeTakeFirst());
    await linkAccount(trx, existing.id, account, policy.now);
    if (firstAccount) return claimPreRegistered(trx, existing, profile, policy);
    // A member who never chose a language keeps the one chosen on this welcome screen.
    if (existing.locale === null && profile.locale) {
      await trx.updateTable('members').set({ locale: profile.locale }).where('id', '=', existing.id).execute();
      existing.locale = profile.locale;
    }
    await bootstrapOwner(trx, existing.id, existing.phone, policy.ownerPhones, policy.now);
    return { member: existing, created: false, bonus: 0, role: await roleOf(trx, existing.id) };
  }

  const tier = await trx.selectFrom('tiers').select('id').orderBy('rank').limit(1).executeTakeFirstOrThrow();
  const inserted = await trx
    .insertInto('members')
    .values({
      phone: profile.phone,
      first_name: profile.firstName,
      last_name: profile.lastName ?? null,
      birth_date: profile.birthDate ?? null,
      gender: profile.gender ?? null,
      locale: profile.locale ?? null,
      referral_code: newReferralCode(),
      tier_id: tier.id,
      joined_at: policy.now,
      last_active_at: policy.now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await linkAccount(trx, inserted.id, account, policy.now);

  let bonus = 0;
  if (policy.signupBonusPoints > 0) {
    const { duplicate } = await credit(trx, {
      memberId: inserted.id,
      currency: 'points',
      amount: policy.signupBonusPoints,
      kind: 'earn',
      reason: 'signup_bonus',
      idempotencyKey: `signup:${profile.phone}`,
      expiresAt: new Date(policy.now.getTime() + policy.pointsValidityDays * 86_400_000),
      at: policy.now,
    });
    if (!duplicate) bonus = policy.signupBonusPoints;
  }
  await bootstrapOwner(trx, inserted.id, profile.phone, policy.ownerPhones, policy.now);
  const member = await trx.selectFrom('members').selectAll().where('id', '=', inserted.id).executeTakeFirstOrThrow();
  return { member, created: true, bonus, role: await roleOf(trx, member.id) };
}

/**
 * A pre-registered member (imported, or registered by a cashier) joins the bot for the first time
 * with their own verified phone: their profile keeps what the club had (blanks filled from the
 * messenger), their balance and history are theirs, and the signup bonus is paid only if the owner
 * chose so (join_bonus_due), under the same key as any signup bonus, so at most once per phone.
 */
async function claimPreRegistered(trx: Trx, existing: Member, profile: SignupProfile, policy: SignupPolicy): Promise<SignupResult> {
  await trx
    .updateTable('members')
    .set({
      first_name: existing.first_name || profile.firstName,
      locale: existing.locale ?? profile.locale ?? null,
      join_bonus_due: false,
      last_active_at: policy.now,
    })
    .where('id', '=', existing.id)
    .execute();
  let bonus = 0;
  if (existing.join_bonus_due && policy.signupBonusPoints > 0) {
    const { duplicate } = await credit(trx, {
      memberId: existing.id,
      currency: 'points',
      amount: policy.signupBonusPoints,
      kind: 'earn',
      reason: 'signup_bonus',
      idempotencyKey: `signup:${existing.phone}`,
      expiresAt: new Date(policy.now.getTime() + policy.pointsValidityDays * 86_400_000),
      at: policy.now,
    });
    if (!duplicate) bonus = policy.signupBonusPoints;
  }
  await bootstrapOwner(trx, existing.id, existing.phone, policy.ownerPhones, policy.now);
  const member = await trx.selectFrom('members').selectAll().where('id', '=', existing.id).executeTakeFirstOrThrow();
  return { member, created: false, preRegistered: true, bonus, role: await roleOf(trx, member.id) };
}

export interface WalkIn {
  phone: string;
  firstName: string | null;
  actorMemberId: number;
  now: Date;
}

/**
 * A cashier registers a customer at the till by phone: a pre-registered member (no messenger
 * account) whose purchases earn points at once; the person claims them by joining the bot and
 * sharing this phone. They get the signup bonus then, like anyone who joins. An existing phone
 * is returned as it is (created: false).
 */
export async function registerWalkIn(db: Db, walkIn: WalkIn): Promise<{ member: Member; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const tier = await trx.selectFrom('tiers').select('id').orderBy('rank').limit(1).executeTakeFirstOrThrow();
    const inserted = await trx
      .insertInto('members')
      .values({
        phone: walkIn.phone,
        first_name: walkIn.firstName ?? '',
        referral_code: newReferralCode(),
        tier_id: tier.id,
        joined_at: walkIn.now,
        last_active_at: walkIn.now,
        join_bonus_due: true,
      })
      .onConflict((oc) => oc.column('phone').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) return { member: (await findMemberByPhone(trx, walkIn.phone))!, created: false };
    await audit(trx, { actor: walkIn.actorMemberId, action: 'member.walk_in', payload: { member_id: inserted.id }, at: walkIn.now });
    return { member: inserted, created: true };
  });
}

/** Whether a member has no messenger account yet (imported or registered at the till). */
export async function isPreRegistered(db: Db | Trx, memberId: number): Promise<boolean> {
  return !(await db.selectFrom('member_accounts').select('member_id').where('member_id', '=', memberId).executeTakeFirst());
}

export async function setMemberLocale(db: Db, memberId: number, locale: Locale) {
  await db.updateTable('members').set({ locale }).where('id', '=', memberId).execute();
}

export async function setMarketingOptIn(db: Db, memberId: number, optIn: boolean) {
  await db.updateTable('members').set({ marketing_opt_in: optIn }).where('id', '=', memberId).execute();
}

/** last_active_at is kept to this resolution: a member active again within it is not written. */
export const ACTIVE_RESOLUTION_MS = 5 * 60_000;

/** Records activity at most every few minutes, so a busy member costs no write per click. */
export async function touchMember(db: Db, memberId: number, now: Date) {
  await db
    .updateTable('members')
    .set({ last_active_at: now })
    .where('id', '=', memberId)
    .where('last_active_at', '<', new Date(now.getTime() - ACTIVE_RESOLUTION_MS))
    .execute();
}

/** A 403 from the messenger: the person blocked the bot. Skipped by broadcasts until they return. */
export async function markAccountBlocked(db: Db, platform: Platform, chatId: number, now: Date) {
  await db
    .updateTable('member_accounts')
    .set({ blocked: true, blocked_at: now })
    .where('platform', '=', platform)
    .where('chat_id', '=', chatId)
    .where('blocked', '=', false)
    .execute();
}

/** The person wrote to the bot again, so they have unblocked it. */
export async function markAccountReachable(db: Db, platform: Platform, userId: number) {
  await db
    .updateTable('member_accounts')
    .set({ blocked: false, blocked_at: null })
    .where('platform', '=', platform)
    .where('user_id', '=', userId)
    .where('blocked', '=', true)
    .execute();
}

export async function memberCount(db: Db): Promise<number> {
  const row = await db.selectFrom('members').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return row.n;
}

export interface AccountMember {
  member: Member;
  role: StaffRole | null;
  blocked: boolean;
}

/** The member behind a messenger account with their staff role, in one query (runs per update). */
export async function loadAccountMember(db: Db, platform: Platform, userId: number): Promise<AccountMember | undefined> {
  const row = await db
    .selectFrom('member_accounts')
    .innerJoin('members', 'members.id', 'member_accounts.member_id')
    .leftJoin('staff', 'staff.member_id', 'members.id')
    .selectAll('members')
    .select(['staff.role as staff_role', 'member_accounts.blocked as account_blocked'])
    .where('member_accounts.platform', '=', platform)
    .where('member_accounts.user_id', '=', userId)
    .executeTakeFirst();
  if (!row) return undefined;
  const { staff_role, account_blocked, ...member } = row;
  return { member, role: staff_role, blocked: account_blocked };
}

/**
 * Members matching what a cashier typed: a phone (any form, or its last digits), a member number,
 * or part of a name. A few at most, newest visitors first, for the cashier to pick from.
 */
export async function searchMembers(db: Db, query: string, limit = 5): Promise<Member[]> {
  const text = toLatinDigits(query).trim();
  if (!text) return [];
  const digits = text.replace(/[\s\-()+]/g, '');
  if (/^\d+$/.test(digits)) {
    const byNumber = digits.length <= 7 ? await findMemberById(db, Number(digits)) : undefined;
    // 0912..., 98912..., 912...: compare the national significant number (the last ten digits).
    const tail = digits.length >= 10 ? digits.slice(-10) : digits;
    const byPhone = digits.length >= 4 ? await db.selectFrom('members').selectAll().where('phone', 'like', `%${tail}`).orderBy('last_active_at', 'desc').limit(limit).execute() : [];
    const all = [...(byNumber ? [byNumber] : []), ...byPhone.filter((m) => m.id !== byNumber?.id)];
    return all.slice(0, limit);
  }
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db
    .selectFrom('members')
    .selectAll()
    .where(sql<boolean>`first_name || ' ' || coalesce(last_name, '') ilike ${pattern}`)
    .orderBy('last_active_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
}
