import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable, Updateable } from 'kysely';

// int8 columns come back as number and numeric as string on both drivers (see database.ts).
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export type Platform = 'telegram' | 'bale';
export type Locale = 'fa' | 'en';
export type Gender = 'female' | 'male';
export type StaffRole = 'owner' | 'manager' | 'cashier';
export type Currency = 'points' | 'credit';

export interface ClubSettingsTable {
  key: string;
  value: JSONColumnType<object, string, string>;
  updated_at: Timestamp;
}

export interface BranchesTable {
  id: Generated<number>;
  name: string;
  address: string | null;
  active: Generated<boolean>;
  created_at: CreatedAt;
}

export interface TiersTable {
  id: Generated<number>;
  code: string;
  rank: number;
  name_fa: string;
  name_en: string;
  threshold: number;
  discount_percent: ColumnType<string, string | undefined, string>;
  earn_multiplier: ColumnType<string, string | undefined, string>;
  perks_fa: Generated<string>;
  perks_en: Generated<string>;
}

export interface MembersTable {
  id: Generated<number>;
  phone: string;
  first_name: string;
  last_name: string | null;
  birth_date: string | null;
  gender: Gender | null;
  locale: Locale | null;
  referral_code: string;
  tier_id: number;
  points_balance: Generated<number>;
  credit_balance: Generated<number>;
  marketing_opt_in: Generated<boolean>;
  joined_at: Timestamp;
  last_active_at: Timestamp;
}

export interface MemberAccountsTable {
  platform: Platform;
  user_id: number;
  member_id: number;
  chat_id: number;
  username: string | null;
  blocked: Generated<boolean>;
  blocked_at: Date | null;
  created_at: CreatedAt;
}

export interface StaffTable {
  member_id: number;
  role: StaffRole;
  branch_id: number | null;
  added_by: number | null;
  created_at: CreatedAt;
}

export interface LedgerEntriesTable {
  id: Generated<number>;
  member_id: number;
  currency: Currency;
  amount: number;
  kind: string;
  reason: string | null;
  idempotency_key: string | null;
  expires_at: Date | null;
  branch_id: number | null;
  actor_member_id: number | null;
  meta: JSONColumnType<Record<string, unknown> | null, string | null, never> ;
  created_at: CreatedAt;
}

export interface LedgerLotsTable {
  entry_id: number;
  member_id: number;
  currency: Currency;
  remaining: number;
  expires_at: Date | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  actor_member_id: number | null;
  action: string;
  payload: JSONColumnType<Record<string, unknown>, string | undefined, never>;
  created_at: CreatedAt;
}

export interface ConversationStateTable {
  key: string;
  value: JSONColumnType<object, string, string>;
  updated_at: Timestamp;
}

export interface Database {
  club_settings: ClubSettingsTable;
  branches: BranchesTable;
  tiers: TiersTable;
  members: MembersTable;
  member_accounts: MemberAccountsTable;
  staff: StaffTable;
  ledger_entries: LedgerEntriesTable;
  ledger_lots: LedgerLotsTable;
  audit_log: AuditLogTable;
  conversation_state: ConversationStateTable;
}

export type Member = Selectable<MembersTable>;
export type NewMember = Insertable<MembersTable>;
export type MemberUpdate = Updateable<MembersTable>;
export type MemberAccount = Selectable<MemberAccountsTable>;
export type Tier = Selectable<TiersTable>;
export type LedgerEntry = Selectable<LedgerEntriesTable>;
export type Staff = Selectable<StaffTable>;
