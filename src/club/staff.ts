import type { Db } from '../db/database.ts';
import type { StaffRole } from '../db/schema.ts';
import type { Trx } from './ledger.ts';

export async function roleOf(db: Db | Trx, memberId: number): Promise<StaffRole | null> {
  const row = await db.selectFrom('staff').select('role').where('member_id', '=', memberId).executeTakeFirst();
  return row?.role ?? null;
}

/**
 * A member who verified one of OWNER_PHONES by sharing their contact becomes an owner.
 * Called only after a verified contact, never from a typed number.
 */
export async function bootstrapOwner(trx: Trx, memberId: number, phone: string, ownerPhones: readonly string[]) {
  if (!ownerPhones.includes(phone)) return false;
  const current = await roleOf(trx, memberId);
  if (current === 'owner') return false;
  await trx
    .insertInto('staff')
    .values({ member_id: memberId, role: 'owner', branch_id: null, added_by: null })
    .onConflict((oc) => oc.column('member_id').doUpdateSet({ role: 'owner', branch_id: null }))
    .execute();
  await trx
    .insertInto('audit_log')
    .values({ actor_member_id: memberId, action: 'staff.owner_bootstrap', payload: JSON.stringify({ phone, previous: current }) })
    .execute();
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
