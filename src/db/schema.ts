import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable, Updateable } from 'kysely';

// int8 columns come back as number and numeric as string on both drivers (see database.ts).
/** Written by the club from its clock (`deps.now()`): required on insert, the database has no default. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string, never>;
/** Bookkeeping of the bot itself (conversation storage): the database's clock is fine. */
type ServerTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

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
  join_link_id: ColumnType<number | null, number | null | undefined, number | null>;
  referred_by: ColumnType<number | null, number | null | undefined, number | null>;
  city: ColumnType<string | null, string | null | undefined, string | null>;
  email: ColumnType<string | null, string | null | undefined, string | null>;
  interests: ColumnType<string[], string | undefined, string>;
  heard_from: ColumnType<string | null, string | null | undefined, string | null>;
  profile_completed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Kept by triggers (migrations/20261122235000_member_stats.ts): over purchases with status 'recorded'. */
  purchase_count: Generated<number>;
  spend_rials: Generated<number>;
  last_purchase_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /**
   * Kept by a ledger trigger and the till (migrations/20261130060000_till_fewer_statements.ts): every
   * positive points earning ever, an upper bound of the tier window's sum that spares the till
   * reading the ledger when no promotion is within reach. Never read as a figure to show.
   */
  earned_points: ColumnType<number, never, never>;
  /** Kept by triggers: an account has not blocked the bot; the platforms of the member's accounts. */
  reachable: Generated<boolean>;
  platforms: ColumnType<Platform[], never, never>;
  /** Kept by triggers: members whose referred_by is this member. */
  referral_count: Generated<number>;
  /** A pre-registered member (imported, or registered at the till) gets the signup bonus on joining only if set. */
  join_bonus_due: Generated<boolean>;
  note: ColumnType<string | null, string | null | undefined, string | null>;
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

export interface StaffInvitesTable {
  id: Generated<number>;
  token: string;
  role: Exclude<StaffRole, 'owner'>;
  branch_id: number | null;
  created_by: number;
  created_at: CreatedAt;
  expires_at: Date;
  used_by: number | null;
  used_at: Date | null;
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
  updated_at: ServerTimestamp;
}

export interface EarningRulesTable {
  id: Generated<number>;
  branch_id: number | null;
  rials_per_point: Generated<number>;
  min_purchase: Generated<number>;
  visit_points: Generated<number>;
  visit_daily_cap: Generated<number>;
  active_from: Date | null;
  active_to: Date | null;
  updated_by: number | null;
  updated_at: Timestamp;
}

export type PurchaseStatus = 'recorded' | 'voided';
export interface PurchasesTable {
  id: Generated<number>;
  member_id: number;
  branch_id: number;
  cashier_member_id: number;
  amount_rials: number;
  credit_used: Generated<number>;
  receipt_no: string | null;
  idempotency_key: string;
  points_earned: Generated<number>;
  status: Generated<PurchaseStatus>;
  voided_at: Date | null;
  voided_by: number | null;
  void_reason: string | null;
  unrecovered_points: Generated<number>;
  tier_discount_rials: Generated<number>;
  voucher_discount_rials: Generated<number>;
  voucher_code_id: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
}

export interface LedgerAllocationsTable {
  debit_entry_id: number;
  lot_entry_id: number;
  amount: number;
}

export interface RewardsTable {
  id: Generated<number>;
  title_fa: string;
  title_en: string;
  points_cost: number;
  stock: number | null;
  active_from: Date | null;
  active_to: Date | null;
  active: Generated<boolean>;
  /** Handed over only at this branch; null: at every branch. */
  branch_id: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
}

export interface RewardClaimsTable {
  id: Generated<number>;
  reward_id: number;
  member_id: number;
  code: string;
  operation_id: string;
  points: number;
  status: Generated<'issued' | 'confirmed' | 'cancelled'>;
  confirmed_at: Date | null;
  confirmed_by: number | null;
  branch_id: number | null;
  created_at: CreatedAt;
}

export type RedemptionStatus = 'pending' | 'approved' | 'declined' | 'expired';
export interface RedemptionsTable {
  id: Generated<number>;
  member_id: number;
  branch_id: number;
  cashier_member_id: number;
  points: number;
  status: Generated<RedemptionStatus>;
  expires_at: Date;
  decided_at: Date | null;
  created_at: CreatedAt;
}

export type CreditRequestStatus = 'pending' | 'approved' | 'declined' | 'expired' | 'failed';
/** A purchase paid partly from credit, waiting for the member's approval in their own chat. */
export interface CreditRequestsTable {
  id: Generated<number>;
  member_id: number;
  branch_id: number;
  cashier_member_id: number;
  amount_rials: number;
  credit_rials: number;
  receipt_no: string | null;
  operation_id: string;
  apply_welcome: boolean;
  voucher_code_id: number | null;
  status: Generated<CreditRequestStatus>;
  error: string | null;
  purchase_id: number | null;
  expires_at: Date;
  decided_at: Date | null;
  created_at: CreatedAt;
}

export interface DisputesTable {
  id: Generated<number>;
  member_id: number;
  purchase_id: number;
  status: Generated<'open' | 'resolved'>;
  outcome: ColumnType<'voided' | 'dismissed' | null, 'voided' | 'dismissed' | null | undefined, 'voided' | 'dismissed' | null>;
  reason: ColumnType<string | null, string | null | undefined, string | null>;
  decided_by: ColumnType<number | null, number | null | undefined, number | null>;
  decided_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: CreatedAt;
}

export interface MemberNoticesTable {
  member_id: number;
  kind: string;
  key: string;
  created_at: CreatedAt;
}

export interface JobRunsTable {
  name: string;
  run_key: string;
  status: 'running' | 'done';
  started_at: Date;
  finished_at: Date | null;
}

export interface HandledUpdatesTable {
  platform: Platform;
  bot_id: number;
  update_id: number;
  handled_at: Generated<Date>;
}

/** Long polling's journal of fetched, unfinished updates (see updateJournal). */
export interface ReceivedUpdatesTable {
  platform: Platform;
  bot_id: number;
  update_id: number;
  payload: unknown;
  received_at: Generated<Date>;
}

export interface JoinLinksTable {
  id: Generated<number>;
  slug: string;
  name: string;
  branch_id: number | null;
  created_by: number | null;
  created_at: CreatedAt;
}

export type ReferralStatus = 'pending' | 'pending_review' | 'rewarded' | 'refused' | 'rejected' | 'reversed';
export interface ReferralsTable {
  id: Generated<number>;
  inviter_id: number;
  referee_id: number | null;
  platform: Platform;
  user_id: number;
  status: ReferralStatus;
  reason: string | null;
  qualifying_purchase_id: number | null;
  inviter_points: Generated<number>;
  decided_by: number | null;
  decided_at: Date | null;
  created_at: CreatedAt;
}

/** Someone not yet a member opened an invitation link: once per person and inviter (the funnel's "opened"). */
export interface InvitationOpensTable {
  id: Generated<number>;
  inviter_id: number;
  platform: Platform;
  user_id: number;
  opened_at: Timestamp;
}

export interface MemberVouchersTable {
  id: Generated<number>;
  member_id: number;
  kind: string;
  percent: number;
  expires_at: Date;
  used_purchase_id: number | null;
  created_at: CreatedAt;
}

export type TicketKind = 'complaint' | 'suggestion' | 'question' | 'low_score';
export type TicketCategory = 'product' | 'service' | 'staff' | 'price' | 'other';
export interface TicketsTable {
  id: Generated<number>;
  member_id: number;
  kind: TicketKind;
  category: TicketCategory;
  branch_id: number | null;
  purchase_id: number | null;
  status: Generated<'open' | 'closed'>;
  rating: number | null;
  first_response_at: Date | null;
  closed_at: Date | null;
  closed_by: number | null;
  created_at: CreatedAt;
}

export interface TicketMessagesTable {
  id: Generated<number>;
  ticket_id: number;
  from_staff: boolean;
  author_member_id: number;
  text: string;
  photo_file_id: string | null;
  /** The platform whose bot received the photo (its file id works only there). */
  photo_platform: ColumnType<Platform | null, Platform | null | undefined, Platform | null>;
  created_at: CreatedAt;
}

export interface SatisfactionChecksTable {
  purchase_id: number;
  member_id: number;
  branch_id: number;
  due_at: Date;
  sent_at: Date | null;
  score: number | null;
  comment: string | null;
  ticket_id: number | null;
}

export type SurveyQuestionKind = 'rating' | 'nps' | 'single' | 'multi' | 'text';
export type SurveyAudience = { kind: 'all' } | { kind: 'tier'; tier: string } | { kind: 'joined'; days: number } | { kind: 'bought'; days: number } | { kind: 'segment'; id: number };
export interface SurveysTable {
  id: Generated<number>;
  title_fa: string;
  title_en: string | null;
  reward_points: Generated<number>;
  status: Generated<'draft' | 'published' | 'closed'>;
  audience: ColumnType<SurveyAudience, string | undefined, string>;
  closes_at: Date | null;
  created_by: number | null;
  created_at: CreatedAt;
  published_at: Date | null;
}

export interface SurveyQuestionsTable {
  id: Generated<number>;
  survey_id: number;
  position: number;
  kind: SurveyQuestionKind;
  text_fa: string;
  text_en: string | null;
  options: ColumnType<string[], string | undefined, string>;
  optional: Generated<boolean>;
}

export interface SurveyInvitationsTable {
  survey_id: number;
  member_id: number;
  status: Generated<'pending' | 'sent' | 'failed'>;
  sent_at: Date | null;
}

/** Answers by question id: a number (rating, NPS), an option index or indexes, a text, or null (skipped). */
export type SurveyAnswers = Record<string, number | number[] | string | null>;
export interface SurveyResponsesTable {
  id: Generated<number>;
  survey_id: number;
  member_id: number;
  answers: ColumnType<SurveyAnswers, string, string>;
  completed_at: CreatedAt;
}

export interface SegmentsTable {
  id: Generated<number>;
  name: string;
  filter: ColumnType<object, string, string>;
  created_by: number | null;
  created_at: CreatedAt;
  /** Deleted by a manager: out of every list, still the record of what used it. */
  archived_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export type CampaignStatus = 'draft' | 'scheduled' | 'sending' | 'paused' | 'done' | 'cancelled';
export interface CampaignsTable {
  id: Generated<number>;
  segment_id: number | null;
  text: string;
  photo_file_id: string | null;
  button: ColumnType<{ kind: 'url'; text: string; url: string } | { kind: 'card' } | null, string | null, string | null>;
  status: Generated<CampaignStatus>;
  scheduled_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  created_by: number;
  status_platform: Platform | null;
  status_chat_id: number | null;
  status_message_id: number | null;
  voucher_pool_id: ColumnType<number | null, number | null | undefined, number | null>;
  automation_id: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
}

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'blocked' | 'lost';
export interface CampaignOutboxTable {
  campaign_id: number;
  member_id: number;
  platform: Platform;
  chat_id: number;
  status: Generated<OutboxStatus>;
  error: string | null;
  claimed_at: Date | null;
  sent_at: Date | null;
  voucher_code: ColumnType<string | null, string | null | undefined, string | null>;
}

export type DiscountKind = 'percent' | 'rials';
export interface VoucherPoolsTable {
  id: Generated<number>;
  name: string;
  discount_kind: DiscountKind;
  discount_value: number;
  source: 'generated' | 'uploaded';
  valid_from: Date;
  valid_to: Date;
  per_member_limit: Generated<number>;
  segment_id: number | null;
  /** Redeemed only at this branch; null: at every branch. */
  branch_id: ColumnType<number | null, number | null | undefined, number | null>;
  created_by: number;
  created_at: CreatedAt;
}

export interface VoucherCodesTable {
  id: Generated<number>;
  pool_id: number;
  code: string;
  member_id: ColumnType<number | null, number | null | undefined, number | null>;
  assigned_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  redeemed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  redeemed_member_id: ColumnType<number | null, number | null | undefined, number | null>;
  redeemed_by: ColumnType<number | null, number | null | undefined, number | null>;
  redeemed_branch_id: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface DispatchLeasesTable {
  platform: Platform;
  holder: string;
  until: Date;
  paused_until: Date | null;
}

export type NotificationStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'blocked';
export interface NotificationsTable {
  id: Generated<number>;
  member_id: number;
  platform: Platform;
  chat_id: number;
  kind: string;
  body: JSONColumnType<object, string, string>;
  idempotency_key: string | null;
  status: NotificationStatus;
  attempts: Generated<number>;
  error: ColumnType<string | null, string | null | undefined, string | null>;
  claimed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  sent_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: CreatedAt;
}

export type AutomationKind = 'birthday' | 'winback' | 'occasion';
export interface AutomationsTable {
  id: Generated<number>;
  kind: AutomationKind;
  name: string;
  enabled: Generated<boolean>;
  message: string | null;
  segment_id: number | null;
  gift_points: Generated<number>;
  voucher_pool_id: number | null;
  days: Generated<number>;
  jalali_month: number | null;
  jalali_day: number | null;
  created_at: CreatedAt;
}

export interface AutomationDeliveriesTable {
  automation_id: number;
  member_id: number;
  occasion: string;
  campaign_id: number | null;
  created_at: CreatedAt;
}

export type LotteryTicketMode = 'points' | 'purchase' | 'bought';
export interface LotteryPrize {
  title: string;
  count: number;
  /** Points credited to the winner, or a code from a voucher pool; neither: collected at the shop. */
  points?: number;
  voucher_pool_id?: number;
}
export interface LotteriesTable {
  id: Generated<number>;
  title: string;
  prizes: ColumnType<LotteryPrize[], string, string>;
  starts_at: Date;
  ends_at: Date;
  min_tier_id: number | null;
  opted_in_only: boolean;
  segment_id: number | null;
  /** Tickets come only from purchases (and their points) at this branch; null: every branch. */
  branch_id: ColumnType<number | null, number | null | undefined, number | null>;
  ticket_mode: LotteryTicketMode;
  points_per_ticket: number;
  unique_winners: boolean;
  exclude_last: number;
  seed: string;
  commitment: string;
  status: Generated<'open' | 'drawn' | 'cancelled'>;
  list_digest: string | null;
  proof: ColumnType<object | null, string | null, string | null>;
  drawn_at: Date | null;
  announcement_campaign_id: number | null;
  result_campaign_id: number | null;
  created_by: number;
  created_at: CreatedAt;
}

export interface LotteryTicketPurchasesTable {
  lottery_id: number;
  member_id: number;
  key: string;
  tickets: number;
  points: number;
  created_at: CreatedAt;
}

export interface LotteryWinnersTable {
  lottery_id: number;
  position: number;
  prize_index: number;
  member_id: number;
  ticket: number;
  voucher_code: string | null;
  notified_at: Date | null;
}

export interface QuizzesTable {
  id: Generated<number>;
  title: string;
  segment_id: number | null;
  points_per_answer: number;
  seconds_per_question: number | null;
  opens_at: Date;
  closes_at: Date;
  campaign_id: number | null;
  created_by: number;
  created_at: CreatedAt;
}

export interface QuizQuestionsTable {
  id: Generated<number>;
  quiz_id: number;
  position: number;
  text: string;
  options: ColumnType<string[], string, string>;
  correct: number;
}

export interface QuizAttemptsTable {
  quiz_id: number;
  member_id: number;
  started_at: Date;
  finished_at: Date | null;
  score: Generated<number>;
}

export interface QuizAnswersTable {
  quiz_id: number;
  member_id: number;
  question_id: number;
  asked_at: Date;
  answered_at: Date | null;
  choice: number | null;
  correct: boolean | null;
}

export interface NewsTable {
  id: Generated<number>;
  text: string;
  photo_file_id: string | null;
  event_at: Date | null;
  branch_id: number | null;
  button: ColumnType<{ text: string; url: string } | null, string | null, string | null>;
  campaign_id: number | null;
  created_by: number;
  created_at: CreatedAt;
}

export interface BadgesTable {
  code: string;
  position: number;
  points: Generated<number>;
  enabled: Generated<boolean>;
}

export interface MemberBadgesTable {
  member_id: number;
  code: string;
  earned_at: Date;
}

export type ImportKind = 'members' | 'purchases';
export interface ImportsTable {
  id: Generated<number>;
  kind: ImportKind;
  file_name: string;
  file_sha256: string;
  content: Buffer;
  actor_member_id: number;
  signup_bonus: Generated<boolean>;
  rows: number;
  valid: number;
  status: 'previewed' | 'applying' | 'applied';
  result: JSONColumnType<Record<string, number> | null, string | null, string | null>;
  created_at: CreatedAt;
  applied_at: Date | null;
}

export interface Database {
  club_settings: ClubSettingsTable;
  branches: BranchesTable;
  tiers: TiersTable;
  members: MembersTable;
  member_accounts: MemberAccountsTable;
  staff: StaffTable;
  staff_invites: StaffInvitesTable;
  ledger_entries: LedgerEntriesTable;
  ledger_lots: LedgerLotsTable;
  audit_log: AuditLogTable;
  conversation_state: ConversationStateTable;
  earning_rules: EarningRulesTable;
  purchases: PurchasesTable;
  ledger_allocations: LedgerAllocationsTable;
  rewards: RewardsTable;
  reward_claims: RewardClaimsTable;
  redemptions: RedemptionsTable;
  credit_requests: CreditRequestsTable;
  disputes: DisputesTable;
  member_notices: MemberNoticesTable;
  job_runs: JobRunsTable;
  handled_updates: HandledUpdatesTable;
  received_updates: ReceivedUpdatesTable;
  join_links: JoinLinksTable;
  referrals: ReferralsTable;
  invitation_opens: InvitationOpensTable;
  member_vouchers: MemberVouchersTable;
  tickets: TicketsTable;
  ticket_messages: TicketMessagesTable;
  satisfaction_checks: SatisfactionChecksTable;
  surveys: SurveysTable;
  survey_questions: SurveyQuestionsTable;
  survey_invitations: SurveyInvitationsTable;
  survey_responses: SurveyResponsesTable;
  segments: SegmentsTable;
  campaigns: CampaignsTable;
  campaign_outbox: CampaignOutboxTable;
  voucher_pools: VoucherPoolsTable;
  voucher_codes: VoucherCodesTable;
  dispatch_leases: DispatchLeasesTable;
  notifications: NotificationsTable;
  automations: AutomationsTable;
  automation_deliveries: AutomationDeliveriesTable;
  lotteries: LotteriesTable;
  lottery_ticket_purchases: LotteryTicketPurchasesTable;
  lottery_winners: LotteryWinnersTable;
  quizzes: QuizzesTable;
  quiz_questions: QuizQuestionsTable;
  quiz_attempts: QuizAttemptsTable;
  quiz_answers: QuizAnswersTable;
  news: NewsTable;
  badges: BadgesTable;
  member_badges: MemberBadgesTable;
  imports: ImportsTable;
}

export type Member = Selectable<MembersTable>;
export type NewMember = Insertable<MembersTable>;
export type MemberUpdate = Updateable<MembersTable>;
export type MemberAccount = Selectable<MemberAccountsTable>;
export type Tier = Selectable<TiersTable>;
export type LedgerEntry = Selectable<LedgerEntriesTable>;
export type Staff = Selectable<StaffTable>;
export type Purchase = Selectable<PurchasesTable>;
export type EarningRule = Selectable<EarningRulesTable>;
export type Reward = Selectable<RewardsTable>;
export type CreditRequest = Selectable<CreditRequestsTable>;
export type Redemption = Selectable<RedemptionsTable>;
export type Branch = Selectable<BranchesTable>;
export type Referral = Selectable<ReferralsTable>;
export type JoinLink = Selectable<JoinLinksTable>;
export type Ticket = Selectable<TicketsTable>;
export type Survey = Selectable<SurveysTable>;
export type SurveyQuestion = Selectable<SurveyQuestionsTable>;
export type Campaign = Selectable<CampaignsTable>;
export type VoucherPool = Selectable<VoucherPoolsTable>;
export type VoucherCode = Selectable<VoucherCodesTable>;
export type Automation = Selectable<AutomationsTable>;
export type Lottery = Selectable<LotteriesTable>;
export type Quiz = Selectable<QuizzesTable>;
export type QuizQuestion = Selectable<QuizQuestionsTable>;
export type News = Selectable<NewsTable>;
