import type { Db } from '../db/database.ts';
import type { Trx } from './ledger.ts';

export interface AuditEntry {
  actor: number | null;
  action: string;
  payload: Record<string, unknown>;
  /** The club's clock (`deps.now()`), never the database's. */
  at: Date;
}

/** Appends to the audit log (append-only, like the ledger). */
export async function audit(db: Db | Trx, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ actor_member_id: entry.actor, action: entry.action, payload: JSON.stringify(entry.payload), created_at: entry.at })
    .execute();
}

/**
 * Groups of actions an owner filters the log by; an action belongs to the group whose prefix it
 * starts with. Ids and names are short, so a filter fits in a button's callback data.
 */
export const AUDIT_GROUPS = {
  staff: ['staff.', 'branch.'],
  sales: ['purchase.', 'points.', 'dispute.'],
  vouchers: ['voucher.', 'voucher_pool.', 'reward.'],
  marketing: ['campaign.', 'segment.', 'automation.', 'link.', 'survey.', 'referral.'],
  service: ['ticket.', 'profile.'],
  settings: ['rules.', 'tiers.', 'tier.', 'settings.'],
} as const satisfies Record<string, readonly string[]>;
export type AuditGroup = keyof typeof AUDIT_GROUPS;
export const isAuditGroup = (v: string): v is AuditGroup => Object.hasOwn(AUDIT_GROUPS, v);

export interface AuditFilter {
  actor: number | null;
  group: AuditGroup | null;
  /** Only entries older than this id (the last one of the page before); null for the newest. */
  before: number | null;
}

export interface AuditRow {
  id: number;
  action: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  actorId: number | null;
  actorName: string | null;
}

/** A page of the log, newest first; `more` says whether older entries match too. */
export async function listAudit(db: Db, filter: AuditFilter, limit = 10): Promise<{ rows: AuditRow[]; more: boolean }> {
  let query = db
    .selectFrom('audit_log')
    .leftJoin('members', 'members.id', 'audit_log.actor_member_id')
    .select(['audit_log.id', 'audit_log.action', 'audit_log.payload', 'audit_log.created_at as createdAt', 'audit_log.actor_member_id as actorId', 'members.first_name as actorName'])
    .orderBy('audit_log.id', 'desc')
    .limit(limit + 1);
  if (filter.actor !== null) query = query.where('audit_log.actor_member_id', '=', filter.actor);
  if (filter.group !== null) {
    const prefixes = AUDIT_GROUPS[filter.group];
    query = query.where((eb) => eb.or(prefixes.map((p) => eb('audit_log.action', 'like', `${p.replace(/_/g, '\\_')}%`))));
  }
  if (filter.before !== null) query = query.where('audit_log.id', '<', filter.before);
  const rows = await query.execute();
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

/** The people who appear in the log as actors (staff, past and present), most recent first. */
export async function auditActors(db: Db, limit = 24): Promise<{ id: number; name: string }[]> {
  const rows = await db
    .selectFrom('audit_log')
    .innerJoin('members', 'members.id', 'audit_log.actor_member_id')
    .select(['members.id', 'members.first_name', 'members.last_name', (eb) => eb.fn.max('audit_log.id').as('last')])
    .groupBy(['members.id', 'members.first_name', 'members.last_name'])
    .orderBy('last', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, name: [r.first_name, r.last_name].filter(Boolean).join(' ') }));
}
