import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { ClubError } from './errors.ts';
import { settingsStore } from './settings.ts';
import { audit } from './audit.ts';

/**
 * The club's identity: what the welcome, "Contact us" and the member card show. Branch addresses
 * live on the branches themselves. The logo is kept as the messenger's file id of the photo the
 * owner sent (per platform: a Telegram file id means nothing to Bale).
 */
export const clubProfileSchema = z.object({
  name: z.string().max(64).default(''),
  phone: z.string().max(32).default(''),
  hours: z.string().max(200).default(''),
  instagram: z.string().max(64).default(''),
  website: z.string().max(200).default(''),
  logo: z.object({ telegram: z.string().optional(), bale: z.string().optional() }).default({}),
});
export type ClubProfile = z.infer<typeof clubProfileSchema>;
const profileStore = settingsStore('club', clubProfileSchema);
export const clubProfile = profileStore.read;
export const saveClubProfile = profileStore.save;

/** The steps of the first-run setup, in order. */
export const SETUP_STEPS = ['name', 'branch', 'address', 'unit', 'rule', 'cashier'] as const;
export type SetupStep = (typeof SETUP_STEPS)[number];

/** Where the setup stands: the next step to ask, and when it was finished (ISO), if it was. */
export const setupProgressSchema = z.object({
  next: z.enum(SETUP_STEPS).default('name'),
  doneAt: z.string().nullable().default(null),
});
const progressStore = settingsStore('setup', setupProgressSchema);
export const setupProgress = progressStore.read;
export const saveSetupProgress = progressStore.save;

export function nextStep(step: SetupStep): SetupStep | null {
  return SETUP_STEPS[SETUP_STEPS.indexOf(step) + 1] ?? null;
}

/** Renames a branch and sets its address (null keeps the address as it is, '' clears it). */
export async function updateBranch(db: Db, actorMemberId: number, branchId: number, patch: { name?: string; address?: string | null }, now: Date) {
  const name = patch.name?.trim();
  if (name !== undefined && (!name || name.length > 64)) throw new ClubError('errors.branch_name_invalid');
  const address = patch.address === undefined || patch.address === null ? undefined : patch.address.trim().slice(0, 200) || null;
  if (name === undefined && address === undefined) return;
  const clash = name === undefined ? undefined : await db.selectFrom('branches').select('id').where('name', '=', name).where('id', '!=', branchId).executeTakeFirst();
  if (clash) throw new ClubError('errors.branch_exists');
  await db
    .updateTable('branches')
    .set({ ...(name !== undefined ? { name } : {}), ...(address !== undefined ? { address } : {}) })
    .where('id', '=', branchId)
    .execute();
  await audit(db, { actor: actorMemberId, action: 'branch.update', payload: { branch_id: branchId, ...(name !== undefined ? { name } : {}), ...(address !== undefined ? { address } : {}) }, at: now });
}
