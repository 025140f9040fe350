import jalaali from 'jalaali-js';
import type { Gender, Tier } from '../../db/schema.ts';
import { parseMoney, type MoneyUnit } from '../../lib/amount.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { todayIso } from '../../lib/jalali.ts';
import { normalizePhone } from '../../lib/phone.ts';
import { zonedMidnight } from '../../lib/zoned.ts';
import { LIMITS } from '../limits.ts';
import type { Field, HeaderMatch } from './columns.ts';
import type { SheetRow } from './read.ts';

/** What is wrong with one cell of a line, for the validation report (translated by the bot). */
export interface Problem {
  code: string;
  field?: Field;
  value?: string;
}

export interface MemberRow {
  line: number;
  phone: string;
  firstName: string | null;
  lastName: string | null;
  birthDate: string | null;
  gender: Gender | null;
  city: string | null;
  points: number;
  /** Rials. */
  credit: number;
  tierId: number | null;
  joinedAt: Date | null;
  note: string | null;
}

export interface PurchaseRow {
  line: number;
  phone: string;
  at: Date;
  branchId: number;
  receiptNo: string;
  amountRials: number;
}

/** What validation needs from the club: its clock, zone, money unit, tiers and branches. */
export interface ValidationEnv {
  now: Date;
  timeZone: string;
  moneyUnit: MoneyUnit;
  tiers: readonly Pick<Tier, 'id' | 'code' | 'name_fa' | 'name_en'>[];
  branches: readonly { id: number; name: string }[];
}

const MAX_TEXT = 64;
const MAX_NOTE = 500;
const MAX_POINTS = 100_000_000;

/**
 * A day (and optional time) written as year/month/day in any digits with / - or . between:
 * a year below 1700 is Jalali («۱۴۰۳/۰۵/۱۲»), otherwise Gregorian («2024-08-02», Excel's dates).
 * Returns the ISO day and the minutes after midnight, or null.
 */
export function parseDay(text: string): { iso: string; minutes: number } | null {
  const m = /^(\d{4})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})(?:[\sT]+(\d{1,2}):(\d{2})(?::\d{2})?)?$/.exec(toLatinDigits(text).trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const minutes = m[4] === undefined ? 0 : Number(m[4]) * 60 + Number(m[5]);
  if (minutes >= 24 * 60 || Number(m[5] ?? 0) > 59) return null;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (y < 1700) {
    if (!jalaali.isValidJalaaliDate(y, mo, d)) return null;
    const g = jalaali.toGregorian(y, mo, d);
    return { iso: `${g.gy}-${pad(g.gm)}-${pad(g.gd)}`, minutes };
  }
  const iso = `${y}-${pad(mo)}-${pad(d)}`;
  const check = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(check.getTime()) || check.toISOString().slice(0, 10) !== iso) return null;
  return { iso, minutes };
}

const GENDERS: [RegExp, Gender][] = [
  [/^(f|female|woman|w|زن|خانم|مونث|مؤنث)$/i, 'female'],
  [/^(m|male|man|مرد|آقا|اقا|مذکر)$/i, 'male'],
];

const cleanText = (s: string | undefined, max: number) => {
  const v = (s ?? '').replace(/\s+/g, ' ').trim();
  return v === '' ? null : v.slice(0, max);
};

const norm = (s: string) => s.replace(/ي/g, 'ی').replace(/ك/g, 'ک').replace(/\s+/g, ' ').trim().toLowerCase();

/**
 * Reads and checks lines of one file. Keeps the phones (and receipts) seen so far, so a phone that
 * comes twice is a problem on its second line, not a second customer.
 */
export class RowValidator {
  private readonly seen = new Map<string, number>();
  private readonly midnights = new Map<string, Date>();
  private readonly today: string;
  private readonly oldest: string;

  constructor(
    private readonly header: HeaderMatch,
    private readonly env: ValidationEnv,
  ) {
    this.today = todayIso(env.now, env.timeZone);
    this.oldest = `${Number(this.today.slice(0, 4)) - 120}${this.today.slice(4)}`;
  }

  private cell(row: SheetRow, field: Field): string {
    const i = this.header.columns[field];
    return i === undefined ? '' : (row.cells[i] ?? '').trim();
  }

  private instant(iso: string, minutes: number) {
    let midnight = this.midnights.get(iso);
    if (!midnight) {
      midnight = zonedMidnight(iso, this.env.timeZone);
      this.midnights.set(iso, midnight);
    }
    return new Date(midnight.getTime() + minutes * 60_000);
  }

  private phone(row: SheetRow, problems: Problem[], once: boolean): string | null {
    const raw = this.cell(row, 'phone');
    if (raw === '') return problems.push({ code: 'phone_missing', field: 'phone' }), null;
    const phone = normalizePhone(raw);
    if (!phone) return problems.push({ code: 'phone_invalid', field: 'phone', value: raw }), null;
    const first = once ? this.seen.get(phone) : undefined;
    if (first !== undefined) return problems.push({ code: 'repeated', field: 'phone', value: String(first) }), null;
    return phone;
  }

  private money(row: SheetRow, field: 'credit' | 'amount', problems: Problem[], max: number): number | null {
    const raw = this.cell(row, field);
    if (raw === '' || /^[0۰٠]$/.test(raw)) return 0;
    const parsed = parseMoney(raw, { bare: this.header.units[field] ?? this.env.moneyUnit, max });
    if (!parsed.ok) return problems.push({ code: `${field}_invalid`, field, value: raw }), null;
    return parsed.value;
  }

  member(row: SheetRow): { row: MemberRow } | { problems: Problem[] } {
    const problems: Problem[] = [];
    const phone = this.phone(row, problems, true);

    let firstName = cleanText(this.cell(row, 'first_name'), MAX_TEXT);
    let lastName = cleanText(this.cell(row, 'last_name'), MAX_TEXT);
    const full = cleanText(this.cell(row, 'full_name'), MAX_TEXT * 2);
    if (full && !firstName) {
      const [first, ...rest] = full.split(' ');
      firstName = first!.slice(0, MAX_TEXT);
      lastName ??= rest.length ? rest.join(' ').slice(0, MAX_TEXT) : null;
    }

    let birthDate: string | null = null;
    const rawBirth = this.cell(row, 'birth_date');
    if (rawBirth) {
      const day = parseDay(rawBirth);
      if (!day) problems.push({ code: 'date_invalid', field: 'birth_date', value: rawBirth });
      else if (day.iso > this.today) problems.push({ code: 'date_future', field: 'birth_date', value: rawBirth });
      else if (day.iso < this.oldest) problems.push({ code: 'date_too_old', field: 'birth_date', value: rawBirth });
      else birthDate = day.iso;
    }

    let gender: Gender | null = null;
    const rawGender = this.cell(row, 'gender');
    if (rawGender) {
      const g = GENDERS.find(([re]) => re.test(rawGender.trim()));
      if (g) gender = g[1];
      else problems.push({ code: 'gender_invalid', field: 'gender', value: rawGender });
    }

    let points = 0;
    const rawPoints = toLatinDigits(this.cell(row, 'points')).replace(/[,\s]/g, '');
    if (rawPoints) {
      const n = Number(rawPoints);
      if (!/^\d+$/.test(rawPoints) || !Number.isSafeInteger(n) || n > MAX_POINTS) problems.push({ code: 'points_invalid', field: 'points', value: this.cell(row, 'points') });
      else points = n;
    }
    const credit = this.money(row, 'credit', problems, LIMITS.purchaseRials * 100);

    let tierId: number | null = null;
    const rawTier = this.cell(row, 'tier');
    if (rawTier) {
      const key = norm(rawTier);
      const tier = this.env.tiers.find((t) => [t.code, t.name_fa, t.name_en].some((n) => norm(n) === key));
      if (tier) tierId = tier.id;
      else problems.push({ code: 'tier_unknown', field: 'tier', value: rawTier });
    }

    let joinedAt: Date | null = null;
    const rawJoined = this.cell(row, 'joined_at');
    if (rawJoined) {
      const day = parseDay(rawJoined);
      if (!day) problems.push({ code: 'date_invalid', field: 'joined_at', value: rawJoined });
      else if (day.iso > this.today) problems.push({ code: 'date_future', field: 'joined_at', value: rawJoined });
      else joinedAt = this.instant(day.iso, day.minutes);
    }

    if (problems.length || phone === null || credit === null) return { problems };
    this.seen.set(phone, row.line);
    return {
      row: { line: row.line, phone, firstName, lastName, birthDate, gender, city: cleanText(this.cell(row, 'city'), MAX_TEXT), points, credit, tierId, joinedAt, note: cleanText(this.cell(row, 'note'), MAX_NOTE) },
    };
  }

  purchase(row: SheetRow): { row: PurchaseRow } | { problems: Problem[] } {
    const problems: Problem[] = [];
    // Phones repeat in a purchases file (one customer, many visits): a repeated receipt is what counts.
    const phone = this.phone(row, problems, false);

    let at: Date | null = null;
    const rawDate = this.cell(row, 'date');
    const day = rawDate ? parseDay(rawDate) : null;
    if (!rawDate) problems.push({ code: 'date_missing', field: 'date' });
    else if (!day) problems.push({ code: 'date_invalid', field: 'date', value: rawDate });
    else {
      at = this.instant(day.iso, day.minutes);
      if (at > this.env.now) problems.push({ code: 'date_future', field: 'date', value: rawDate }), (at = null);
    }

    let branchId: number | null = null;
    const rawBranch = this.cell(row, 'branch');
    if (rawBranch) {
      const key = norm(toLatinDigits(rawBranch));
      const branch = this.env.branches.find((b) => norm(b.name) === key || String(b.id) === key);
      if (branch) branchId = branch.id;
      else problems.push({ code: 'branch_unknown', field: 'branch', value: rawBranch });
    } else if (this.env.branches.length === 1) branchId = this.env.branches[0]!.id;
    else problems.push({ code: 'branch_missing', field: 'branch' });

    const receiptNo = this.cell(row, 'receipt');
    if (!receiptNo) problems.push({ code: 'receipt_missing', field: 'receipt' });
    else if (!/^[\p{L}\p{N}\-_/#.]{1,32}$/u.test(receiptNo)) problems.push({ code: 'receipt_invalid', field: 'receipt', value: receiptNo });

    const amount = this.money(row, 'amount', problems, LIMITS.purchaseRials);
    if (amount === 0) problems.push({ code: 'amount_invalid', field: 'amount', value: this.cell(row, 'amount') });

    if (branchId !== null && receiptNo && !problems.length) {
      const key = `${branchId}:${receiptNo.toUpperCase()}`;
      const first = this.seen.get(key);
      if (first !== undefined) problems.push({ code: 'repeated', field: 'receipt', value: String(first) });
      else this.seen.set(key, row.line);
    }
    if (problems.length || phone === null || at === null || branchId === null || !amount) return { problems };
    return { row: { line: row.line, phone, at, branchId, receiptNo, amountRials: amount } };
  }
}
