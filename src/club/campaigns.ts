import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import { requeueClaimedNotices } from './notifications.ts';
import type { Campaign, CampaignsTable, Locale, OutboxStatus, Platform } from '../db/schema.ts';
import { ClubError } from './errors.ts';
import type { Trx } from './ledger.ts';
import { compileSegment, loadSegment } from './segments.ts';
import { assignCampaignVouchers } from './vouchers.ts';
import { audit } from './audit.ts';

export type CampaignButton = CampaignsTable['button']['__select__'];

/** Telegram's limits (caption 1024, message 4096) less room for {name} and the voucher line. */
export function campaignTextMax(photo: boolean, voucher: boolean) {
  return (photo ? 1024 : 4096) - 64 - (voucher ? 100 : 0);
}

export async function createCampaign(
  db: Db | Trx,
  actorMemberId: number,
  input: { segmentId: number | null; text: string; photoFileId: string | null; button: CampaignButton; voucherPoolId?: number | null; automationId?: number | null },
  now: Date,
): Promise<Campaign> {
  const text = input.text.trim();
  if (!text) throw new ClubError('errors.text_empty');
  const max = campaignTextMax(Boolean(input.photoFileId), Boolean(input.voucherPoolId));
  if (text.length > max) throw new ClubError('errors.text_too_long', { max });
  return db
    .insertInto('campaigns')
    .values({
      segment_id: input.segmentId,
      text,
      photo_file_id: input.photoFileId,
      button: input.button ? JSON.stringify(input.button) : null,
      scheduled_at: null,
      started_at: null,
      finished_at: null,
      created_by: actorMemberId,
      status_platform: null,
      status_chat_id: null,
      status_message_id: null,
      voucher_pool_id: input.voucherPoolId ?? null,
      automation_id: input.automationId ?? null,
      created_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Starts delivery: one outbox row per recipient, written once (a second start adds nobody). A
 * member with accounts on both messengers gets it on the one they joined with most recently.
 * `audience` narrows the segment further (an automation's members of the day).
 */
/** Where the campaign's progress message is, so the dispatcher can keep it up to date. */
export async function setCampaignStatusMessage(db: Db, campaignId: number, where: { platform: Platform; chatId: number; messageId: number }) {
  await db
    .updateTable('campaigns')
    .set({ status_platform: where.platform, status_chat_id: where.chatId, status_message_id: where.messageId })
    .where('id', '=', campaignId)
    .execute();
}

export async function findCampaign(db: Db, campaignId: number): Promise<Campaign | undefined> {
  return db.selectFrom('campaigns').selectAll().where('id', '=', campaignId).executeTakeFirst();
}

/** Campaigns under way, to resume after a start. */
export async function sendingCampaignIds(db: Db): Promise<number[]> {
  return (await db.selectFrom('campaigns').select('id').where('status', '=', 'sending').execute()).map((c) => c.id);
}

export async function startCampaign(db: Db | Trx, campaignId: number, now: Date, audience?: RawBuilder<unknown>): Promise<number | null> {
  const run = async (trx: Trx) => {
    const campaign = await trx.selectFrom('campaigns').selectAll().where('id', '=', campaignId).forUpdate().executeTakeFirst();
    if (!campaign) throw new ClubError('errors.campaign_not_found');
    // Already started (by another process, or a second tap): null, and nothing is added.
    if (campaign.status !== 'draft' && campaign.status !== 'scheduled') return null;
    const filter = await loadSegment(trx, campaign.segment_id);
    const { rows } = await sql<{ n: number }>`
      with ins as (
        insert into campaign_outbox (campaign_id, member_id, platform, chat_id)
        select distinct on (m.id) ${campaignId}, m.id, a.platform, a.chat_id
        from members m join member_accounts a on a.member_id = m.id and not a.blocked
        where m.marketing_opt_in and ${compileSegment(filter, now)} and ${audience ?? sql`true`}
        order by m.id, a.created_at desc
        on conflict do nothing
        returning 1
      ) select count(*) as n from ins`.execute(trx);
    const vouchers = campaign.voucher_pool_id === null ? 0 : await assignCampaignVouchers(trx, campaignId, campaign.voucher_pool_id, now);
    await trx.updateTable('campaigns').set({ status: 'sending', started_at: now }).where('id', '=', campaignId).execute();
    await audit(trx, { actor: campaign.created_by, action: 'campaign.start', payload: { campaign_id: campaignId, recipients: rows[0]!.n, vouchers }, at: now });
    return rows[0]!.n;
  };
  // Inside a caller's transaction (automations) or in one of its own.
  return db.isTransaction ? run(db as Trx) : db.transaction().execute(run);
}

/** Who changes a campaign, and when by the club's clock: every change is audited. */
export interface CampaignActor {
  memberId: number;
  now: Date;
}

export async function scheduleCampaign(db: Db, campaignId: number, at: Date, by: CampaignActor) {
  await db.transaction().execute(async (trx) => {
    const updated = await trx.updateTable('campaigns').set({ status: 'scheduled', scheduled_at: at }).where('id', '=', campaignId).where('status', '=', 'draft').returning('id').executeTakeFirst();
    if (!updated) throw new ClubError('errors.campaign_not_draft');
    await audit(trx, { actor: by.memberId, action: 'campaign.schedule', payload: { campaign_id: campaignId, at: at.toISOString() }, at: by.now });
  });
}

/** Scheduled campaigns whose time has come; each is started by exactly one process. */
export async function startDueCampaigns(db: Db, now: Date): Promise<number[]> {
  const due = await db.selectFrom('campaigns').select('id').where('status', '=', 'scheduled').where('scheduled_at', '<=', now).execute();
  const started: number[] = [];
  for (const { id } of due) {
    // startCampaign locks the row and only starts a draft or scheduled one: a second process finds it sending.
    if ((await startCampaign(db, id, now)) !== null) started.push(id);
  }
  return started;
}

export async function setCampaignStatus(db: Db, campaignId: number, to: 'paused' | 'sending' | 'cancelled', by: CampaignActor) {
  const from = to === 'sending' ? ['paused'] : to === 'paused' ? ['sending'] : ['sending', 'paused', 'scheduled', 'draft'];
  return db.transaction().execute(async (trx) => {
    const updated = await trx.updateTable('campaigns').set({ status: to }).where('id', '=', campaignId).where('status', 'in', from as Campaign['status'][]).returningAll().executeTakeFirst();
    if (!updated) return null;
    const action = to === 'paused' ? 'campaign.pause' : to === 'sending' ? 'campaign.resume' : 'campaign.cancel';
    await audit(trx, { actor: by.memberId, action, payload: { campaign_id: campaignId }, at: by.now });
    return updated;
  });
}

export interface OutboxRow {
  campaign_id: number;
  member_id: number;
  platform: Platform;
  chat_id: number;
  voucher_code: string | null;
  first_name: string;
  locale: Locale | null;
}

/** Claims rows to send. A claimed row is 'sending' until confirmed; SKIP LOCKED lets processes share. */
export async function claimOutbox(db: Db, campaignId: number, platform: Platform, limit: number, now: Date): Promise<OutboxRow[]> {
  const { rows } = await sql<OutboxRow>`
    update campaign_outbox o set status = 'sending', claimed_at = ${now}
    from (
      select campaign_id, platform, chat_id from campaign_outbox
      where campaign_id = ${campaignId} and platform = ${platform} and status = 'pending'
      order by member_id
      limit ${limit}
      for update skip locked
    ) due, members m
    where o.campaign_id = due.campaign_id and o.platform = due.platform and o.chat_id = due.chat_id and m.id = o.member_id
    returning o.campaign_id, o.member_id, o.platform, o.chat_id, o.voucher_code, m.first_name, m.locale`.execute(db);
  return rows;
}

export async function markOutbox(db: Db, row: OutboxRow, status: OutboxStatus, now: Date, error: string | null = null) {
  await db
    .updateTable('campaign_outbox')
    .set({ status, error, sent_at: status === 'sent' ? now : null })
    .where('campaign_id', '=', row.campaign_id)
    .where('platform', '=', row.platform)
    .where('chat_id', '=', row.chat_id)
    .execute();
}

/** Claimed rows that were not sent (a stop, a lost lease) go back to the queue. */
export async function unclaimOutbox(db: Db, rows: OutboxRow[]) {
  for (const row of rows) {
    await db
      .updateTable('campaign_outbox')
      .set({ status: 'pending', claimed_at: null })
      .where('campaign_id', '=', row.campaign_id)
      .where('platform', '=', row.platform)
      .where('chat_id', '=', row.chat_id)
      .where('status', 'in', ['sending', 'lost'])
      .execute();
  }
}

/**
 * Rows claimed but never confirmed, by a sender that died (a lease taken over: the whole platform)
 * or by this one after a failure (one campaign): they may or may not have been delivered, so they
 * are marked lost, not sent again. A missed offer is better than the same offer twice.
 */
export async function markLostRows(db: Db | Trx, platform: Platform, campaignId?: number): Promise<number> {
  let update = db.updateTable('campaign_outbox').set({ status: 'lost' }).where('status', '=', 'sending').where('platform', '=', platform);
  if (campaignId !== undefined) update = update.where('campaign_id', '=', campaignId);
  return (await update.returning('chat_id').execute()).length;
}

export interface DispatchLease {
  held: boolean;
  /** A 429 pause any holder must keep (Telegram asked the bot, not the process). */
  pausedUntil: Date | null;
  /** Rows left in flight by the previous holder, now marked lost. */
  lost: number;
  /** Notifications left in flight by the previous holder, queued again (see requeueClaimedNotices). */
  requeued: number;
}

/**
 * Takes or renews the right to send one platform's campaigns. Only one process holds it at a time
 * (a live holder renews it every batch); when it is taken from a holder that stopped renewing, or
 * for the first time, rows still marked in flight belonged to a process that died and are lost.
 */
export async function acquireDispatchLease(db: Db, platform: Platform, holder: string, ttlMs: number): Promise<DispatchLease> {
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('dispatch_leases').selectAll().where('platform', '=', platform).forUpdate().executeTakeFirst();
    const until = sql<Date>`now() + ${`${ttlMs} milliseconds`}::interval`;
    const taken = current
      ? await trx
          .updateTable('dispatch_leases')
          .set({ holder, until })
          .where('platform', '=', platform)
          .where((eb) => eb.or([eb('holder', '=', holder), eb('until', '<', sql<Date>`now()`)]))
          .returning('paused_until')
          .executeTakeFirst()
      : await trx.insertInto('dispatch_leases').values({ platform, holder, until, paused_until: null }).onConflict((oc) => oc.doNothing()).returning('paused_until').executeTakeFirst();
    if (!taken) return { held: false, pausedUntil: current?.paused_until ?? null, lost: 0, requeued: 0 };
    if (current?.holder === holder) return { held: true, pausedUntil: taken.paused_until, lost: 0, requeued: 0 };
    return { held: true, pausedUntil: taken.paused_until, lost: await markLostRows(trx, platform), requeued: await requeueClaimedNotices(trx, platform) };
  });
}

export async function pauseDispatch(db: Db, platform: Platform, until: Date) {
  await db.updateTable('dispatch_leases').set({ paused_until: until }).where('platform', '=', platform).execute();
}

/** On a clean stop: the next process may send at once. */
export async function releaseDispatchLease(db: Db, platform: Platform, holder: string) {
  await db.deleteFrom('dispatch_leases').where('platform', '=', platform).where('holder', '=', holder).execute();
}

export type Progress = Record<OutboxStatus, number> & { total: number };

export async function campaignProgress(db: Db, campaignId: number): Promise<Progress> {
  const rows = await db.selectFrom('campaign_outbox').select(['status', sql<number>`count(*)`.as('n')]).where('campaign_id', '=', campaignId).groupBy('status').execute();
  const progress: Progress = { pending: 0, sending: 0, sent: 0, failed: 0, blocked: 0, lost: 0, total: 0 };
  for (const r of rows) {
    progress[r.status] = r.n;
    progress.total += r.n;
  }
  return progress;
}

export async function finishCampaignIfDone(db: Db, campaignId: number, now: Date): Promise<boolean> {
  const p = await campaignProgress(db, campaignId);
  if (p.pending > 0 || p.sending > 0) return false;
  const done = await db.updateTable('campaigns').set({ status: 'done', finished_at: now }).where('id', '=', campaignId).where('status', '=', 'sending').returning('id').executeTakeFirst();
  return Boolean(done);
}

/** Delivered, blocked, failed, and members who bought within 7 days of the start, with revenue. */
export async function campaignResults(db: Db, campaignId: number) {
  const campaign = await db.selectFrom('campaigns').selectAll().where('id', '=', campaignId).executeTakeFirst();
  if (!campaign) throw new ClubError('errors.campaign_not_found');
  const progress = await campaignProgress(db, campaignId);
  const start = campaign.started_at ?? campaign.created_at;
  const { rows } = await sql<{ buyers: number; revenue: number }>`
    select count(distinct p.member_id) as buyers, coalesce(sum(p.amount_rials), 0)::int8 as revenue
    from campaign_outbox o join purchases p on p.member_id = o.member_id
    where o.campaign_id = ${campaignId} and o.status = 'sent' and p.status = 'recorded'
      and p.created_at >= ${start} and p.created_at < ${new Date(start.getTime() + 7 * 86_400_000)}`.execute(db);
  return { campaign, progress, buyers: rows[0]!.buyers, revenue: rows[0]!.revenue };
}

export interface CampaignOverview {
  id: number;
  status: Campaign['status'];
  text: string;
  scheduledAt: Date | null;
  startedAt: Date | null;
  segment: string | null;
  pool: string | null;
  sent: number;
  /** Voucher codes handed out with the campaign, and how many of them were redeemed. */
  vouchersGiven: number;
  vouchersUsed: number;
}

/** The latest campaigns with what a manager asks of them: text, schedule, reach and voucher uses. */
export async function recentCampaigns(db: Db, limit = 8): Promise<CampaignOverview[]> {
  const { rows } = await sql<{
    id: number; status: Campaign['status']; text: string; scheduled_at: Date | null; started_at: Date | null;
    segment: string | null; pool: string | null; sent: number; given: number; used: number;
  }>`
    select c.id, c.status, c.text, c.scheduled_at, c.started_at, s.name as segment, vp.name as pool,
      (select count(*) from campaign_outbox o where o.campaign_id = c.id and o.status = 'sent') as sent,
      (select count(*) from campaign_outbox o where o.campaign_id = c.id and o.voucher_code is not null) as given,
      (select count(*) from campaign_outbox o join voucher_codes v on v.code = o.voucher_code
        where o.campaign_id = c.id and v.redeemed_at is not null) as used
    from campaigns c
    left join segments s on s.id = c.segment_id
    left join voucher_pools vp on vp.id = c.voucher_pool_id
    order by c.id desc
    limit ${limit}`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    text: r.text,
    scheduledAt: r.scheduled_at ? new Date(r.scheduled_at) : null,
    startedAt: r.started_at ? new Date(r.started_at) : null,
    segment: r.segment,
    pool: r.pool,
    sent: r.sent,
    vouchersGiven: r.given,
    vouchersUsed: r.used,
  }));
}

/** A scheduled campaign moved to another time (still in the future: the caller checks). */
export async function rescheduleCampaign(db: Db, campaignId: number, at: Date, by: CampaignActor) {
  await db.transaction().execute(async (trx) => {
    const updated = await trx.updateTable('campaigns').set({ scheduled_at: at }).where('id', '=', campaignId).where('status', '=', 'scheduled').returning('id').executeTakeFirst();
    if (!updated) throw new ClubError('campaignlist.not_scheduled');
    await audit(trx, { actor: by.memberId, action: 'campaign.reschedule', payload: { campaign_id: campaignId, at: at.toISOString() }, at: by.now });
  });
}

/** New text for a campaign not yet started, within the same limits as when it was written. */
export async function editCampaignText(db: Db, campaignId: number, text: string, by: CampaignActor) {
  const body = text.trim();
  if (!body) throw new ClubError('errors.text_empty');
  await db.transaction().execute(async (trx) => {
    const campaign = await trx.selectFrom('campaigns').selectAll().where('id', '=', campaignId).forUpdate().executeTakeFirst();
    if (!campaign || (campaign.status !== 'scheduled' && campaign.status !== 'draft')) throw new ClubError('campaignlist.not_scheduled');
    const max = campaignTextMax(Boolean(campaign.photo_file_id), campaign.voucher_pool_id !== null);
    if (body.length > max) throw new ClubError('errors.text_too_long', { max });
    await trx.updateTable('campaigns').set({ text: body }).where('id', '=', campaignId).execute();
    await audit(trx, { actor: by.memberId, action: 'campaign.edit', payload: { campaign_id: campaignId }, at: by.now });
  });
}
