import jalaali from 'jalaali-js';
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Automation } from '../db/schema.ts';
import { isoToJalali, jalaliToIso, todayIso } from '../lib/jalali.ts';
import { createCampaign, startCampaign } from './campaigns.ts';
import { ClubError } from './errors.ts';
import { credit, type Trx } from './ledger.ts';
import { loyaltySettings, lotExpiry } from './rules.ts';
import { compileSegment, loadSegment } from './segments.ts';
import { audit } from './audit.ts';

const { isLeapJalaaliYear } = jalaali;

/** Campaign text that is a message key and the gift (`i18n:key|points`): each member reads it in their own language (see renderCampaign). */
export const I18N_TEXT = 'i18n:';

/** The built-in message of an automation without one of its own (custom occasions always have one). */
export function greetingKey(a: Pick<Automation, 'kind' | 'name'>) {
  return a.kind === 'occasion' ? `automations.greeting_${a.name === 'yalda' ? 'yalda' : 'nowruz'}` : `automations.greeting_${a.kind}`;
}

export interface AutomationDay {
  /** Today in the club's zone, as an ISO date. */
  today: string;
  now: Date;
  timeZone: string;
}

const addDays = (iso: string, days: number) => new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** Members (opted in, reachable, in the automation's segment) and the occasion key each would get today. */
async function candidates(db: Db | Trx, automation: Automation, day: AutomationDay): Promise<{ memberId: number; occasion: string }[]> {
  const filter = await loadSegment(db as Db, automation.segment_id);
  const base = (extra: RawBuilder<unknown>) => sql`
    m.marketing_opt_in and ${compileSegment(filter, day.now)} and ${extra}
    and exists (select 1 from member_accounts a where a.member_id = m.id and not a.blocked)`;

  if (automation.kind === 'occasion') {
    const { jy, jm, jd } = isoToJalali(day.today);
    if (jm !== automation.jalali_month || jd !== automation.jalali_day) return [];
    const { rows } = await sql<{ id: number }>`select m.id from members m where ${base(sql`true`)}`.execute(db);
    return rows.map((r) => ({ memberId: r.id, occasion: `${jy}-${jm}-${jd}` }));
  }

  if (automation.kind === 'winback') {
    // Quiet for `days` since the last purchase; the occasion is that purchase, so a member who buys
    // again and goes quiet again is welcomed back again, never twice for the same silence.
    const cutoff = new Date(day.now.getTime() - automation.days * 86_400_000);
    const { rows } = await sql<{ id: number; last: string }>`
      select m.id, extract(epoch from q.last)::int8::text as last
      from members m
      join (select member_id, max(created_at) as last from purchases where status = 'recorded' group by member_id) q on q.member_id = m.id
      where q.last <= ${cutoff} and ${base(sql`true`)}`.execute(db);
    return rows.map((r) => ({ memberId: r.id, occasion: `quiet-since-${r.last}` }));
  }

  // Birthday `days` ahead, in the Jalali calendar: the Gregorian day of a Jalali date moves by a
  // day between years, so candidates come from a small window and are checked exactly here.
  const target = addDays(day.today, automation.days);
  const t = isoToJalali(target);
  const window = [-2, -1, 0, 1, 2].map((d) => addDays(target, d).slice(5).replace('-', ''));
  const { rows } = await sql<{ id: number; birth_date: string }>`
    select m.id, m.birth_date from members m
    where m.birth_date is not null and to_char(m.birth_date, 'MMDD') in (${sql.join(window)}) and ${base(sql`true`)}`.execute(db);
  return rows
    .filter((r) => {
      const b = isoToJalali(r.birth_date);
      if (b.jm === t.jm && b.jd === t.jd) return true;
      // Born on 30 Esfand: in a common year the birthday is the 29th.
      return b.jm === 12 && b.jd === 30 && t.jm === 12 && t.jd === 29 && !isLeapJalaaliYear(t.jy);
    })
    .map((r) => ({ memberId: r.id, occasion: `birthday-${t.jy}` }));
}

/** Who would receive it today, leaving out those who already have: the preview in the bot. */
export async function previewAutomation(db: Db, automation: Automation, day: AutomationDay): Promise<{ count: number; names: string[] }> {
  const all = await candidates(db, automation, day);
  if (all.length === 0) return { count: 0, names: [] };
  const done = new Set<string>();
  for (let i = 0; i < all.length; i += 1000) {
    const chunk = all.slice(i, i + 1000);
    const rows = await db
      .selectFrom('automation_deliveries')
      .select(['member_id', 'occasion'])
      .where('automation_id', '=', automation.id)
      .where('member_id', 'in', chunk.map((c) => c.memberId))
      .execute();
    for (const r of rows) done.add(`${r.member_id}:${r.occasion}`);
  }
  const fresh = all.filter((c) => !done.has(`${c.memberId}:${c.occasion}`));
  const names = fresh.length
    ? await db.selectFrom('members').select('first_name').where('id', 'in', fresh.slice(0, 10).map((c) => c.memberId)).orderBy('id').execute()
    : [];
  return { count: fresh.length, names: names.map((n) => n.first_name) };
}

export interface AutomationRun {
  automationId: number;
  campaignId: number | null;
  recipients: number;
  giftedPoints: number;
}

/**
 * Today's run of one automation, all in one transaction: the once-per-occasion records, the gift
 * points and a campaign (with its outbox) for the members who have not had it yet. Run it again
 * the same day, or from two processes at once, and nobody gets a second message or gift.
 */
export async function runAutomation(db: Db, automation: Automation, day: AutomationDay): Promise<AutomationRun> {
  const found = await candidates(db, automation, day);
  const empty = { automationId: automation.id, campaignId: null, recipients: 0, giftedPoints: 0 };
  if (found.length === 0) return empty;
  const settings = await loyaltySettings(db);
  return db.transaction().execute(async (trx) => {
    const owner = await trx.selectFrom('staff').select('member_id').where('role', '=', 'owner').orderBy('member_id').executeTakeFirst();
    if (!owner) return empty;
    const campaign = await createCampaign(trx, owner.member_id, {
      segmentId: null,
      text: automation.message ?? `${I18N_TEXT}${greetingKey(automation)}|${automation.gift_points}`,
      photoFileId: null,
      button: { kind: 'card' },
      voucherPoolId: automation.voucher_pool_id,
      automationId: automation.id,
    }, day.now);
    let fresh: { member_id: number; occasion: string }[] = [];
    for (let i = 0; i < found.length; i += 1000) {
      const inserted = await trx
        .insertInto('automation_deliveries')
        .values(found.slice(i, i + 1000).map((c) => ({ automation_id: automation.id, member_id: c.memberId, occasion: c.occasion, campaign_id: campaign.id, created_at: day.now })))
        .onConflict((oc) => oc.doNothing())
        .returning(['member_id', 'occasion'])
        .execute();
      fresh = fresh.concat(inserted);
    }
    if (fresh.length === 0) {
      await trx.deleteFrom('campaigns').where('id', '=', campaign.id).execute();
      return empty;
    }
    let giftedPoints = 0;
    if (automation.gift_points > 0) {
      for (const f of fresh) {
        const { duplicate } = await credit(trx, {
          memberId: f.member_id,
          currency: 'points',
          amount: automation.gift_points,
          kind: 'gift',
          reason: `automation_${automation.kind}`,
          idempotencyKey: `automation:${automation.id}:${f.occasion}:${f.member_id}`,
          expiresAt: lotExpiry(day.now, settings.validity, day.timeZone),
          at: day.now,
        });
        if (!duplicate) giftedPoints += automation.gift_points;
      }
    }
    const recipients = await startCampaign(trx, campaign.id, day.now, sql`m.id in (select member_id from automation_deliveries where campaign_id = ${campaign.id})`);
    return { automationId: automation.id, campaignId: campaign.id, recipients: recipients ?? 0, giftedPoints };
  });
}

/** Every switched-on automation, for today. */
export async function runAutomations(db: Db, now: Date, timeZone: string): Promise<AutomationRun[]> {
  const day = { today: todayIso(now, timeZone), now, timeZone };
  const automations = await db.selectFrom('automations').selectAll().where('enabled', '=', true).orderBy('id').execute();
  const runs: AutomationRun[] = [];
  for (const a of automations) runs.push(await runAutomation(db, a, day));
  return runs;
}

/** Every automation, in the order they were made (the managers' list). */
export async function listAutomations(db: Db): Promise<Automation[]> {
  return db.selectFrom('automations').selectAll().orderBy('id').execute();
}

export async function findAutomation(db: Db, id: number): Promise<Automation | undefined> {
  return db.selectFrom('automations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Names of the saved segment and voucher pool an automation sends to and with (null: all members, no voucher). */
export async function automationAudience(db: Db, a: Pick<Automation, 'segment_id' | 'voucher_pool_id'>): Promise<{ segment: string | null; pool: string | null }> {
  const segment = a.segment_id === null ? undefined : await db.selectFrom('segments').select('name').where('id', '=', a.segment_id).executeTakeFirst();
  const pool = a.voucher_pool_id === null ? undefined : await db.selectFrom('voucher_pools').select('name').where('id', '=', a.voucher_pool_id).executeTakeFirst();
  return { segment: segment?.name ?? null, pool: pool?.name ?? null };
}

export type AutomationPatch = Partial<Pick<Automation, 'enabled' | 'message' | 'gift_points' | 'days' | 'segment_id' | 'voucher_pool_id'>>;

export async function updateAutomation(db: Db, actorMemberId: number, id: number, patch: AutomationPatch, now: Date): Promise<Automation> {
  if (patch.gift_points !== undefined && (!Number.isSafeInteger(patch.gift_points) || patch.gift_points < 0 || patch.gift_points > 1_000_000)) throw new ClubError('errors.automation_gift');
  if (patch.days !== undefined && (!Number.isSafeInteger(patch.days) || patch.days < 0 || patch.days > 3650)) throw new ClubError('errors.automation_days');
  if (patch.message !== undefined && patch.message !== null && (!patch.message.trim() || patch.message.length > 3000)) throw new ClubError('errors.text_empty');
  const updated = await db.updateTable('automations').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
  if (!updated) throw new ClubError('errors.automation_not_found');
  await audit(db, { actor: actorMemberId, action: 'automation.update', payload: { id, ...patch }, at: now });
  return updated;
}

/** A day every Jalali year has (30 Esfand only comes in leap years, so it is not one). */
export function isJalaliMonthDay(jm: number, jd: number) {
  return Number.isInteger(jm) && Number.isInteger(jd) && jm >= 1 && jm <= 12 && jd >= 1 && jd <= (jm <= 6 ? 31 : jm <= 11 ? 30 : 29);
}

/** A custom occasion on a Jalali month and day ("7/15"), switched on, with its message. */
export async function addOccasion(db: Db, actorMemberId: number, input: { name: string; jalaliMonth: number; jalaliDay: number; message: string; giftPoints: number }, now: Date) {
  const { name, jalaliMonth: jm, jalaliDay: jd } = input;
  if (!name.trim() || name.length > 64) throw new ClubError('errors.automation_name');
  if (!isJalaliMonthDay(jm, jd)) throw new ClubError('errors.automation_date');
  if (!input.message.trim()) throw new ClubError('errors.text_empty');
  const row = await db
    .insertInto('automations')
    .values({ kind: 'occasion', name: name.trim(), enabled: true, message: input.message.trim(), segment_id: null, gift_points: input.giftPoints, voucher_pool_id: null, jalali_month: jm, jalali_day: jd, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(db, { actor: actorMemberId, action: 'automation.add', payload: { id: row.id, name, jm, jd }, at: now });
  return row;
}

/** The Gregorian date of a Jalali month/day in the current Jalali year (for showing "next on"). */
export function occasionDate(today: string, jm: number, jd: number): string {
  const { jy } = isoToJalali(today);
  const thisYear = jalaliToIso(jy, jm, Math.min(jd, jm === 12 && !isLeapJalaaliYear(jy) ? 29 : jd));
  return thisYear >= today ? thisYear : jalaliToIso(jy + 1, jm, Math.min(jd, jm === 12 && !isLeapJalaaliYear(jy + 1) ? 29 : jd));
}
