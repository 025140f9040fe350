import type { LoyaltyEnv, PurchaseOutcome } from '../club/purchases.ts';
import { settleReferralPurchase } from '../club/referrals.ts';
import { scheduleSatisfactionCheck } from '../club/satisfaction.ts';
import { formatMoney, formatNumber } from '../lib/format.ts';
import type { ClubDeps } from './context.ts';
import { tierName } from './screens.ts';

export function loyaltyEnv(deps: ClubDeps): LoyaltyEnv {
  return {
    now: deps.now(),
    timeZone: deps.config.timeZone,
    defaults: { tierWindowDays: deps.config.tierWindowDays, validity: { mode: 'days', days: deps.config.pointsValidityDays } },
  };
}

/**
 * After a purchase is recorded (at the till, or when the member approves paying with credit): the
 * referral is settled, "how was your visit?" is scheduled, the inviter and the member are told. The
 * member's receipt shows what was taken off, the voucher used up and the credit spent.
 */
export async function announcePurchase(deps: ClubDeps, o: PurchaseOutcome) {
  const p = o.purchase;
  const member = await deps.db.selectFrom('members').select('first_name').where('id', '=', p.member_id).executeTakeFirstOrThrow();
  const branch = await deps.db.selectFrom('branches').select('name').where('id', '=', p.branch_id).executeTakeFirstOrThrow();
  const code = p.voucher_code_id === null ? null : await deps.db.selectFrom('voucher_codes').select('code').where('id', '=', p.voucher_code_id).executeTakeFirst();
  const settled = await settleReferralPurchase(deps.db, p.member_id, p.id, loyaltyEnv(deps));
  await scheduleSatisfactionCheck(deps.db, p, deps.now());
  if (settled && settled.inviterPoints > 0) {
    await deps.notifier.notify(settled.referral.inviter_id, (speech) => ({
      html: speech.t('referral.inviter_rewarded', { name: member.first_name, points: formatNumber(settled.inviterPoints, speech.locale) }),
    }));
  }
  const paid = p.amount_rials - p.tier_discount_rials - p.voucher_discount_rials - p.credit_used;
  await deps.notifier.notify(p.member_id, (speech) => {
    const money = (n: number) => formatMoney(n, speech.locale);
    return {
      html: [
        speech.t('till.member_receipt', { points: formatNumber(o.points, speech.locale), branch: branch.name, amount: money(p.amount_rials), balance: formatNumber(o.pointsBalance, speech.locale) }),
        ...(p.tier_discount_rials > 0 ? [speech.t('till.member_tier_discount', { discount: money(p.tier_discount_rials) })] : []),
        ...(p.voucher_discount_rials > 0 && !code ? [speech.t('till.member_welcome_used', { discount: money(p.voucher_discount_rials) })] : []),
        ...(p.voucher_discount_rials > 0 && code ? [speech.t('till.member_voucher_used', { code: code.code, discount: money(p.voucher_discount_rials) })] : []),
        ...(p.credit_used > 0 ? [speech.t('till.member_credit_used', { credit: money(p.credit_used), left: money(o.creditBalance) })] : []),
        ...(paid !== p.amount_rials ? [speech.t('till.member_paid', { paid: money(paid) })] : []),
        ...(o.promotedTo ? [speech.t('tiers.promoted', { tier: tierName(o.promotedTo, speech.locale) })] : []),
      ].join('\n'),
      keyboard: { inline_keyboard: [[{ text: speech.t('till.not_me'), callback_data: `dp:${p.id}` }]] },
    };
  });
}
