import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { DiscountKind, VoucherCode, VoucherPool } from '../db/schema.ts';
import { randomCode, STRICT_ALPHABET } from '../lib/codes.ts';
import { toLatinDigits } from '../lib/digits.ts';
import { ClubError } from './errors.ts';
import type { Trx } from './ledger.ts';
import { compileSegment, loadSegment } from './segments.ts';
import { audit } from './audit.ts';
import { refuseOtherBranch } from './offer-branch.ts';

const CODE_LENGTH = 8;

/** What a cashier or a file gives us, as stored: upper case, Latin digits, no spaces or dashes. */
export function normalizeCode(input: string): string {
  return toLatinDigits(input).toUpperCase().replace(/[\s\-_]/g, '');
}

/** "ACDE-FG34": shown in two halves so it is easy to read out. */
export function displayCode(code: string): string {
  return code.length === CODE_LENGTH ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
}

export function newVoucherCode(): string {
  return randomCode(CODE_LENGTH, STRICT_ALPHABET);
}

/** "20%" or "500000" / "۵۰۰٬۰۰۰ ریال": a percent (1–100) or a Rial amount. */
export function parseDiscount(input: string): { kind: DiscountKind; value: number } | null {
  const text = toLatinDigits(input).replace(/[,٬،\s]|ریال|rials?/gi, '');
  const percent = /^(\d{1,3})(%|٪)$/.exec(text);
  if (percent) {
    const value = Number(percent[1]);
    return value >= 1 && value <= 100 ? { kind: 'percent', value } : null;
  }
  if (/^\d{1,15}$/.test(text) && Number(text) > 0) return { kind: 'rials', value: Number(text) };
  return null;
}

export interface PoolInput {
  name: string;
  discount: { kind: DiscountKind; value: number };
  validFrom: Date;
  validTo: Date;
  perMemberLimit: number;
  segmentId: number | null;
  /** Redeemed only at this branch; null or absent: at every branch. */
  branchId?: number | null;
}

export async function createPool(db: Db, actorMemberId: number, input: PoolInput, codes: { generate: number } | { upload: string[] }, now: Date): Promise<{ pool: VoucherPool; codes: number; duplicates: number }> {
  const name = input.name.trim();
  if (!name || name.length > 64) throw new ClubError('errors.voucher_pool_name');
  if (input.validTo <= input.validFrom) throw new ClubError('errors.voucher_window');
  if (!Number.isSafeInteger(input.perMemberLimit) || input.perMemberLimit < 1) throw new ClubError('errors.voucher_limit');
  return db.transaction().execute(async (trx) => {
    const pool = await trx
      .insertInto('voucher_pools')
      .values({
        name,
        discount_kind: input.discount.kind,
        discount_value: input.discount.value,
        source: 'generate' in codes ? 'generated' : 'uploaded',
        valid_from: input.validFrom,
        valid_to: input.validTo,
        per_member_limit: input.perMemberLimit,
        segment_id: input.segmentId,
        branch_id: input.branchId ?? null,
        created_by: actorMemberId,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    let added = 0;
    let duplicates = 0;
    if ('generate' in codes) added = await generateCodes(trx, pool.id, codes.generate);
    else {
      const unique = [...new Set(codes.upload)];
      duplicates = codes.upload.length - unique.length;
      for (let i = 0; i < unique.length; i += 1000) {
        const inserted = await trx
          .insertInto('voucher_codes')
          .values(unique.slice(i, i + 1000).map((code) => ({ pool_id: pool.id, code })))
          .onConflict((oc) => oc.column('code').doNothing())
          .returning('id')
          .execute();
        added += inserted.length;
        duplicates += Math.min(1000, unique.length - i) - inserted.length;
      }
    }
    if (added === 0) throw new ClubError('errors.voucher_no_codes');
    await audit(trx, { actor: actorMemberId, action: 'voucher_pool.create', payload: { pool_id: pool.id, codes: added, duplicates }, at: now });
    return { pool, codes: added, duplicates };
  });
}

/** Adds `count` fresh random codes to a pool (a collision with an existing code just draws again). */
export async function generateCodes(trx: Trx | Db, poolId: number, count: number): Promise<number> {
  if (!Number.isSafeInteger(count) || count < 1 || count > 1_000_000) throw new ClubError('errors.voucher_count');
  let added = 0;
  while (added < count) {
    const batch = Array.from({ length: Math.min(1000, count - added) }, () => ({ pool_id: poolId, code: newVoucherCode() }));
    const inserted = await trx.insertInto('voucher_codes').values(batch).onConflict((oc) => oc.column('code').doNothing()).returning('id').execute();
    added += inserted.length;
  }
  return added;
}

const CSV_OPTIONS = { relax_column_count: true, skip_empty_lines: true, trim: true, delimiter: [',', ';', '\t'] };

export interface CodeFile {
  codes: string[];
  /** Rows that are not codes (counted as skipped). */
  rejected: number;
  /** When the file is not valid CSV (an unclosed or stray quote): the lines at fault, from 1. */
  malformedLines?: number[];
}

/**
 * Codes from an uploaded CSV or TXT: the first column of each row (a header row that does not look
 * like a code is skipped), normalised; rows that are not codes are reported, not guessed. A file
 * that is not valid CSV yields no codes and the lines at fault: an unclosed quote would otherwise
 * swallow the rest of the file into one field.
 */
export function parseCodeFile(content: string): CodeFile {
  const text = content.replace(/^\uFEFF/, '');
  let rows: string[][];
  try {
    rows = parseCsv(text, CSV_OPTIONS);
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    return { codes: [], rejected: 0, malformedLines: malformedLines(text, error) };
  }
  const codes: string[] = [];
  let rejected = 0;
  for (const [i, row] of rows.entries()) {
    const code = normalizeCode(row[0] ?? '');
    if (i === 0 && /^(CODES?|VOUCHERS?|COUPONS?|کد.*)$/.test(code)) continue;
    if (/^[A-Z0-9]{4,32}$/.test(code)) codes.push(code);
    else if (i > 0) rejected++;
  }
  return { codes, rejected };
}

/** A code fits on one line, so each line must be valid CSV by itself; else where the parser stopped. */
function malformedLines(text: string, error: CsvError): number[] {
  const lines: number[] = [];
  for (const [i, line] of text.split(/\r\n|\n|\r/).entries()) {
    try {
      parseCsv(line, CSV_OPTIONS);
    } catch {
      lines.push(i + 1);
    }
  }
  return lines.length > 0 ? lines : [Number((error as { lines?: number }).lines ?? 1)];
}

/**
 * Gives each outbox recipient of a campaign its own code from the pool, in the campaign's start
 * transaction. A generated pool first makes as many codes as are missing; an uploaded one hands out
 * what it has (the campaign conversation warns when it is short). Returns how many got a code.
 */
export async function assignCampaignVouchers(trx: Trx, campaignId: number, poolId: number, now: Date): Promise<number> {
  const pool = await trx.selectFrom('voucher_pools').selectAll().where('id', '=', poolId).forUpdate().executeTakeFirstOrThrow();
  const { rows: need } = await sql<{ recipients: number; free: number }>`
    select (select count(*) from campaign_outbox where campaign_id = ${campaignId} and voucher_code is null) as recipients,
           (select count(*) from voucher_codes where pool_id = ${poolId} and member_id is null and redeemed_at is null) as free`.execute(trx);
  const { recipients, free } = need[0]!;
  if (pool.source === 'generated' && free < recipients) await generateCodes(trx, poolId, recipients - free);
  const { rows } = await sql<{ n: number }>`
    with r as (
      select member_id, platform, chat_id, row_number() over (order by member_id, platform) as rn
      from campaign_outbox where campaign_id = ${campaignId} and voucher_code is null
    ), v as (
      select id, code, row_number() over (order by id) as rn
      from voucher_codes where pool_id = ${poolId} and member_id is null and redeemed_at is null
    ), given as (
      update voucher_codes c set member_id = r.member_id, assigned_at = ${now}
      from r join v using (rn) where c.id = v.id
      returning c.member_id, c.code
    ), written as (
      update campaign_outbox o set voucher_code = given.code
      from given where o.campaign_id = ${campaignId} and o.member_id = given.member_id
      returning 1
    ) select count(*) as n from written`.execute(trx);
  return rows[0]!.n;
}

export interface PoolStats extends VoucherPool {
  total: number;
  assigned: number;
  redeemed: number;
}

/** Pools whose window has not ended, newest first, for pickers (campaigns, automations, lottery prizes). */
export async function runningPools(db: Db, now: Date, limit = 10) {
  return db.selectFrom('voucher_pools').select(['id', 'name']).where('valid_to', '>', now).orderBy('id', 'desc').limit(limit).execute();
}

/** Pools still running, newest first, with how many of their codes are not yet given to anyone (the campaign's voucher choice). */
export async function poolsWithFreeCodes(db: Db, now: Date, limit = 8) {
  return db
    .selectFrom('voucher_pools')
    .select(['id', 'name', 'source', sql<number>`(select count(*) from voucher_codes c where c.pool_id = voucher_pools.id and c.member_id is null and c.redeemed_at is null)`.as('free')])
    .where('valid_to', '>', now)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** A member's own codes, valid now and not redeemed, the soonest to end first (offered at the till). */
export async function openCodesOf(db: Db, memberId: number, now: Date, limit = 3) {
  return db
    .selectFrom('voucher_codes')
    .innerJoin('voucher_pools', 'voucher_pools.id', 'voucher_codes.pool_id')
    .select(['voucher_codes.id', 'voucher_codes.code'])
    .where('voucher_codes.member_id', '=', memberId)
    .where('voucher_codes.redeemed_at', 'is', null)
    .where('voucher_pools.valid_from', '<=', now)
    .where('voucher_pools.valid_to', '>', now)
    .orderBy('voucher_pools.valid_to')
    .limit(limit)
    .execute();
}

export async function listPools(db: Db): Promise<PoolStats[]> {
  const { rows } = await sql<PoolStats>`
    select p.*, count(c.id)::int8 as total, count(c.member_id)::int8 as assigned, count(c.redeemed_at)::int8 as redeemed
    from voucher_pools p left join voucher_codes c on c.pool_id = p.id
    group by p.id order by p.id desc limit 20`.execute(db);
  return rows;
}

export interface VoucherLookup {
  code: VoucherCode;
  pool: VoucherPool;
}

export async function findVoucher(db: Db | Trx, input: string): Promise<VoucherLookup> {
  const code = await db.selectFrom('voucher_codes').selectAll().where('code', '=', normalizeCode(input)).executeTakeFirst();
  if (!code) throw new ClubError('errors.voucher_unknown');
  const pool = await db.selectFrom('voucher_pools').selectAll().where('id', '=', code.pool_id).executeTakeFirstOrThrow();
  return { code, pool };
}

/**
 * Checks a code for a redemption without changing anything: the reasons a cashier must be told
 * (used, not yet valid, expired, given to another member, member over the pool's limit or outside
 * its segment). `memberId` is the customer at the till; null (no member on screen) is enough only
 * for a code given to nobody in particular. `branchId` is the till's branch: a pool limited to another
 * branch is refused there (undefined: a look-up away from any till, which does not judge the branch).
 */
export async function checkVoucher(db: Db | Trx, input: string, memberId: number | null, now: Date, branchId?: number | null): Promise<VoucherLookup & { memberId: number | null }> {
  const found = await findVoucher(db, input);
  const { code, pool } = found;
  if (code.redeemed_at) throw new ClubError('errors.voucher_used');
  if (now < pool.valid_from) throw new ClubError('errors.voucher_not_yet');
  if (now >= pool.valid_to) throw new ClubError('errors.voucher_expired');
  if (branchId !== undefined) await refuseOtherBranch(db, pool.branch_id, branchId, 'branch_offers.voucher_refused');
  if (code.member_id !== null && memberId !== null && code.member_id !== memberId) throw new ClubError('errors.voucher_foreign');
  // A personal code is used only on its member's account, with that member at the till: a code
  // forwarded to somebody else, typed without a member on screen, gives nobody the discount.
  if (code.member_id !== null && memberId === null) {
    const owner = await db.selectFrom('members').select('first_name').where('id', '=', code.member_id).executeTakeFirstOrThrow();
    throw new ClubError('errors.voucher_personal', { name: owner.first_name });
  }
  const holder = memberId ?? code.member_id;
  if (holder !== null) {
    const used = await db.selectFrom('voucher_codes').select(sql<number>`count(*)`.as('n')).where('pool_id', '=', pool.id).where('redeemed_member_id', '=', holder).where('redeemed_at', 'is not', null).executeTakeFirstOrThrow();
    if (used.n >= pool.per_member_limit) throw new ClubError('errors.voucher_limit_reached', { limit: pool.per_member_limit });
    if (pool.segment_id !== null) {
      const filter = await loadSegment(db as Db, pool.segment_id);
      const { rows } = await sql<{ ok: boolean }>`select exists (select 1 from members m where m.id = ${holder} and ${compileSegment(filter, now)}) as ok`.execute(db);
      if (!rows[0]!.ok) throw new ClubError('errors.voucher_segment');
    }
  }
  return { ...found, memberId: holder };
}

/** A pool code chosen at the till is refused at another branch than its pool's (see checkVoucher). */
export async function refuseVoucherElsewhere(db: Db | Trx, codeId: number, branchId: number): Promise<void> {
  const pool = await db.selectFrom('voucher_codes').innerJoin('voucher_pools', 'voucher_pools.id', 'voucher_codes.pool_id').select('voucher_pools.branch_id').where('voucher_codes.id', '=', codeId).executeTakeFirst();
  if (pool) await refuseOtherBranch(db, pool.branch_id, branchId, 'branch_offers.voucher_refused');
}

/**
 * Redeems a code once. The member row (when known) and the code row are locked, so two cashiers
 * typing the same code, or one member's two codes against a limit of one, cannot both pass.
 */
export async function redeemVoucher(db: Db, input: { code: string; memberId: number | null; staffMemberId: number; branchId: number | null; now: Date }): Promise<VoucherLookup> {
  return db.transaction().execute(async (trx) => {
    const normalized = normalizeCode(input.code);
    const target = await trx.selectFrom('voucher_codes').select(['id', 'member_id']).where('code', '=', normalized).executeTakeFirst();
    if (!target) throw new ClubError('errors.voucher_unknown');
    const holder = input.memberId ?? target.member_id;
    if (holder !== null) await trx.selectFrom('members').select('id').where('id', '=', holder).forUpdate().executeTakeFirst();
    await trx.selectFrom('voucher_codes').select('id').where('id', '=', target.id).forUpdate().executeTakeFirst();
    const checked = await checkVoucher(trx, normalized, input.memberId, input.now, input.branchId);
    const code = await trx
      .updateTable('voucher_codes')
      .set({ redeemed_at: input.now, redeemed_member_id: checked.memberId, redeemed_by: input.staffMemberId, redeemed_branch_id: input.branchId })
      .where('id', '=', target.id)
      .where('redeemed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!code) throw new ClubError('errors.voucher_used');
    await audit(trx, { actor: input.staffMemberId, action: 'voucher.redeem', payload: { code: code.code, pool_id: code.pool_id, member_id: checked.memberId }, at: input.now });
    return { code, pool: checked.pool };
  });
}

/** Undo by the same cashier within 15 minutes (a mistaken redemption at the till). */
export async function undoVoucher(db: Db, codeInput: string, staffMemberId: number, now: Date): Promise<void> {
  const code = normalizeCode(codeInput);
  const undone = await db
    .updateTable('voucher_codes')
    .set({ redeemed_at: null, redeemed_member_id: null, redeemed_by: null, redeemed_branch_id: null })
    .where('code', '=', code)
    .where('redeemed_by', '=', staffMemberId)
    .where('redeemed_at', '>', new Date(now.getTime() - 15 * 60_000))
    .returning('pool_id')
    .executeTakeFirst();
  if (!undone) throw new ClubError('errors.voucher_undo_late');
  await audit(db, { actor: staffMemberId, action: 'voucher.undo', payload: { code, pool_id: undone.pool_id }, at: now });
}
