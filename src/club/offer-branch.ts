import type { Db } from '../db/database.ts';
import { ClubError } from './errors.ts';
import type { Trx } from './ledger.ts';

/**
 * An offer limited to one branch (`offerBranchId`) is refused at any other (`atBranchId`, null when
 * the till's branch is unknown), with the offer's branch named so the cashier can send the member there.
 */
export async function refuseOtherBranch(db: Db | Trx, offerBranchId: number | null, atBranchId: number | null, key: string): Promise<void> {
  if (offerBranchId === null || offerBranchId === atBranchId) return;
  const branch = await db.selectFrom('branches').select('name').where('id', '=', offerBranchId).executeTakeFirstOrThrow();
  throw new ClubError(key, { branch: branch.name });
}

/** Branch names by id, for lists that show «only at branch X». */
export async function branchNames(db: Db | Trx): Promise<Map<number, string>> {
  const rows = await db.selectFrom('branches').select(['id', 'name']).execute();
  return new Map(rows.map((b) => [b.id, b.name]));
}
