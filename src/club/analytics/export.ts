import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { compileSegment, type SegmentFilter } from '../segments.ts';
import type { Period } from './period.ts';

/** Rows are read in keyset pages of this many, so an export of a million members never sits in memory. */
const PAGE = 5_000;

export const MEMBER_COLUMNS = ['id', 'phone', 'first_name', 'last_name', 'gender', 'birth_date', 'city', 'tier', 'points', 'credit', 'purchases', 'spend', 'last_purchase_at', 'joined_at', 'marketing_opt_in'] as const;
export type MemberExportRow = [number, string, string, string | null, string | null, string | null, string | null, string, number, number, number, number, Date | null, Date, boolean];

/** Every member of the segment (all members for ALL_MEMBERS), in id order, a page at a time. */
export async function* memberExport(db: Db, filter: SegmentFilter, now: Date): AsyncGenerator<MemberExportRow[]> {
  let after = 0;
  for (;;) {
    const { rows } = await sql<{ id: number; phone: string; first_name: string; last_name: string | null; gender: string | null; birth_date: string | null; city: string | null; tier: string; points_balance: number; credit_balance: number; purchase_count: number; spend_rials: number; last_purchase_at: Date | null; joined_at: Date; marketing_opt_in: boolean }>`
      select m.id, m.phone, m.first_name, m.last_name, m.gender, m.birth_date::text as birth_date, m.city, t.code as tier,
        m.points_balance, m.credit_balance, m.purchase_count, m.spend_rials, m.last_purchase_at, m.joined_at, m.marketing_opt_in
      from members m join tiers t on t.id = m.tier_id
      where m.id > ${after} and ${compileSegment(filter, now)}
      order by m.id limit ${PAGE}`.execute(db);
    if (rows.length === 0) return;
    yield rows.map((r) => [r.id, r.phone, r.first_name, r.last_name, r.gender, r.birth_date, r.city, r.tier, r.points_balance, r.credit_balance, r.purchase_count, r.spend_rials, r.last_purchase_at, r.joined_at, r.marketing_opt_in]);
    after = rows.at(-1)!.id;
    if (rows.length < PAGE) return;
  }
}

export const LEDGER_COLUMNS = ['id', 'created_at', 'member_id', 'phone', 'currency', 'amount', 'kind', 'reason', 'branch_id', 'expires_at'] as const;
export type LedgerExportRow = [number, Date, number, string, string, number, string, string | null, number | null, Date | null];

/** The ledger entries of the period (of one branch, or all), in id order, a page at a time. */
export async function* ledgerExport(db: Db, period: Period, branchId: number | null): AsyncGenerator<LedgerExportRow[]> {
  let after = 0;
  for (;;) {
    const { rows } = await sql<{ id: number; created_at: Date; member_id: number; phone: string; currency: string; amount: number; kind: string; reason: string | null; branch_id: number | null; expires_at: Date | null }>`
      select l.id, l.created_at, l.member_id, m.phone, l.currency, l.amount, l.kind, l.reason, l.branch_id, l.expires_at
      from ledger_entries l join members m on m.id = l.member_id
      where l.id > ${after} and l.created_at >= ${period.from} and l.created_at < ${period.to}
        ${branchId === null ? sql`` : sql`and l.branch_id = ${branchId}`}
      order by l.id limit ${PAGE}`.execute(db);
    if (rows.length === 0) return;
    yield rows.map((r) => [r.id, r.created_at, r.member_id, r.phone, r.currency, r.amount, r.kind, r.reason, r.branch_id, r.expires_at]);
    after = rows.at(-1)!.id;
    if (rows.length < PAGE) return;
  }
}
