import type { MoneyUnit } from '../../lib/amount.ts';
import type { ImportKind } from '../../db/schema.ts';

export type MemberField = 'phone' | 'first_name' | 'last_name' | 'full_name' | 'birth_date' | 'gender' | 'city' | 'points' | 'credit' | 'tier' | 'joined_at' | 'note';
export type PurchaseField = 'phone' | 'date' | 'branch' | 'receipt' | 'amount';
export type Field = MemberField | PurchaseField;

/**
 * Header names people write in their spreadsheets, in Persian and English, per field. Compared
 * after `headerKey` (lower case, no spaces, dashes, underscores or ZWNJ, Arabic ي/ك as Persian),
 * and a unit in parentheses («اعتبار (ریال)») is read off first.
 */
const NAMES: Record<Field, string[]> = {
  phone: ['phone', 'mobile', 'mobile number', 'phone number', 'cell', 'cellphone', 'tel', 'telephone', 'موبایل', 'شماره موبایل', 'شماره', 'تلفن', 'شماره تلفن', 'تلفن همراه', 'شماره همراه', 'همراه'],
  first_name: ['first name', 'firstname', 'name', 'given name', 'نام', 'اسم'],
  last_name: ['last name', 'lastname', 'surname', 'family name', 'family', 'نام خانوادگی', 'فامیلی', 'فامیل'],
  full_name: ['full name', 'fullname', 'customer', 'customer name', 'نام و نام خانوادگی', 'نام کامل', 'مشتری', 'نام مشتری'],
  birth_date: ['birthday', 'birth date', 'birthdate', 'date of birth', 'dob', 'تاریخ تولد', 'تولد'],
  gender: ['gender', 'sex', 'جنسیت', 'جنس'],
  city: ['city', 'شهر'],
  points: ['points', 'opening points', 'point balance', 'points balance', 'امتیاز', 'امتیازات', 'امتیاز اولیه', 'مانده امتیاز'],
  credit: ['credit', 'opening credit', 'credit balance', 'wallet', 'اعتبار', 'اعتبار اولیه', 'مانده اعتبار', 'کیف پول'],
  tier: ['tier', 'level', 'سطح', 'سطح عضویت'],
  joined_at: ['join date', 'joined', 'joined at', 'member since', 'registration date', 'تاریخ عضویت', 'تاریخ ثبت نام', 'عضویت'],
  note: ['note', 'notes', 'comment', 'comments', 'یادداشت', 'توضیحات', 'توضیح'],
  date: ['date', 'purchase date', 'time', 'datetime', 'تاریخ', 'تاریخ خرید', 'زمان'],
  branch: ['branch', 'store', 'shop', 'شعبه', 'فروشگاه'],
  receipt: ['receipt', 'receipt no', 'receipt number', 'invoice', 'invoice no', 'invoice number', 'شماره فاکتور', 'فاکتور', 'رسید', 'شماره رسید'],
  amount: ['amount', 'total', 'sum', 'price', 'مبلغ', 'مبلغ خرید', 'جمع', 'مبلغ کل'],
};

const MEMBER_FIELDS: readonly MemberField[] = ['phone', 'first_name', 'last_name', 'full_name', 'birth_date', 'gender', 'city', 'points', 'credit', 'tier', 'joined_at', 'note'];
const PURCHASE_FIELDS: readonly PurchaseField[] = ['phone', 'date', 'branch', 'receipt', 'amount'];

export function headerKey(text: string): string {
  return text
    .replace(/\(.*?\)/g, '')
    .replace(/ي/g, 'ی')
    .replace(/ك/g, 'ک')
    .replace(/[\s\u200c_\-.:#]/g, '')
    .toLowerCase();
}

const LOOKUP = new Map<string, Field>();
for (const [field, names] of Object.entries(NAMES) as [Field, string[]][]) for (const name of names) LOOKUP.set(headerKey(name), field);

export interface HeaderMatch {
  kind: ImportKind;
  /** Column index of each recognised field (the first column that names it). */
  columns: Partial<Record<Field, number>>;
  /** Money columns whose header names a unit: «مبلغ (ریال)», "credit (toman)". */
  units: Partial<Record<Field, MoneyUnit>>;
  /** Headers that name nothing the club knows (reported, their cells ignored). */
  unknown: string[];
  /** Required fields the header lacks. */
  missing: Field[];
}

/**
 * Matches a header row: a purchases export when it names a receipt and an amount, otherwise a
 * list of customers. Each field takes the first column naming it; a second one is reported as unknown.
 */
export function matchHeader(header: readonly string[]): HeaderMatch {
  const found = header.map((h) => LOOKUP.get(headerKey(h)));
  const kind: ImportKind = found.includes('receipt') && found.includes('amount') ? 'purchases' : 'members';
  const allowed = new Set<Field>(kind === 'purchases' ? PURCHASE_FIELDS : MEMBER_FIELDS);
  const columns: Partial<Record<Field, number>> = {};
  const units: Partial<Record<Field, MoneyUnit>> = {};
  const unknown: string[] = [];
  header.forEach((h, i) => {
    // In a purchases file «تاریخ» is the purchase's date; in a members file a bare "name" is the first name.
    const field = found[i];
    if (!field || !allowed.has(field) || columns[field] !== undefined) {
      if (h.trim() !== '') unknown.push(h.trim());
      return;
    }
    columns[field] = i;
    if (/ریال|\brials?\b|\birr\b/i.test(h)) units[field] = 'rial';
    else if (/تومان|تومن|\btomans?\b|\birt\b/i.test(h)) units[field] = 'toman';
  });
  const required: Field[] = kind === 'purchases' ? ['phone', 'date', 'amount', 'receipt'] : ['phone'];
  return { kind, columns, units, unknown, missing: required.filter((f) => columns[f] === undefined) };
}
