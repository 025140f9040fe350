import { ClubComposer } from '../composer.ts';
import { listPools, redeemVoucher, undoVoucher, displayCode } from '../../club/vouchers.ts';
import { ClubError } from '../../club/errors.ts';
import { staffAtTill } from '../../club/staff.ts';
import { branchNames } from '../../club/offer-branch.ts';
import { onlyAt } from './wallet.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatValidUntil } from '../../lib/jalali.ts';
import type { Context } from '../context.ts';
import { formatDiscount, VOUCHER_CHECK, VOUCHER_POOL_NEW, voucherCard } from '../conversations/vouchers.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { CASHIERS, MANAGERS, opens } from '../panel/open.ts';

/** Voucher pools for managers; checking and redeeming codes at the till for every cashier. */
export function vouchersFeature() {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');
  const anyStaff = staffOnly('owner', 'manager', 'cashier');
  const managers = staffOnly('owner', 'manager');

  privateChat.command('voucher', anyStaff, async (ctx) => {
    const code = ctx.match.trim();
    if (!code) return ctx.conversation.enter(VOUCHER_CHECK, null);
    const card = await voucherCard(ctx.deps, ctx, code, null);
    await say(ctx, card.html, card.keyboard);
  });

  const listPoolsScreen = async (ctx: Context) => {
    const pools = await listPools(ctx.deps.db);
    const names = await branchNames(ctx.deps.db);
    const n = (v: number) => formatNumber(v, ctx.locale);
    const lines = pools.map((p) =>
      ctx.t('vouchers.pool_row', {
        id: n(p.id),
        name: p.name,
        discount: formatDiscount(p, ctx.locale),
        until: formatValidUntil(p.valid_to, ctx.locale, ctx.deps.config.timeZone),
        total: n(p.total),
        assigned: n(p.assigned),
        redeemed: n(p.redeemed),
      }) + onlyAt(ctx, p.branch_id, names, ' · '),
    );
    await say(ctx, [ctx.t('vouchers.title'), '', ...(lines.length ? lines : [ctx.t('vouchers.none')]), '', ctx.t('vouchers.usage')].join('\n'), {
      inline_keyboard: [[{ text: ctx.t('vouchers.new_pool'), callback_data: 'vp:new' }]],
    });
  };
  opens(composer, 'vouchers', MANAGERS, listPoolsScreen);
  opens(composer, 'voucher', CASHIERS, (ctx) => ctx.conversation.enter(VOUCHER_CHECK, null));

  privateChat.command('vouchers', managers, async (ctx) => {
    if (ctx.match.trim() === 'add') return ctx.conversation.enter(VOUCHER_POOL_NEW);
    await listPoolsScreen(ctx);
  });

  composer.callbackQuery('vp:new', async (ctx) => {
    await ctx.answerCallbackQuery();
    if (ctx.role !== 'owner' && ctx.role !== 'manager') return say(ctx, ctx.t('errors.manager_only'));
    await ctx.conversation.enter(VOUCHER_POOL_NEW);
  });

  composer.callbackQuery(/^vr:([A-Z0-9]{1,40}):(\d+)$/, async (ctx) => {
    if (!ctx.role || !ctx.member) return ctx.answerCallbackQuery({ text: ctx.t('errors.not_staff'), show_alert: true });
    const [, code, member] = ctx.match;
    const memberId = Number(member) || null;
    try {
      const { pool } = await redeemVoucher(ctx.deps.db, {
        code: code!,
        memberId,
        staffMemberId: ctx.member.id,
        // The branch the till counts this cashier at (their own, or the first for staff of every branch).
        branchId: (await staffAtTill(ctx.deps.db, ctx.adapter.platform, ctx.from.id))?.branchId ?? null,
        now: ctx.deps.now(),
      });
      await ctx.answerCallbackQuery();
      await showScreen(ctx, ctx.t('vouchers.redeemed', { code: displayCode(code!), discount: formatDiscount(pool, ctx.locale) }), {
        inline_keyboard: [[{ text: ctx.t('vouchers.undo'), callback_data: `vu:${code}` }]],
      });
    } catch (error) {
      if (!(error instanceof ClubError)) throw error;
      // Used, expired, someone else's: said plainly, and the button goes away.
      await ctx.answerCallbackQuery({ text: ctx.t(error.i18nKey, error.params), show_alert: true });
      await showScreen(ctx, ctx.t(error.i18nKey, error.params), { inline_keyboard: [] });
    }
  });

  composer.callbackQuery(/^vu:([A-Z0-9]{1,40})$/, async (ctx) => {
    if (!ctx.role || !ctx.member) return ctx.answerCallbackQuery({ text: ctx.t('errors.not_staff'), show_alert: true });
    const code = ctx.match[1]!;
    try {
      await undoVoucher(ctx.deps.db, code, ctx.member.id, ctx.deps.now());
      await ctx.answerCallbackQuery();
      await showScreen(ctx, ctx.t('vouchers.undone', { code: displayCode(code) }), { inline_keyboard: [] });
    } catch (error) {
      if (!(error instanceof ClubError)) throw error;
      await ctx.answerCallbackQuery({ text: ctx.t(error.i18nKey, error.params), show_alert: true });
    }
  });

  composer.callbackQuery('vx', async (ctx) => {
    await ctx.answerCallbackQuery();
    await showScreen(ctx, ctx.t('till.cancelled'), { inline_keyboard: [] });
  });

  return composer;
}
