import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { ClubError } from '../errors.ts';
import { newReferralCode } from '../members.ts';
import { markActivityChanged } from '../analytics/activity.ts';
import { attributeLatePurchase } from '../analytics/campaign-attribution.ts';
import { recordPurchase } from '../purchases.ts';
import type { ApplyEnv, Checked, LineProblems } from './imports.ts';
import type { ApplyOptions } from './members.ts';
import type { PurchaseRow } from './validate.ts';

export interface PurchaseImportResult {
  recorded: number;
  /** The same receipt at the same branch was already recorded (an earlier import, or the till). */
  duplicates: number;
  /** Buyers the club did not know: pre-registered, their points wait until they join. */
  preRegistered: number;
  points: number;
}

/** The members behind a batch's phones; unknown phones become pre-registered members. */
async function membersFor(db: Db, rows: PurchaseRow[], opts: ApplyOptions, env: ApplyEnv) {
  const phones = [...new Set(rows.map((r) => r.phone))];
  const tier = await db.selectFrom('tiers').select('id').orderBy('rank').limit(1).executeTakeFirstOrThrow();
  const json = JSON.stringify(phones.map((phone) => ({ phone, code: newReferralCode() })));
  // Joined on their first purchase in the file: the earliest date the club has of them.
  const firstSeen = new Map<string, Date>();
  for (const r of rows) if (!firstSeen.has(r.phone) || r.at < firstSeen.get(r.phone)!) firstSeen.set(r.phone, r.at);
  const seen = JSON.stringify([...firstSeen].map(([phone, at]) => ({ phone, at })));
  const created = await sql<{ id: number }>`
    insert into members (phone, first_name, referral_code, tier_id, joined_at, last_active_at, join_bonus_due)
    select v.phone, '', v.code, ${tier.id}, s.at, s.at, ${opts.signupBonus}
    from jsonb_to_recordset(${json}::jsonb) as v(phone text, code text)
    join jsonb_to_recordset(${seen}::jsonb) as s(phone text, at timestamptz) on s.phone = v.phone
    on conflict (phone) do nothing
    returning id`.execute(db);
  const found = await db.selectFrom('members').select(['id', 'phone']).where('phone', 'in', phones).execute();
  return { ids: new Map(found.map((m) => [m.phone, m.id])), created: created.rows.length };
}

/**
 * Records the purchases of a POS export as if rung up at the till on their own date: the rules,
 * tiers and lot expiry of that date (recordPurchase with the purchase's time as its clock), the
 * receipt per branch as the key, so a receipt already recorded is skipped. Members are not
 * notified of history.
 */
export async function applyPurchases(db: Db, batches: AsyncIterable<Checked[]>, problems: LineProblems[], opts: ApplyOptions, env: ApplyEnv): Promise<PurchaseImportResult> {
  const total: PurchaseImportResult = { recorded: 0, duplicates: 0, preRegistered: 0, points: 0 };
  for await (const batch of batches) {
    const rows: PurchaseRow[] = [];
    for (const c of batch) {
      if (c.kind === 'problem') problems.push(c.line);
      else if (c.kind === 'purchases') rows.push(c.row);
    }
    if (!rows.length) continue;
    const { ids, created } = await membersFor(db, rows, opts, env);
    total.preRegistered += created;
    for (const r of rows) {
      try {
        // A past date may fall in a month the activity rollup already holds: marked in the same
        // transaction, so the reports read that month live until the job rebuilds it.
        const outcome = await db.transaction().execute(async (trx) => {
          await markActivityChanged(trx, r.at);
          const recorded = await recordPurchase(
            trx,
            { memberId: ids.get(r.phone)!, branchId: r.branchId, cashierMemberId: opts.actorMemberId, amountRials: r.amountRials, receiptNo: r.receiptNo, operationId: `import:${opts.importId}:${r.line}` },
            { now: r.at, timeZone: env.timeZone, ...(env.loyaltyDefaults ? { defaults: env.loyaltyDefaults } : {}) },
          );
          // Likewise its campaign, when the attribution job has passed its date.
          if (!recorded.duplicate) await attributeLatePurchase(trx, recorded.purchase);
          return recorded;
        });
        if (outcome.duplicate) total.duplicates++;
        else {
          total.recorded++;
          total.points += outcome.points;
        }
      } catch (error) {
        // The owner's own purchase, a receipt recorded for somebody else...: reported on its line.
        if (!(error instanceof ClubError)) throw error;
        problems.push({ line: r.line, problems: [{ code: error.i18nKey.replace(/^errors\./, ''), field: 'receipt', value: r.receiptNo }] });
      }
    }
  }
  return total;
}
