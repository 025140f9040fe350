import type { Db } from '../db/database.ts';
import type { Gender, Member } from '../db/schema.ts';
import { ClubError } from './errors.ts';
import { applyEventRule } from './events.ts';
import type { LoyaltyEnv } from './rules.ts';
import { audit } from './audit.ts';

export const PROFILE_FIELDS = ['first_name', 'last_name', 'birth_date', 'gender', 'city', 'email', 'interests', 'heard_from'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** Choices offered for interests and "how did you hear of us"; keys are stored, labels shown. */
export const INTERESTS = ['food', 'fashion', 'beauty', 'home', 'digital', 'sports', 'kids', 'books'] as const;
export const HEARD_FROM = ['friend', 'instagram', 'sign', 'passing', 'other'] as const;

const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[A-Za-z]{2,}$/;

export function missingFields(member: Member): ProfileField[] {
  return PROFILE_FIELDS.filter((f) => {
    const v = member[f];
    return v === null || v === '' || (Array.isArray(v) && v.length === 0);
  });
}

export type ProfileValue = string | string[] | null;

/**
 * Sets one profile field after checking it. A birthday, once set, is changed only by a manager
 * (so the birthday gift cannot be farmed). Completing every field earns the profile points once.
 */
export async function updateProfileField(
  db: Db,
  memberId: number,
  field: ProfileField,
  value: ProfileValue,
  options: { byManager?: boolean; env: LoyaltyEnv },
): Promise<{ member: Member; pointsAwarded: number }> {
  const member = await db.selectFrom('members').selectAll().where('id', '=', memberId).executeTakeFirst();
  if (!member) throw new ClubError('errors.member_not_found');
  const text = typeof value === 'string' ? value.trim() : value;
  let patch: Record<string, unknown>;
  switch (field) {
    case 'first_name':
    case 'last_name':
    case 'city':
      if (typeof text !== 'string' || !text || text.length > 64 || !/\p{L}/u.test(text) || text.startsWith('/')) throw new ClubError('errors.profile_text_invalid');
      patch = { [field]: text };
      break;
    case 'email':
      if (typeof text !== 'string' || text.length > 254 || !EMAIL.test(text)) throw new ClubError('errors.email_invalid');
      patch = { email: text.toLowerCase() };
      break;
    case 'birth_date':
      if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new ClubError('errors.profile_text_invalid');
      if (member.birth_date && member.birth_date !== text && !options.byManager) throw new ClubError('errors.birthday_locked');
      patch = { birth_date: text };
      break;
    case 'gender':
      if (text !== 'female' && text !== 'male') throw new ClubError('errors.profile_choice_invalid');
      patch = { gender: text as Gender };
      break;
    case 'interests':
      if (!Array.isArray(text) || text.length === 0 || text.some((i) => !(INTERESTS as readonly string[]).includes(i))) throw new ClubError('errors.profile_choice_invalid');
      patch = { interests: JSON.stringify([...new Set(text)]) };
      break;
    case 'heard_from':
      if (typeof text !== 'string' || !(HEARD_FROM as readonly string[]).includes(text)) throw new ClubError('errors.profile_choice_invalid');
      patch = { heard_from: text };
      break;
  }
  const updated = await db.updateTable('members').set(patch).where('id', '=', memberId).returningAll().executeTakeFirstOrThrow();
  if (options.byManager && field === 'birth_date') {
    await audit(db, { actor: null, action: 'profile.birthday_by_manager', payload: { member_id: memberId, from: member.birth_date, to: text }, at: options.env.now });
  }
  let pointsAwarded = 0;
  if (missingFields(updated).length === 0 && updated.profile_completed_at === null) {
    const marked = await db
      .updateTable('members')
      .set({ profile_completed_at: options.env.now })
      .where('id', '=', memberId)
      .where('profile_completed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (marked) {
      // Keyed by member: completing, clearing and completing again pays nothing more.
      const award = await applyEventRule(db, memberId, 'profile_completion', String(memberId), options.env);
      pointsAwarded = Math.max(0, award.points);
      return { member: marked, pointsAwarded };
    }
  }
  return { member: updated, pointsAwarded };
}
