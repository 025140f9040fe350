import type { PurchaseOutcome } from '../club/purchases.ts';
import type { LoyaltyEnv } from '../club/rules.ts';
import { settleReferralPurchase } from '../club/referrals.ts';
import { scheduleSatisfactionCheck } from '../club/satisfaction.ts';
import type { ClubDeps } from './context.ts';

export function loyaltyEnv(deps: ClubDeps): LoyaltyEnv {
  return {
    now: deps.now(),
    timeZone: deps.config.timeZone,
    defaults: { tierWindowDays: deps.config.tierWindowDays, validity: { mode: 'days', days: deps.config.pointsValidityDays } },
  };
}

/**
 * After a purchase is recorded (at the till, or when the member approves paying with credit). The
 * member's receipt (discounts, voucher, credit, "This wasn't me") was queued by the purchase's own
 * statement (see recordPurchase); this sends it, settles the referral (the inviter's reward and its
 * notice in one transaction, the nightly job settles again if we stop here) and schedules "how was
 * your visit?".
 */
export async function announcePurchase(deps: ClubDeps, o: PurchaseOutcome) {
  deps.notices.kick();
  const p = o.purchase;
  if (await settleReferralPurchase(deps.db, p.member_id, p.id, loyaltyEnv(deps))) deps.notices.kick();
  await scheduleSatisfactionCheck(deps.db, p, deps.now());
}
