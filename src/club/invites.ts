import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.ts';
import type { StaffRole } from '../db/schema.ts';
import { audit } from './audit.ts';
import { queueNotice } from './notifications.ts';
import { ClubError } from './errors.ts';
import { roleOf } from './staff.ts';

/** The deep-link payload prefix of a staff invitation (`inv_<token>`). */
export const INVITE_PREFIX = 'inv_';
const INVITE_HOURS = 48;

/**
 * A one-time link that makes whoever opens it staff of a branch: no phone numbers typed. Owners
 * invite cashiers and managers, managers cashiers only (as with /staff_add).
 */
export async function createStaffInvite(db: Db, actor: { memberId: number; role: StaffRole }, role: Exclude<StaffRole, 'owner'>, branchId: number | null, now: Date) {
  if (actor.role === 'cashier' || (actor.role === 'manager' && role !== 'cashier')) throw new ClubError('errors.staff_forbidden');
  if (role === 'cashier' && branchId === null) throw new ClubError('errors.branch_required');
  // 18 bytes -> 24 characters of [A-Za-z0-9_-]: fits a start payload and cannot be guessed.
  const token = randomBytes(18).toString('base64url');
  const expiresAt = new Date(now.getTime() + INVITE_HOURS * 3_600_000);
  const invite = await db
    .insertInto('staff_invites')
    .values({ token, role, branch_id: branchId, created_by: actor.memberId, created_at: now, expires_at: expiresAt })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(db, { actor: actor.memberId, action: 'staff.invite', payload: { invite_id: invite.id, role, branch_id: branchId }, at: now });
  return invite;
}

/**
 * The invited member opens the link: they become staff with the invitation's role and branch.
 * Used once; an expired, used or unknown token is refused; an owner or manager is never demoted by it.
 */
export async function acceptStaffInvite(db: Db, token: string, memberId: number, now: Date) {
  return db.transaction().execute(async (trx) => {
    const invite = await trx.selectFrom('staff_invites').selectAll().where('token', '=', token).forUpdate().executeTakeFirst();
    if (!invite) throw new ClubError('staff_invite.unknown');
    if (invite.used_by !== null) throw new ClubError(invite.used_by === memberId ? 'staff_invite.already_yours' : 'staff_invite.used');
    if (invite.expires_at.getTime() <= now.getTime()) throw new ClubError('staff_invite.expired');
    const current = await roleOf(trx, memberId);
    if (current === 'owner' || (current === 'manager' && invite.role === 'cashier')) throw new ClubError('staff_invite.already_staff');
    await trx.updateTable('staff_invites').set({ used_by: memberId, used_at: now }).where('id', '=', invite.id).execute();
    await trx
      .insertInto('staff')
      .values({ member_id: memberId, role: invite.role, branch_id: invite.branch_id, added_by: invite.created_by, created_at: now })
      .onConflict((oc) => oc.column('member_id').doUpdateSet({ role: invite.role, branch_id: invite.branch_id, added_by: invite.created_by }))
      .execute();
    await audit(trx, { actor: memberId, action: 'staff.invite_accept', payload: { invite_id: invite.id, member_id: memberId, role: invite.role, branch_id: invite.branch_id, invited_by: invite.created_by, previous: current }, at: now });
    const branch = invite.branch_id === null ? undefined : await trx.selectFrom('branches').select('name').where('id', '=', invite.branch_id).executeTakeFirst();
    const member = await trx.selectFrom('members').select('first_name').where('id', '=', memberId).executeTakeFirstOrThrow();
    // Whoever made the link hears that it was used, with the change.
    const notice = {
      kind: 'staff_invite_used',
      lines: [{ key: 'staff_invite.inviter_told', params: { name: member.first_name, role: { key: `roles.${invite.role}` }, branch: branch?.name ?? { key: 'staff.all_branches' } } }],
    };
    await queueNotice(trx, invite.created_by, notice, `staff_invite:${invite.id}:used`, now);
    return { role: invite.role, branchName: branch?.name ?? null, invitedBy: invite.created_by, memberName: member.first_name };
  });
}
