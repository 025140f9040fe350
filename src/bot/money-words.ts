import { loyaltySettings, effectiveRule } from '../club/rules.ts';
import type { MoneyUnit } from '../lib/amount.ts';
import { formatNumber } from '../lib/format.ts';
import type { ClubDeps, Speech } from './context.ts';

type Sp = Pick<Speech, 't' | 'locale'>;

/** An amount in the club's unit only («۵۰٬۰۰۰ تومان»), for explanations rather than the till. */
export function inUnit(sp: Sp, rials: number, unit: MoneyUnit) {
  return sp.t(`points_worth.amount_${unit}`, { amount: formatNumber(unit === 'toman' ? rials / 10 : rials, sp.locale) });
}

/** "1 point per 10,000 Toman" in the club's unit. */
export function ruleInWords(sp: Sp, rialsPerPoint: number, unit: MoneyUnit) {
  const amount = unit === 'toman' ? rialsPerPoint / 10 : rialsPerPoint;
  return sp.t(`setup.rule_words_${unit}`, { amount: formatNumber(amount, sp.locale) });
}

/**
 * What points are worth and how they are earned, for members and cashiers:
 * «۵۰ امتیاز = ۵۰٬۰۰۰ تومان اعتبار» and «هر ۱۰٬۰۰۰ تومان خرید ۱ امتیاز».
 */
export async function pointsWorthLines(deps: ClubDeps, sp: Sp, points: number): Promise<string[]> {
  const [settings, rule] = await Promise.all([loyaltySettings(deps.db), effectiveRule(deps.db, null, deps.now())]);
  const shown = points > 0 ? points : 100;
  return [
    sp.t('points_worth.worth', { points: formatNumber(shown, sp.locale), value: inUnit(sp, shown * settings.rialsPerPointCredit, settings.moneyUnit) }),
    sp.t('points_worth.earn', { rule: ruleInWords(sp, rule.rials_per_point, settings.moneyUnit) }),
  ];
}
