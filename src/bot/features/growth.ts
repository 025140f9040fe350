import { ClubComposer } from '../composer.ts';
import { InputFile } from 'grammy';
import QRCode from 'qrcode';
import { ClubError } from '../../club/errors.ts';
import { createJoinLink, growthReport, JOIN_LINK_PREFIX } from '../../club/join-links.ts';
import { referralSettings, referralsForReview, reviewReferral, saveReferralSettings, type ReferralSettings } from '../../club/referrals.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import type { Context } from '../context.ts';
import { say } from '../ui.ts';
import { staffOnly } from './staff.ts';

/** Merchant growth: named join links with QR codes, the referral review queue, and the report. */
export function growthFeature() {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');
  const managers = staffOnly('owner', 'manager');

  privateChat.command('links', managers, async (ctx) => {
    const args = ctx.match.trim().split(/\s+/).filter(Boolean);
    if (args[0] === 'add') {
      // /links add <slug> <name...> [branch N]
      const branchAt = args.findIndex((a, i) => i > 2 && a === 'branch');
      const branchId = branchAt > 0 ? Number(toLatinDigits(args[branchAt + 1] ?? '')) : null;
      const nameParts = branchAt > 0 ? args.slice(2, branchAt) : args.slice(2);
      if (!args[1] || nameParts.length === 0 || (branchId !== null && !Number.isSafeInteger(branchId))) return say(ctx, ctx.t('growth.links_usage'));
      try {
        const link = await createJoinLink(ctx.deps.db, ctx.member!.id, args[1], nameParts.join(' '), branchId, ctx.deps.now());
        const url = ctx.adapter.deepLink(ctx.me.username, JOIN_LINK_PREFIX + link.slug);
        const png = await QRCode.toBuffer(url, { type: 'png', width: 720, margin: 2, errorCorrectionLevel: 'M' });
        const { text, parse_mode } = ctx.adapter.render(ctx.t('growth.link_created', { name: link.name, url }));
        await ctx.replyWithPhoto(new InputFile(png, `${link.slug}.png`), { caption: text, ...(parse_mode ? { parse_mode } : {}) });
      } catch (error) {
        if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey, error.params));
        throw error;
      }
      return;
    }
    const days = Number(toLatinDigits(args[0] ?? '30')) || 30;
    const report = await growthReport(ctx.deps.db, new Date(ctx.deps.now().getTime() - days * 86_400_000));
    const n = (v: number) => formatNumber(v, ctx.locale);
    const row = (r: { label: string; joins: number; firstPurchases: number }) => ctx.t('growth.row', { label: r.label, joins: n(r.joins), purchases: n(r.firstPurchases) });
    await say(
      ctx,
      [
        ctx.t('growth.report_title', { days: n(days) }),
        '',
        ctx.t('growth.links_title'),
        ...(report.links.length ? report.links.map(row) : [ctx.t('growth.none')]),
        '',
        ctx.t('growth.inviters_title'),
        ...(report.inviters.length ? report.inviters.map(row) : [ctx.t('growth.none')]),
        '',
        ctx.t('growth.links_usage'),
      ].join('\n'),
    );
  });

  privateChat.command('referral_rules', managers, async (ctx) => {
    const [what, a, b] = toLatinDigits(ctx.match.trim()).split(/\s+/).filter(Boolean);
    const n = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN);
    let patch: Partial<ReferralSettings> | null = null;
    if (what === 'friend' && a === 'voucher' && n(b) >= 1 && n(b) <= 100) patch = { friendReward: 'voucher', friendDiscountPercent: n(b) };
    else if (what === 'friend' && a === 'points' && n(b) >= 0) patch = { friendReward: 'points', friendPoints: n(b) };
    else if (what === 'voucher_days' && n(a) >= 1 && n(a) <= 365) patch = { friendVoucherDays: n(a) };
    else if (what === 'inviter' && n(a) >= 0) patch = { inviterPoints: n(a) };
    else if (what === 'min' && n(a) >= 0) patch = { inviterMinPurchase: n(a) };
    else if (what === 'when' && (a === 'purchase' || a === 'signup')) patch = { inviterWhen: a === 'purchase' ? 'first_purchase' : 'signup' };
    else if (what === 'caps' && n(a) >= 0 && n(b) >= 0) patch = { dailyCap: n(a), monthlyCap: n(b) };
    else if (what !== undefined) return say(ctx, ctx.t('growth.rules_usage'));
    const s = patch ? await saveReferralSettings(ctx.deps.db, patch, ctx.member!.id, ctx.deps.now()) : await referralSettings(ctx.deps.db);
    const num = (v: number) => formatNumber(v, ctx.locale);
    await say(
      ctx,
      [
        ctx.t('growth.rules', {
          friend: s.friendReward === 'voucher' ? ctx.t('invite.gift_voucher', { percent: num(s.friendDiscountPercent) }) : ctx.t('invite.gift_points', { points: num(s.friendPoints) }),
          days: num(s.friendVoucherDays),
          inviter: num(s.inviterPoints),
          when: s.inviterWhen === 'signup' ? ctx.t('growth.when_signup') : ctx.t('growth.when_purchase', { min: formatRials(s.inviterMinPurchase, ctx.locale) }),
          daily: num(s.dailyCap),
          monthly: num(s.monthlyCap),
        }),
        '',
        ctx.t('growth.rules_usage'),
      ].join('\n'),
    );
  });

  privateChat.command('referrals', managers, async (ctx) => {
    const held = await referralsForReview(ctx.deps.db, ctx.deps.now());
    const review = held.filter((r) => r.status === 'pending_review');
    const refused = held.filter((r) => r.status === 'refused');
    const lines = [
      ctx.t('growth.review_title'),
      ...(review.length ? review.map((r) => ctx.t('growth.review_row', { id: formatNumber(r.id, ctx.locale), inviter: r.inviter, friend: r.friend ?? '—' })) : [ctx.t('growth.none')]),
      '',
      ctx.t('growth.refused_title'),
      ...(refused.length
        ? refused.map((r) => ctx.t('growth.refused_row', { inviter: r.inviter, friend: r.friend ?? '—', reason: ctx.t(`growth.reason_${r.reason ?? 'unknown_code'}`) }))
        : [ctx.t('growth.none')]),
    ];
    await say(ctx, lines.join('\n'), {
      inline_keyboard: review.map((r) => [
        { text: ctx.t('growth.approve', { id: formatNumber(r.id, ctx.locale) }), callback_data: `rf:a:${r.id}` },
        { text: ctx.t('growth.reject', { id: formatNumber(r.id, ctx.locale) }), callback_data: `rf:r:${r.id}` },
      ]),
    });
  });

  composer.callbackQuery(/^rf:([ar]):(\d+)$/, async (ctx) => {
    if (ctx.role !== 'owner' && ctx.role !== 'manager') {
      await ctx.answerCallbackQuery({ text: ctx.t('errors.manager_only'), show_alert: true });
      return;
    }
    const approve = ctx.match[1] === 'a';
    const result = await reviewReferral(ctx.deps.db, Number(ctx.match[2]), approve, ctx.member!.id, { now: ctx.deps.now(), timeZone: ctx.deps.config.timeZone });
    await ctx.answerCallbackQuery({ text: ctx.t(result.changed ? (approve ? 'growth.approved' : 'growth.rejected') : 'growth.already_decided') });
    if (result.changed) ctx.deps.notices.kick();
  });

  return composer;
}
