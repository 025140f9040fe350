import type { Db } from '../db/database.ts';
import type { Platform, StaffRole } from '../db/schema.ts';
import { ClubError, isUniqueViolation } from './errors.ts';
import type { Trx } from './ledger.ts';
import { audit } from './audit.ts';
import { queueNotice } from './notifications.ts';

export async function roleOf(db: Db | Trx, memberId: number): Promise<StaffRole | null> {
  const row = await db.selectFrom('staff').select('role').where('member_id', '=', memberId).executeTakeFirst();
  return row?.role ?? null;
}

/**
 * A member who verified one of OWNER_PHONES by sharing their contact becomes an owner.
 * Called only after a verified contact, never from a typed number.
 */
export async function bootstrapOwner(trx: Trx, memberId: number, phone: string, ownerPhones: readonly string[], now: Date) {
  if (!ownerPhones.includes(phone)) return false;
  const current = await roleOf(trx, memberId);
  if (current === 'owner') return false;
  await trx
    .insertInto('staff')
    .values({ member_id: memberId, role: 'owner', branch_id: null, added_by: null, created_at: now })
    .onConflict((oc) => oc.column('member_id').doUpdateSet({ role: 'owner', branch_id: null }))
    .execute();
  await audit(trx, { actor: memberId, action: 'staff.owner_bootstrap', payload: { phone, previous: current }, at: now });
  return true;
}

export interface StaffListing {
  memberId: number;
  firstName: string;
  lastName: string | null;
  phone: string;
  role: StaffRole;
  branchName: string | null;
}

export async function listStaff(db: Db): Promise<StaffListing[]> {
  return db
    .selectFrom('staff')
    .innerJoin('members', 'members.id', 'staff.member_id')
    .leftJoin('branches', 'branches.id', 'staff.branch_id')
    .select([
      'members.id as memberId',
      'members.first_name as firstName',
      'members.last_name as lastName',
      'members.phone as phone',
      'staff.role as role',
      'branches.name as branchName',
    ])
    .orderBy('staff.role')
    .orderBy('members.first_name')
    .execute();
}

export const STAFF_ROLES: readonly StaffRole[] = ['owner', 'manager', 'cashier'];

/**
 * Owner/manager adds staff by the phone a member joined with. Managers may add cashiers only and
 * never touch a manager or an owner (that would demote them); only an owner changes a manager's or
 * another owner's role. Owners are made through OWNER_PHONES, not here. A cashier is bound to a branch.
 */
export async function addStaff(db: Db, actor: { memberId: number; role: StaffRole }, phone: string, role: Exclude<StaffRole, 'owner'>, branchId: number | null, now: Date) {
  if (actor.role === 'cashier' || (actor.role === 'manager' && role !== 'cashier')) throw new ClubError('errors.staff_forbidden');
  if (role === 'cashier' && branchId === null) throw new ClubError('errors.branch_required');
  return db.transaction().execute(async (trx) => {
    const member = await trx.selectFrom('members').select(['id', 'first_name']).where('phone', '=', phone).forUpdate().executeTakeFirst();
    if (!member) throw new ClubError('errors.staff_not_member');
    const current = await roleOf(trx, member.id);
    if ((current === 'owner' || current === 'manager') && actor.role !== 'owner') throw new ClubError('errors.staff_forbidden');
    if (current === 'owner') await keepAnOwner(trx, member.id);
    await trx
      .insertInto('staff')
      .values({ member_id: member.id, role, branch_id: branchId, added_by: actor.memberId, created_at: now })
      .onConflict((oc) => oc.column('member_id').doUpdateSet({ role, branch_id: branchId, added_by: actor.memberId }))
      .execute();
    await audit(trx, { actor: actor.memberId, action: 'staff.add', payload: { member_id: member.id, role, branch_id: branchId, previous: current }, at: now });
    // The new staff member is welcomed (queued with the change) when their role is new to them.
    if (current !== role) {
      const notice = { kind: 'staff_welcome', lines: [{ key: 'admin.staff_welcome', params: { role: { key: `roles.${role}` } } }] };
      await queueNotice(trx, member.id, notice, `staff_welcome:${member.id}:${role}:${now.toISOString()}`, now);
    }
    return { memberId: member.id, firstName: member.first_name, previous: current };
  });
}

/** Managers remove cashiers; owners remove anyone, another owner too, but never the last owner. */
export async function removeStaff(db: Db, actor: { memberId: number; role: StaffRole }, memberId: number, now: Date) {
  return db.transaction().execute(async (trx) => {
    await trx.selectFrom('members').select('id').where('id', '=', memberId).forUpdate().executeTakeFirst();
    const current = await roleOf(trx, memberId);
    if (!current) throw new ClubError('errors.staff_not_found');
    if (actor.role === 'cashier' || (actor.role === 'manager' && current !== 'cashier')) throw new ClubError('errors.staff_forbidden');
    if (current === 'owner') await keepAnOwner(trx, memberId);
    await trx.deleteFrom('staff').where('member_id', '=', memberId).execute();
    await audit(trx, { actor: actor.memberId, action: 'staff.remove', payload: { member_id: memberId, role: current }, at: now });
    return current;
  });
}

/** A club with no owner could never be managed again from the bot: the last owner stays. */
async function keepAnOwner(trx: Trx, leaving: number) {
  // Lock the owners' rows, so two owners removing each other at once cannot both succeed.
  const owners = await trx.selectFrom('staff').select('member_id').where('role', '=', 'owner').forUpdate().execute();
  if (!owners.some((o) => o.member_id !== leaving)) throw new ClubError('errors.staff_last_owner');
}

/**
 * At every start: an owner whose phone is no longer in OWNER_PHONES stops being an owner (and
 * staff). Owners come only from that list, so the list is the truth; with an empty list nobody is
 * revoked (a club started without the setting keeps its owners).
 */
export async function revokeFormerOwners(db: Db, ownerPhones: readonly string[], now: Date): Promise<number[]> {
  if (ownerPhones.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const former = await trx
      .selectFrom('staff')
      .innerJoin('members', 'members.id', 'staff.member_id')
      .select(['members.id', 'members.phone'])
      .where('staff.role', '=', 'owner')
      .where('members.phone', 'not in', ownerPhones)
      .forUpdate()
      .execute();
    if (former.length === 0) return [];
    await trx.deleteFrom('staff').where('member_id', 'in', former.map((f) => f.id)).where('role', '=', 'owner').execute();
    for (const f of former) await audit(trx, { actor: null, action: 'staff.owner_revoke', payload: { member_id: f.id, phone: f.phone }, at: now });
    return former.map((f) => f.id);
  });
}

export async function staffBranch(db: Db, memberId: number): Promise<number | null> {
  const row = await db.selectFrom('staff').select('branch_id').where('member_id', '=', memberId).executeTakeFirst();
  return row?.branch_id ?? null;
}

export async function branchById(db: Db | Trx, id: number) {
  return db.selectFrom('branches').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listActiveBranches(db: Db) {
  return db.selectFrom('branches').select(['id', 'name']).where('active', '=', true).orderBy('id').execute();
}

export async function listBranches(db: Db) {
  return db.selectFrom('branches').selectAll().orderBy('id').execute();
}

export async function createBranch(db: Db, actorMemberId: number, name: string, now: Date) {
  const text = name.trim();
  if (!text || text.length > 64) throw new ClubError('errors.branch_name_invalid');
  try {
    const branch = await db.insertInto('branches').values({ name: text, created_at: now }).returningAll().executeTakeFirstOrThrow();
    await audit(db, { actor: actorMemberId, action: 'branch.create', payload: { branch_id: branch.id, name: text }, at: now });
    return branch;
  } catch (error) {
    if (isUniqueViolation(error)) throw new ClubError('errors.branch_exists');
    throw error;
  }
}

export interface TillStaff {
  memberId: number;
  role: StaffRole;
  branchId: number;
  branchName: string;
}

/**
 * Who is working the till from this messenger account, and at which branch; null when the account
 * is not (or no longer) staff. Conversations call it again right before every write, so a cashier
 * removed or demoted mid-conversation cannot finish what they started. `roles` narrows it (void
 * and adjust need an owner or manager). A cashier works at their branch; an owner or manager
 * without one records at the first active branch.
 */
export async function staffAtTill(db: Db | Trx, platform: Platform, userId: number, roles: readonly StaffRole[] = ['owner', 'manager', 'cashier']): Promise<TillStaff | null> {
  const staff = await db
    .selectFrom('member_accounts')
    .innerJoin('staff', 'staff.member_id', 'member_accounts.member_id')
    .select(['staff.member_id', 'staff.branch_id', 'staff.role'])
    .where('member_accounts.platform', '=', platform)
    .where('member_accounts.user_id', '=', userId)
    .executeTakeFirst();
  if (!staff || !roles.includes(staff.role)) return null;
  const branch = await db
    .selectFrom('branches')
    .select(['id', 'name'])
    .where((eb) => (staff.branch_id === null ? eb('active', '=', true) : eb('id', '=', staff.branch_id)))
    .orderBy('id')
    .executeTakeFirst();
  if (!branch) return null;
  return { memberId: staff.member_id, role: staff.role, branchId: branch.id, branchName: branch.name };
}

export type BranchPatch = Partial<{ name: string; address: string | null; active: boolean }>;

/** Renames a branch, sets its address, or (de)activates it; the last active branch stays active. */
export async function updateBranch(db: Db, actorMemberId: number, id: number, patch: BranchPatch, now: Date) {
  if (patch.name !== undefined && (!patch.name.trim() || patch.name.length > 64)) throw new ClubError('errors.branch_name_invalid');
  if (patch.address !== undefined && patch.address !== null && (!patch.address.trim() || patch.address.length > 300)) throw new ClubError('errors.text_empty');
  try {
    return await db.transaction().execute(async (trx) => {
      // Lock every branch: two owners deactivating the last two at once cannot both succeed.
      const branches = await trx.selectFrom('branches').select(['id', 'active']).orderBy('id').forUpdate().execute();
      if (!branches.some((b) => b.id === id)) throw new ClubError('errors.branch_not_found');
      if (patch.active === false && !branches.some((b) => b.id !== id && b.active)) throw new ClubError('panel.error_branch_last_active');
      const set = { ...patch, ...(patch.name !== undefined ? { name: patch.name.trim() } : {}), ...(patch.address ? { address: patch.address.trim() } : {}) };
      const branch = await trx.updateTable('branches').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      await audit(trx, { actor: actorMemberId, action: 'branch.update', payload: { branch_id: id, ...set }, at: now });
      return branch;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ClubError('errors.branch_exists');
    throw error;
  }
}

/** A staff member's new role, under the same rules as adding staff (see addStaff). */
export async function changeStaffRole(db: Db, actor: { memberId: number; role: StaffRole }, memberId: number, role: Exclude<StaffRole, 'owner'>, branchId: number | null, now: Date) {
  const member = await db.selectFrom('members').select('phone').where('id', '=', memberId).executeTakeFirst();
  if (!member || !(await roleOf(db, memberId))) throw new ClubError('errors.staff_not_found');
  return addStaff(db, actor, member.phone, role, branchId, now);
}
