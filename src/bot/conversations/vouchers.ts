import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import { checkVoucher, createPool, displayCode, parseCodeFile, parseDiscount, type PoolInput } from '../../club/vouchers.ts';
import type { Locale, VoucherPool } from '../../db/schema.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatMoney, formatNumber } from '../../lib/format.ts';
import { formatValidUntil, parseJalaliMoment, todayIso } from '../../lib/jalali.ts';
import { zonedMidnight } from '../../lib/zoned.ts';
import type { ClubDeps, Context, ConversationContext, Speech } from '../context.ts';
import { say } from '../ui.ts';
import { askText, attempt, managerIdOf, pickButton } from './ask.ts';
import { askOfferBranch } from './offer-branch.ts';
import { branchNames } from '../../club/offer-branch.ts';
import { findMemberById } from '../../club/members.ts';
import { listSegments } from '../../club/segments.ts';
import { downloadFile } from '../http.ts';


export const VOUCHER_POOL_NEW = 'voucher_pool_new';
export const VOUCHER_CHECK = 'voucher_check';

type VoucherConversation = Conversation<Context, ConversationContext>;

/** Uploaded code files larger than this are refused (a million codes fit in about 10 MB). */
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/**
 * "30" (through the 30th day from today) or a Jalali date "1405/10/30" (through that day), in the
 * club's zone, as the end it is stored as: the midnight that starts the next day.
 */
export function parseValidUntil(text: string, now: Date, tz: string): Date | null {
  const latin = toLatinDigits(text).trim();
  if (/^\d{1,4}$/.test(latin)) {
    const days = Number(latin);
    if (days < 1 || days > 3650) return null;
    const next = new Date(Date.parse(`${todayIso(now, tz)}T00:00:00Z`) + (days + 1) * 86_400_000).toISOString().slice(0, 10);
    return zonedMidnight(next, tz);
  }
  const day = parseJalaliMoment(latin, tz);
  if (!day || day.hasTime) return null;
  const until = new Date(day.at.getTime() + 86_400_000);
  return until > now ? until : null;
}

export function formatDiscount(pool: Pick<VoucherPool, 'discount_kind' | 'discount_value'>, locale: Locale) {
  return pool.discount_kind === 'percent' ? `${formatNumber(pool.discount_value, locale)}${locale === 'fa' ? '٪' : '%'}` : formatMoney(pool.discount_value, locale);
}

/**
 * What the cashier sees for a typed code: the offer, whose code it is and until when, with Redeem
 * and Cancel; or the reason it cannot be used. Nothing changes until Redeem is pressed.
 */
export async function voucherCard(deps: ClubDeps, speech: Speech, input: string, memberId: number | null): Promise<{ html: string; keyboard?: InlineKeyboardMarkup }> {
  const { t, locale } = speech;
  const checked = await attempt(() => checkVoucher(deps.db, input, memberId, deps.now()));
  if (!checked.ok) return { html: t(checked.key, checked.params) };
  const { code, pool } = checked.value;
  const holder = checked.value.memberId === null ? null : await findMemberById(deps.db, checked.value.memberId);
  const html = t('vouchers.card', {
    code: displayCode(code.code),
    pool: pool.name,
    discount: formatDiscount(pool, locale),
    until: formatValidUntil(pool.valid_to, locale, deps.config.timeZone),
    holder: holder ? [holder.first_name, holder.last_name].filter(Boolean).join(' ') : t('vouchers.anyone'),
  }) + (pool.branch_id === null ? '' : `\n${t('branch_offers.only_at', { branch: (await branchNames(deps.db)).get(pool.branch_id) ?? '' })}`);
  return {
    html,
    keyboard: {
      inline_keyboard: [
        [
          { text: t('vouchers.redeem'), callback_data: `vr:${code.code}:${checked.value.memberId ?? 0}` },
          { text: t('till.cancel'), callback_data: 'vx' },
        ],
      ],
    },
  };
}

export function createVoucherConversations(deps: ClubDeps) {
  /** A new pool: name, discount, validity, limit per member, segment, then generated or uploaded codes. */
  async function newPool(conversation: VoucherConversation, ctx: ConversationContext) {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const opts = { cancelledKey: 'vouchers.cancelled' };
    const name = await askText(conversation, ctx, t('vouchers.ask_name'), { ...opts, max: 64 });
    if (name === null) return;

    let discount: PoolInput['discount'] | null = null;
    for (let prompt = t('vouchers.ask_discount'); !discount; prompt = t('vouchers.discount_invalid')) {
      const raw = await askText(conversation, ctx, prompt, opts);
      if (raw === null) return;
      discount = parseDiscount(raw);
    }

    const nowIso = await conversation.external(() => deps.now().toISOString());
    const now = new Date(nowIso);
    let validTo: Date | null = null;
    for (let prompt = t('vouchers.ask_validity'); !validTo; prompt = t('vouchers.validity_invalid')) {
      const raw = await askText(conversation, ctx, prompt, { ...opts, extra: ['30', '90'] });
      if (raw === null) return;
      validTo = parseValidUntil(raw, now, deps.config.timeZone);
    }

    let limit = 0;
    for (let prompt = t('vouchers.ask_limit'); limit < 1; prompt = t('errors.voucher_limit')) {
      const raw = await askText(conversation, ctx, prompt, { ...opts, extra: ['1', '3'] });
      if (raw === null) return;
      const n = Number(toLatinDigits(raw).trim());
      limit = Number.isSafeInteger(n) && n >= 1 && n <= 1000 ? n : 0;
    }

    const segments = await conversation.external(() => listSegments(deps.db));
    const segmentChoice = await pickButton(conversation, ctx, t('vouchers.ask_segment'), [
      [[t('campaigns.all_members'), 'all']],
      ...segments.map((s): [string, string][] => [[s.name, `s${s.id}`]]),
    ]);
    const segmentId = segmentChoice === 'all' ? null : Number(segmentChoice.slice(1));
    const branchId = await askOfferBranch(conversation, ctx, deps);

    const source = await pickButton(conversation, ctx, t('vouchers.ask_source'), [[[t('vouchers.generate'), 'generate'], [t('vouchers.upload'), 'upload']]]);
    let codes: { generate: number } | { upload: string[] } | null = null;
    let rejected = 0;
    if (source === 'generate') {
      for (let prompt = t('vouchers.ask_count'); !codes; prompt = t('errors.voucher_count')) {
        const raw = await askText(conversation, ctx, prompt, { ...opts, extra: ['100', '1000'] });
        if (raw === null) return;
        const n = Number(toLatinDigits(raw).replace(/[,٬]/g, '').trim());
        if (Number.isSafeInteger(n) && n >= 1 && n <= 1_000_000) codes = { generate: n };
      }
    } else {
      await say(ctx, t('vouchers.ask_file'), new Keyboard().text(t('till.cancel')).resized());
      while (!codes) {
        const update = await conversation.wait();
        const text = update.message?.text;
        if (ctx.isLabel(text, 'till.cancel')) return say(update, t('vouchers.cancelled'), { remove_keyboard: true });
        const document = update.message?.document;
        if (!document) {
          await say(update, t('vouchers.ask_file'));
          continue;
        }
        if ((document.file_size ?? 0) > MAX_UPLOAD_BYTES) {
          await say(update, t('vouchers.file_too_big'));
          continue;
        }
        // The outside context's API: a call through `update` inside `external` would be recorded
        // as a step of its own that a replay never makes, and the next upload would wait forever.
        const parsed = await conversation.external(async (outside) => {
          const bytes = await downloadFile(outside.api, document.file_id);
          return bytes ? parseCodeFile(bytes.toString('utf8')) : null;
        });
        if (parsed?.malformedLines) {
          // The wizard stays at the file: a fixed file, or Cancel.
          const lines = parsed.malformedLines.slice(0, 5).map((n) => formatNumber(n, locale));
          await say(update, t('vouchers.file_malformed', { lines: lines.join(locale === 'fa' ? '، ' : ', ') }));
        } else if (!parsed || parsed.codes.length === 0) await say(update, t('errors.voucher_no_codes'));
        else {
          codes = { upload: parsed.codes };
          rejected = parsed.rejected;
        }
      }
    }

    const created = await conversation.external(() =>
      attempt(() => createPool(deps.db, actor, { name, discount: discount!, validFrom: now, validTo: validTo!, perMemberLimit: limit, segmentId, branchId }, codes!, deps.now())),
    );
    if (!created.ok) return say(ctx, t(created.key, created.params), { remove_keyboard: true });
    await say(
      ctx,
      t('vouchers.pool_created', {
        name,
        codes: formatNumber(created.value.codes, locale),
        skipped: formatNumber(created.value.duplicates + rejected, locale),
      }),
      { remove_keyboard: true },
    );
  }

  /** At the till: the cashier types a code (for the member on screen, or whoever the code names). */
  async function check(conversation: VoucherConversation, ctx: ConversationContext, memberId: number | null) {
    const code = await askText(conversation, ctx, ctx.t('vouchers.ask_code'), { cancelledKey: 'till.cancelled', max: 40 });
    if (code === null) return;
    await say(ctx, ctx.t('vouchers.checking'), { remove_keyboard: true });
    // The answer (details and the Redeem button) is the same as for "/voucher CODE".
    const card = await conversation.external(() => voucherCard(deps, ctx, code, memberId));
    await say(ctx, card.html, card.keyboard);
  }

  return { newPool, check };
}
