import { cohortReport } from '../../club/analytics/cohorts.ts';
import { loyaltyReport } from '../../club/analytics/loyalty.ts';
import { membersReport } from '../../club/analytics/members.ts';
import { addDays, bucketLabel, bucketStart, buckets, granularityOf, type Period } from '../../club/analytics/period.ts';
import { RFM_GROUPS, rfmReport, type RfmRow } from '../../club/analytics/rfm.ts';
import { salesReport, type ReportScope } from '../../club/analytics/sales.ts';
import { loyaltySettings } from '../../club/rules.ts';
import type { Db } from '../../db/database.ts';
import type { Locale } from '../../db/schema.ts';
import { renderChart, renderPanels, type ChartSpec } from './charts.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import { formatDate } from '../../lib/jalali.ts';
import type { Cell } from '../../lib/table-files.ts';
import type { Speech } from '../context.ts';
import { buildEngagementReport, ENGAGEMENT_KINDS, type EngagementKind } from './engagement.ts';

export const REPORT_KINDS = ['sales', 'members', 'loyalty', 'rfm', 'cohorts', ...ENGAGEMENT_KINDS] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

export interface ReportView {
  png: Buffer;
  /** A few lines of Telegram HTML for the photo's caption. */
  summary: string[];
  table: { sheet: string; header: string[]; rows: Cell[][] };
  rfm?: RfmRow[];
}

type Env = { db: Db; now: Date; timeZone: string; branchName: string | null };

const toman = (rials: number) => Math.round(rials / 10);
const pct = (share: number, locale: Locale) => new Intl.NumberFormat(locale === 'fa' ? 'fa-IR' : 'en-US', { style: 'percent', maximumFractionDigits: 1 }).format(share);

export function periodText(period: Period, { t, locale }: Speech, timeZone: string): string {
  return t('reports.period_span', { from: formatDate(period.startIso, locale, timeZone), to: formatDate(addDays(period.endIso, -1), locale, timeZone) });
}

/** Sums day rows into the period's buckets (days, Jalali weeks or months), zeros included. */
function bucketed<T extends { day: string }>(period: Period, rows: T[], pick: (r: T) => number[], width: number) {
  const granularity = granularityOf(period);
  const keys = buckets(period, granularity);
  const sums = new Map(keys.map((k) => [k, new Array<number>(width).fill(0)]));
  for (const r of rows) {
    const sum = sums.get(bucketStart(r.day, granularity));
    if (sum) pick(r).forEach((v, i) => (sum[i]! += v));
  }
  return { granularity, keys, sums: keys.map((k) => sums.get(k)!) };
}

export async function buildReport(kind: ReportKind, scope: ReportScope, env: Env, speech: Speech): Promise<ReportView> {
  const { t, locale } = speech;
  const n = (v: number) => formatNumber(v, locale);
  // Invitations are the whole club's: naming one branch over their chart would say what it does not show.
  const branch = kind === 'referrals' ? t('reports.branch_club_wide') : (env.branchName ?? t('reports.branch_all'));
  const subtitle = [periodText(scope.period, speech, env.timeZone), branch].join(' · ');
  if ((ENGAGEMENT_KINDS as readonly string[]).includes(kind)) return buildEngagementReport(kind as EngagementKind, scope, env, speech, subtitle);
  const base = { locale, subtitle };
  const label = (iso: string, g: ReturnType<typeof granularityOf>) => bucketLabel(iso, g, locale);
  const weekdays = [0, 1, 2, 3, 4, 5, 6].map((d) => t(`reports.weekday_${d}`));

  if (kind === 'sales') {
    const s = await salesReport(env.db, scope);
    const b = bucketed(scope.period, s.byDay, (r) => [r.revenue, r.purchases], 2);
    const charts: ChartSpec[] = [
      { ...base, kind: 'bar', title: t('reports.sales_revenue'), labels: b.keys.map((k) => label(k, b.granularity)), series: [{ label: t('reports.revenue_toman'), data: b.sums.map((x) => toman(x[0]!)) }] },
      { ...base, kind: 'bar', title: t('reports.sales_by_hour'), labels: s.byHour.map((_, h) => n(h)), series: [{ label: t('reports.purchases'), data: s.byHour.map((h) => h.purchases) }] },
      { ...base, kind: 'bar', title: t('reports.sales_by_weekday'), labels: weekdays, series: [{ label: t('reports.purchases'), data: s.byWeekday.map((w) => w.purchases) }] },
      { ...base, kind: 'hbar', title: t('reports.sales_by_branch'), labels: s.byBranch.map((x) => x.name), series: [{ label: t('reports.revenue_toman'), data: s.byBranch.map((x) => toman(x.revenue)) }] },
    ];
    const busiest = s.byHour.reduce((best, h, i) => (h.purchases > s.byHour[best]!.purchases ? i : best), 0);
    return {
      png: await renderPanels(charts),
      summary: [
        t('reports.sales_summary', { purchases: n(s.purchases), revenue: formatRials(s.revenue, locale), basket: formatRials(s.averageBasket, locale) }),
        s.purchases ? t('reports.sales_busiest', { hour: n(busiest), weekday: weekdays[s.byWeekday.reduce((best, w, i) => (w.purchases > s.byWeekday[best]!.purchases ? i : best), 0)]! }) : t('reports.nothing_yet'),
      ],
      table: {
        sheet: t('reports.kind_sales'),
        header: [t('reports.col_section'), t('reports.col_label'), t('reports.purchases'), t('reports.revenue_rials')],
        rows: [
          ...b.keys.map((k, i): Cell[] => [t('reports.section_period'), label(k, b.granularity), b.sums[i]![1]!, b.sums[i]![0]!]),
          ...s.byBranch.map((x): Cell[] => [t('reports.section_branch'), x.name, x.purchases, x.revenue]),
          ...s.byHour.map((x, h): Cell[] => [t('reports.section_hour'), h, x.purchases, x.revenue]),
          ...s.byWeekday.map((x, d): Cell[] => [t('reports.section_weekday'), weekdays[d]!, x.purchases, x.revenue]),
          [t('reports.section_total'), '', s.purchases, s.revenue],
        ],
      },
    };
  }

  if (kind === 'members') {
    const m = await membersReport(env.db, scope, env.now);
    const b = bucketed(scope.period, m.joinedByDay, (r) => [r.members], 1);
    const tierName = (x: { name_fa: string; name_en: string }) => (locale === 'fa' ? x.name_fa : x.name_en);
    const ageLabel = (band: string) => (band === 'unknown' ? t('reports.unknown') : locale === 'fa' ? band.replace(/\d/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[Number(d)]!) : band);
    const charts: ChartSpec[] = [
      { ...base, kind: 'bar', title: t('reports.members_new'), labels: b.keys.map((k) => label(k, b.granularity)), series: [{ label: t('reports.members'), data: b.sums.map((x) => x[0]!) }] },
      { ...base, kind: 'bar', title: t('reports.members_frequency'), labels: m.frequency.map((f) => t('reports.times', { band: ageLabel(f.band) })), series: [{ label: t('reports.members'), data: m.frequency.map((f) => f.members) }] },
      { ...base, kind: 'doughnut', title: t('reports.members_tiers'), labels: m.tiers.map(tierName), series: [{ label: t('reports.members'), data: m.tiers.map((x) => x.members) }] },
      { ...base, kind: 'bar', title: t('reports.members_ages'), labels: m.ages.map((a) => ageLabel(a.band)), series: [{ label: t('reports.members'), data: m.ages.map((a) => a.members) }] },
    ];
    const genders = m.genders.map((g) => t('reports.gender_count', { gender: t(`reports.gender_${g.gender}`), count: n(g.members) })).join('، ');
    return {
      png: await renderPanels(charts),
      summary: [
        t('reports.members_summary', { members: n(m.members), joined: n(m.joined), active: n(m.active), rate: pct(m.activeRate, locale) }),
        genders,
        ...(m.cities.length ? [t('reports.members_cities', { cities: m.cities.slice(0, 3).map((c) => `${c.city} (${n(c.members)})`).join('، ') })] : []),
      ],
      table: {
        sheet: t('reports.kind_members'),
        header: [t('reports.col_section'), t('reports.col_label'), t('reports.members')],
        rows: [
          ...b.keys.map((k, i): Cell[] => [t('reports.section_joined'), label(k, b.granularity), b.sums[i]![0]!]),
          [t('reports.section_total'), t('reports.members'), m.members],
          [t('reports.section_total'), t('reports.active'), m.active],
          ...m.frequency.map((f): Cell[] => [t('reports.section_frequency'), f.band, f.members]),
          ...m.tiers.map((x): Cell[] => [t('reports.section_tier'), tierName(x), x.members]),
          ...m.ages.map((a): Cell[] => [t('reports.section_age'), a.band, a.members]),
          ...m.genders.map((g): Cell[] => [t('reports.section_gender'), t(`reports.gender_${g.gender}`), g.members]),
          ...m.cities.map((c): Cell[] => [t('reports.section_city'), c.city, c.members]),
        ],
      },
    };
  }

  if (kind === 'loyalty') {
    const { rialsPerPointCredit } = await loyaltySettings(env.db);
    const l = await loyaltyReport(env.db, scope, rialsPerPointCredit);
    const b = bucketed(scope.period, l.byDay, (r) => [r.issued, r.redeemed, r.expired], 3);
    const charts: ChartSpec[] = [
      {
        ...base,
        kind: 'bar',
        title: t('reports.loyalty_points'),
        labels: b.keys.map((k) => label(k, b.granularity)),
        series: [t('reports.issued'), t('reports.redeemed'), t('reports.expired')].map((s, i) => ({ label: s, data: b.sums.map((x) => x[i]!) })),
      },
      {
        ...base,
        kind: 'bar',
        title: t('reports.loyalty_credit'),
        labels: [t('reports.credit_earned'), t('reports.credit_used'), t('reports.liability')],
        series: [{ label: t('reports.toman'), data: [toman(l.creditEarned), toman(l.creditUsed), toman(l.liabilityRials)] }],
      },
    ];
    return {
      png: await renderPanels(charts),
      summary: [
        t('reports.loyalty_summary', { issued: n(l.pointsIssued), redeemed: n(l.pointsRedeemed), expired: n(l.pointsExpired) }),
        t('reports.loyalty_credit_line', { earned: formatRials(l.creditEarned, locale), used: formatRials(l.creditUsed, locale) }),
        t('reports.loyalty_liability', { points: n(l.outstandingPoints), liability: formatRials(l.liabilityRials, locale) }),
        t('reports.loyalty_rate', { rate: pct(l.cashbackRate, locale), rewards: n(l.rewardsClaimed) }),
      ],
      table: {
        sheet: t('reports.kind_loyalty'),
        header: [t('reports.col_section'), t('reports.col_label'), t('reports.issued'), t('reports.redeemed'), t('reports.expired')],
        rows: [
          ...b.keys.map((k, i): Cell[] => [t('reports.section_period'), label(k, b.granularity), ...b.sums[i]!]),
          [t('reports.section_total'), t('reports.points'), l.pointsIssued, l.pointsRedeemed, l.pointsExpired],
          [t('reports.section_total'), t('reports.credit_rials'), l.creditEarned, l.creditUsed, null],
          [t('reports.section_now'), t('reports.liability_rials'), l.liabilityRials, null, null],
          [t('reports.section_now'), t('reports.points'), l.outstandingPoints, null, null],
          [t('reports.section_total'), t('reports.cashback_rate'), l.cashbackRate, null, null],
          [t('reports.section_total'), t('reports.rewards_claimed'), l.rewardsClaimed, l.rewardPoints, null],
        ],
      },
    };
  }

  if (kind === 'rfm') {
    const r = await rfmReport(env.db, env.now);
    const names = RFM_GROUPS.map((g) => t(`reports.rfm_${g}`));
    const png = await renderChart({
      ...base,
      subtitle: t('reports.rfm_subtitle', { buyers: n(r.buyers) }),
      kind: 'hbar',
      title: t('reports.kind_rfm'),
      labels: names,
      series: [{ label: t('reports.members'), data: r.groups.map((g) => g.members) }],
    });
    return {
      png,
      rfm: r.groups,
      summary: [
        t('reports.rfm_summary', { buyers: n(r.buyers), never: n(r.neverBought) }),
        ...r.groups.filter((g) => g.members > 0).slice(0, 4).map((g) => t('reports.rfm_line', { group: names[RFM_GROUPS.indexOf(g.group)]!, count: n(g.members), share: pct(g.share, locale) })),
      ],
      table: {
        sheet: t('reports.kind_rfm'),
        header: [t('reports.col_group'), t('reports.members'), t('reports.col_share'), t('reports.col_recency'), t('reports.col_purchases'), t('reports.col_spend')],
        rows: r.groups.map((g, i): Cell[] => [names[i]!, g.members, g.share, g.avgRecencyDays, g.avgPurchases, g.avgSpend]),
      },
    };
  }

  const c = await cohortReport(env.db, scope);
  const months = c.months.map((m) => bucketLabel(m, 'month', locale));
  const shares = c.retained.map((row, i) => row.map((v) => (v === null ? null : c.sizes[i] ? v / c.sizes[i]! : 0)));
  return {
    png: await renderChart({ ...base, kind: 'heatmap', title: t('reports.cohort_title'), rows: months.map((m, i) => `${m} (${n(c.sizes[i]!)})`), cols: months.map((_, k) => n(k)), values: shares, width: 1200, height: 720 }),
    summary: [t('reports.cohort_summary', { month: months.at(-2) ?? months[0]!, share: pct(shares.at(-2)?.[1] ?? 0, locale) })],
    table: {
      sheet: t('reports.kind_cohorts'),
      header: [t('reports.col_cohort'), t('reports.members'), ...c.months.map((_, k) => t('reports.col_month_after', { k }))],
      rows: c.retained.map((row, i): Cell[] => [months[i]!, c.sizes[i]!, ...row]),
    },
  };
}
