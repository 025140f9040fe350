import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createI18n, LOCALES_DIR, rememberingT, templateOf } from '../src/bot/i18n.ts';
import { HISTORY_KINDS, HISTORY_REASONS } from '../src/bot/features/history.ts';

type Tree = { [key: string]: string | Tree };
const load = (lng: string) => JSON.parse(readFileSync(path.join(LOCALES_DIR, `${lng}.json`), 'utf8')) as Tree;
const flatten = (tree: Tree, prefix = ''): Record<string, string> =>
  Object.fromEntries(
    Object.entries(tree).flatMap(([k, v]) => (typeof v === 'string' ? [[prefix + k, v]] : Object.entries(flatten(v, `${prefix}${k}.`)))),
  );
const fa = flatten(load('fa'));
const en = flatten(load('en'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('locales', () => {
  it('fa and en have exactly the same keys, none empty', () => {
    expect(Object.keys(fa).sort()).toEqual(Object.keys(en).sort());
    for (const [key, value] of [...Object.entries(fa), ...Object.entries(en)]) expect(value.trim(), key).not.toBe('');
  });

  it('every interpolation in one language exists in the other', () => {
    const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(fa)) expect(vars(fa[key]!), key).toEqual(vars(en[key]!));
  });

  it('every key the code asks for exists', () => {
    const root = path.resolve(LOCALES_DIR, '../src');
    const used = new Set<string>();
    for (const file of sourceFiles(root)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bt\(\s*'([a-z_]+\.[a-z_.]+)'/g)) used.add(m[1]!);
    }
    // Keys built at run time from a closed set of values:
    for (const r of ['format', 'invalid_date', 'future', 'too_old']) used.add(`signup.birthday_${r}`);
    for (const r of ['owner', 'manager', 'cashier', 'member']) used.add(`roles.${r}`);
    for (const p of ['telegram', 'bale']) used.add(`platforms.${p}`);
    for (const l of ['fa', 'en']) used.add(`settings.language_${l}`);
    for (const c of ['start', 'menu', 'points', 'card', 'whoami', 'help']) used.add(`commands.${c}`);
    for (const r of ['format_toman', 'format_rial', 'zero', 'too_large']) used.add(`till.amount_${r}`);
    for (const u of ['toman', 'rial']) used.add(`till.ask_amount_${u}`);
    for (const s of ['approved', 'declined', 'expired', 'failed', 'pending']) used.add(`credit_request.already_${s}`);
    for (const s of ['approved', 'declined', 'failed']) for (const who of ['member', 'cashier']) used.add(`credit_request.${s}_${who}`);
    for (const s of ['approved', 'declined', 'expired', 'pending']) used.add(`redeem.already_${s}`);
    for (const k of ['approved_member', 'declined_member', 'approved_cashier', 'declined_cashier']) used.add(`redeem.${k}`);
    for (const k of ['opened', 'already']) used.add(`dispute.${k}`);
    // Every ClubError names its key: `super('errors.x')` or `new ClubError('errors.x')`.
    for (const file of sourceFiles(root)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:super|ClubError)\(\s*'([a-z_]+\.[a-z_.]+)'/g)) used.add(m[1]!);
    }
    used.add('errors.insufficient_credit');
    for (const m of ['jalali_month_end', 'jalali_year_end']) used.add(`admin.validity_${m}`);
    used.add('admin.dispute_row_voided');
    for (const r of ['self', 'already_member', 'other_platform', 'unknown_code', 'cap']) used.add(`growth.reason_${r}`);
    for (const k of ['inviter_review', 'inviter_joined_rewarded', 'inviter_joined']) used.add(`referral.${k}`);
    for (const k of ['approved', 'rejected', 'already_decided']) used.add(`growth.${k}`);
    for (const k of ['own_link', 'already_member']) used.add(`referral.${k}`);
    for (const f of ['first_name', 'last_name', 'birth_date', 'gender', 'city', 'email', 'interests', 'heard_from']) used.add(`profile.field_${f}`);
    for (const f of ['first_name', 'last_name', 'birth_date', 'gender', 'city', 'email', 'heard_from']) used.add(`profile.ask_${f}`);
    for (const i of ['food', 'fashion', 'beauty', 'home', 'digital', 'sports', 'kids', 'books']) used.add(`profile.interest_${i}`);
    for (const h of ['friend', 'instagram', 'sign', 'passing', 'other']) used.add(`profile.heard_${h}`);
    for (const g of ['female', 'male']) used.add(`signup.gender_${g}`);
    for (const k of ['complaint', 'suggestion', 'question']) for (const p of ['new_', 'kind_', 'ask_category_']) used.add(`tickets.${p}${k}`);
    used.add('tickets.kind_low_score');
    for (const k of ['thanks', 'sorry', 'status_on', 'status_off']) used.add(`feedback.${k}`);
    for (const k of ['rating', 'nps', 'single', 'multi', 'text']) used.add(`surveys.kind_${k}`);
    for (const k of ['draft', 'scheduled', 'sending', 'paused', 'done', 'cancelled']) used.add(`campaigns.status_${k}`);
    for (const k of ['paused', 'sending', 'cancelled']) used.add(`campaigns.now_${k}`);
    for (const k of ['progress', 'progress_done', 'no_change']) used.add(`campaigns.${k}`);
    for (const k of ['draft', 'published', 'closed']) used.add(`surveys.status_${k}`);
    for (const k of ['preview', 'publish', 'results', 'close', 'invite', 'invite_reward', 'closed_done', 'not_open', 'already_answered', 'closed', 'thanks', 'thanks_reward']) used.add(`surveys.${k}`);
    for (const c of ['product', 'service', 'staff', 'price', 'other']) used.add(`tickets.category_${c}`);
    for (const k of ['closed_staff', 'already_closed', 'thanks_rating', 'already_rated', 'answered', 'unanswered', 'ask_reply', 'ask_answer']) used.add(`tickets.${k}`);
    for (const k of ['message', 'gift', 'days']) used.add(`automations.ask_${k}`);
    // The staff panel: its buttons, the edit questions per target and field, and the role sections of /help.
    for (const n of ['till', 'code', 'voucher', 'today', 'void', 'adjust', 'disputes', 'tickets', 'surveys', 'segments', 'campaigns', 'broadcast', 'vouchers', 'automations', 'reports', 'lotteries', 'quizzes', 'news', 'import', 'export', 'staff', 'branches', 'rules', 'tiers', 'rewards', 'events', 'badges', 'audit', 'settings', 'setup', 'help']) used.add(`panel.btn_${n}`);
    for (const f of ['cost', 'stock', 'title_fa', 'title_en', 'from', 'to']) used.add(`panel.ask_reward_${f}`);
    for (const f of ['name', 'address', 'new_name']) used.add(`panel.ask_branch_${f}`);
    for (const f of ['spend', 'min', 'visit', 'cap', 'from', 'to']) used.add(`panel.ask_rule_${f}`);
    for (const f of ['threshold', 'discount', 'multiplier', 'name_fa', 'name_en', 'perks_fa', 'perks_en']) for (const k of ['ask_tier_', 'tier_']) used.add(`panel.${k}${f}`);
    for (const e of ['survey', 'profile', 'referral_inviter', 'referral_friend', 'birthday']) for (const k of ['ask_event_', 'event_']) used.add(`panel.${k}${e}`);
    for (const f of ['cost', 'stock', 'title_fa', 'title_en', 'from', 'to', 'name', 'address', 'spend', 'min', 'visit', 'cap']) used.add(`panel.edit_${f}`);
    for (const r of ['cashier', 'manager', 'owner']) used.add(`panel.help_${r}`);
    for (const u of ['toman', 'rial']) used.add(`panel.unit_${u}`);
    used.add('panel.ask_role_role');
    for (const k of ['birthday', 'winback', 'nowruz', 'yalda']) used.add(`automations.name_${k}`);
    for (const k of ['birthday', 'winback', 'nowruz', 'yalda']) used.add(`automations.greeting_${k}`);
    for (const k of ['birthday', 'winback']) used.add(`automations.edit_days_${k}`);
    for (const k of ['now_on', 'now_off', 'turn_on', 'turn_off', 'pick_segment', 'pick_voucher']) used.add(`automations.${k}`);
    for (const k of [...HISTORY_REASONS, ...HISTORY_KINDS]) used.add(`history.what_${k}`);
    for (const f of ['tier', 'last_purchase_days', 'purchases', 'spend', 'birthday_month', 'age', 'gender', 'city', 'interests', 'branch', 'join_link', 'platform']) used.add(`segbuild.field_${f}`);
    for (const g of ['female', 'male']) used.add(`segbuild.is_${g}`);
    expect(used.size).toBeGreaterThan(40);
    const missing = [...used].filter((k) => !(k in fa) || !(k in en));
    expect(missing).toEqual([]);
  });

  it('Telegram HTML in the strings is balanced and uses only supported tags', () => {
    for (const [key, value] of [...Object.entries(fa), ...Object.entries(en)]) {
      const tags = [...value.matchAll(/<(\/?)(\w+)[^>]*>/g)];
      const stack: string[] = [];
      for (const [, closing, tag] of tags) {
        expect(['b', 'i', 'u', 's', 'code', 'a'], key).toContain(tag);
        if (closing) expect(stack.pop(), key).toBe(tag);
        else stack.push(tag!);
      }
      expect(stack, key).toEqual([]);
      // A bare "<" (or "&" outside an entity) makes Telegram refuse the whole message.
      expect(value, key).not.toMatch(/<(?![a-z/])|&(?!(lt|gt|amp|quot);)/);
    }
  });

  it('numbers a domain error carries are written in the reader\'s digits', async () => {
    const i18n = await createI18n();
    expect(i18n.getFixedT('fa')('errors.voucher_limit_reached', { limit: 3 })).toContain('۳ کد');
    expect(i18n.getFixedT('en')('errors.voucher_limit_reached', { limit: 1200 })).toContain('1,200 code');
  });

  it("the bot's remembering t writes every text exactly as i18next does, values escaped the same", async () => {
    const i18n = await createI18n();
    const tricky = ['<b>Ali & "Sara"</b>', '۱۲٬۵۰۰', 'plain', '{{not_a_slot}}', ''];
    let templated = 0;
    for (const locale of ['fa', 'en'] as const) {
      const fast = rememberingT(i18n, locale);
      const slow = i18n.getFixedT(locale);
      for (const [key, raw] of Object.entries(locale === 'fa' ? fa : en)) {
        const names = [...new Set([...raw.matchAll(/\{\{-?\s*(\w+)[^}]*\}\}/g)].map((m) => m[1]!))];
        if (templateOf(raw)) templated++;
        for (const [i, value] of [...tricky, 7, 1234567].entries()) {
          const values = Object.fromEntries(names.map((name, j) => [name, j % 2 ? tricky[(i + j) % tricky.length]! : value]));
          // Twice: the first call builds the template, the second uses it.
          expect(fast(key, values), `${locale} ${key}`).toBe(slow(key, values));
          expect(fast(key, values), `${locale} ${key}`).toBe(slow(key, values));
        }
        expect(fast(key), `${locale} ${key}`).toBe(slow(key));
      }
    }
    // Most texts with values take the template; formats and plurals stay with i18next.
    expect(templated).toBeGreaterThan(500);
    expect(templateOf('at most {{limit, number}}')).toBeNull();
    expect(templateOf('{{- html}}')).toBeNull();
    expect(templateOf('a {{ x }} b {{y}}')).toEqual(['a ', 'x', ' b ', 'y', '']);
    const fa7 = rememberingT(i18n, 'fa');
    expect(fa7('errors.voucher_limit_reached', { limit: 3 })).toBe(i18n.getFixedT('fa')('errors.voucher_limit_reached', { limit: 3 }));
    expect(fa7('errors.voucher_limit_reached', { limit: 3, interpolation: { escapeValue: false } })).toContain('۳');
  });

  describe('Persian wording (GLOSSARY.md)', () => {
    // Latin digits a Persian reader may see only where they stand for what is typed or named as is:
    // command syntax for staff, the typed segment language, amounts showing Latin digits are read too,
    // and the name SHA-256.
    const TYPED_AS_IS = new Set([
      'errors.segment_syntax', 'till.member_usage', 'till.amount_format_toman', 'till.amount_format_rial', 'admin.void_usage', 'admin.adjust_usage',
      'admin.staff_add_usage', 'admin.reward_usage', 'admin.rules_usage', 'admin.tiers_usage', 'growth.links_usage', 'growth.rules_usage',
      'tickets.goodwill_usage', 'feedback.usage', 'campaigns.ask_segment_filter',
    ]);
    const outsidePlaceholders = (s: string) => s.replace(/\{\{[^}]*\}\}/g, '').replace(/<code>[\s\S]*?<\/code>/g, '').replace(/<a [^>]*>/g, '').replace(/SHA-256/g, '');

    it('fa writes numbers in Persian digits (no stray 30, #1 or 4.0)', () => {
      const latin = Object.entries(fa).filter(([key, value]) => !TYPED_AS_IS.has(key) && /[0-9]/.test(outsidePlaceholders(value)));
      expect(latin).toEqual([]);
    });

    it('fa says «کمپین», never «کارزار»', () => {
      expect(Object.entries(fa).filter(([, value]) => value.includes('کارزار'))).toEqual([]);
    });

    it('fa keeps «امتیاز» for loyalty points: a rating or score is «نمره»', () => {
      // Where the English speaks of a rating, score or stars and not of points, the Persian must not say امتیاز.
      const rating = /\b(rat(e|es|ed|ing|ings)|scores?|stars?)\b/i;
      const clash = Object.entries(fa).filter(([key, value]) => value.includes('امتیاز') && rating.test(en[key] ?? '') && !/\bpoints?\b/i.test(en[key] ?? ''));
      expect(clash).toEqual([]);
    });
  });
});
