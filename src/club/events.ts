import type { Db } from '../db/database.ts';
import { credit, debit } from './ledger.ts';
import type { LoyaltyEnv } from './rules.ts';
import { loyaltySettings, lotExpiry, type LoyaltySettings } from './rules.ts';
import { promoteIfQualified } from './tiers.ts';

export type ClubEvent = keyof LoyaltySettings['events'];

export interface EventOutcome {
  /** Points added (positive) or taken (negative); 0 when the rule is off or it already happened. */
  points: number;
  duplicate: boolean;
}

/**
 * Applies the configured points for an event to a member once per occasion (the key: a survey id,
 * a referral id, a birthday year...). A positive rule adds an earning lot (it counts toward tiers);
 * a negative rule takes points but never more than the member has, so no lot goes below zero.
 */
export async function applyEventRule(db: Db, memberId: number, event: ClubEvent, occasion: string, env: LoyaltyEnv): Promise<EventOutcome> {
  const settings = await loyaltySettings(db, env.defaults);
  const amount = settings.events[event];
  if (amount === 0) return { points: 0, duplicate: false };
  const idempotencyKey = `event:${event}:${occasion}`;
  return db.transaction().execute(async (trx) => {
    if (amount > 0) {
      const { duplicate } = await credit(trx, {
        memberId,
        currency: 'points',
        amount,
        kind: 'earn',
        reason: event,
        idempotencyKey,
        expiresAt: lotExpiry(env.now, settings.validity, env.timeZone),
        at: env.now,
      });
      if (!duplicate) await promoteIfQualified(trx, memberId, env.now, settings.tierWindowDays);
      return { points: duplicate ? 0 : amount, duplicate };
    }
    const taken = await debit(trx, { memberId, currency: 'points', amount: -amount, kind: 'penalty', reason: event, idempotencyKey, upTo: true, at: env.now });
    return { points: taken.duplicate ? 0 : -taken.amount, duplicate: taken.duplicate };
  });
}
