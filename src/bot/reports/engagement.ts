import { ATTRIBUTION_DAYS, campaignConversions } from '../../club/analytics/campaign-conversions.ts';
import { averageScore, feedbackReport, npsOf } from '../../club/analytics/feedback.ts';
import { bucketLabel, granularityOf } from '../../club/analytics/period.ts';
import { referralFunnel } from '../../club/analytics/referral-funnel.ts';
import type { ReportScope } from '../../club/analytics/sales.ts';
import type { Db } from '../../db/database.ts';
import type { Locale } from '../../db/schema.ts';
import { renderPanels, type ChartSpec } from './charts.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import { formatDate } from '../../lib/jalali.ts';
import type { Cell } from '../../lib/table-files.ts';
import type { Speech } from '../context.ts';

/** The reports on how members come, answer offers and feel served: invitations, campaigns, satisfaction. */
export const ENGAGEMENT_KINDS = ['referrals', 'campaigns', 'feedback'] as const;
export type EngagementKind = (typeof ENGAGEMENT_KINDS)[number];

export interface EngagementView {
  png: Buffer;
  summary: string[];
  table: { sheet: string; header: string[]; rows: Cell[][] };
}

interface Env {
  db: Db;
  now: Date;
  timeZone: string;
}

/** How many campaigns the picture shows (the most recent); the table has them all. */
const CHART_CAMPAIGNS = 12;

const toman = (rials: number) => Math.round(rials / 10);
const pct = (share: number, locale: Locale) => new Intl.NumberFormat(locale === 'fa' ? 'fa-IR' : 'en-US', { style: 'percent', maximumFractionDigits: 1 }).format(share);
const round2 = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
const share = (part: number, whole: number) => (whole ? part / whole : 0);

/** "۴۵ دقیقه", "۳٫۵ ساعت", "۲ روز": minutes for the first hour, hours for two days, then days. */
export function formatMinutes(minutes: number | null, { t, locale }: Pick<Speech, 't' | 'locale'>): string {
  if (minutes === null) return t('reports.duration_none');
  const n = (v: number) => formatNumber(Math.round(v * 10) / 10, locale);
  if (minutes < 60) return t('reports.duration_minutes', { n: n(Math.round(minutes)) });
  if (minutes < 48 * 60) return t('reports.duration_hours', { n: n(minutes / 60) });
  return t('reports.duration_days', { n: n(minutes / 1440) });
}

export async function buildEngagementReport(kind: EngagementKind, scope: ReportScope, env: Env, speech: Speech, subtitle: string): Promise<EngagementView> {
  const { t, locale } = speech;
  const n = (v: number) => formatNumber(v, locale);
  const base = { locale, subtitle };
  const g = granularityOf(scope.period);
  const label = (iso: string) => bucketLabel(iso, g, locale);

  if (kind === 'referrals') {
    const f = await referralFunnel(env.db, scope.period);
    const stages = [t('reports.funnel_opened'), t('reports.funnel_joined'), t('reports.funnel_bought'), t('reports.funnel_rewarded')];
    const charts: ChartSpec[] = [
      { ...base, kind: 'hbar', title: t('reports.funnel_title'), labels: stages, series: [{ label: t('reports.people'), data: [f.opened, f.joined, f.bought, f.rewarded] }] },
      {
        ...base,
        kind: 'bar',
        title: t('reports.funnel_over_time'),
        labels: f.byBucket.map((b) => label(b.bucket)),
        series: (['opened', 'joined', 'bought'] as const).map((k, i) => ({ label: stages[i]!, data: f.byBucket.map((b) => b[k]) })),
      },
    ];
    return {
      png: await renderPanels(charts),
      summary: [
        t('reports.funnel_summary', { opened: n(f.opened), joined: n(f.joined), joinRate: pct(share(f.joined, f.opened), locale), bought: n(f.bought), buyRate: pct(share(f.bought, f.joined), locale), rewarded: n(f.rewarded) }),
        t('reports.funnel_other', { waiting: n(f.waiting), rejected: n(f.rejected), reversed: n(f.reversed), refused: n(f.refused) }),
        t('reports.funnel_points', { points: n(f.inviterPoints), inviters: n(f.inviters) }),
        t('reports.funnel_help'),
      ],
      table: {
        sheet: t('reports.kind_referrals'),
        header: [t('reports.col_section'), t('reports.col_label'), ...stages],
        rows: [
          ...f.byBucket.map((b): Cell[] => [t('reports.section_period'), label(b.bucket), b.opened, b.joined, b.bought, b.rewarded]),
          [t('reports.section_total'), t('reports.people'), f.opened, f.joined, f.bought, f.rewarded],
          [t('reports.section_total'), t('reports.funnel_waiting'), null, f.waiting, null, null],
          [t('reports.section_total'), t('reports.funnel_rejected'), null, f.rejected, null, null],
          [t('reports.section_total'), t('reports.funnel_reversed'), null, null, null, f.reversed],
          [t('reports.section_total'), t('reports.funnel_refused'), f.refused, null, null, null],
          [t('reports.section_total'), t('reports.funnel_inviter_points'), null, null, null, f.inviterPoints],
        ],
      },
    };
  }

  if (kind === 'campaigns') {
    const list = await campaignConversions(env.db, scope, env.now);
    const shown = list.slice(0, CHART_CAMPAIGNS).reverse();
    const names = shown.map((c) => t('reports.campaign_label', { id: n(c.id) }));
    const charts: ChartSpec[] = [
      {
        ...base,
        kind: 'stacked',
        title: t('reports.campaign_messages'),
        labels: names,
        series: [
          { label: t('reports.campaign_delivered'), data: shown.map((c) => c.delivered) },
          { label: t('reports.campaign_blocked'), data: shown.map((c) => c.blocked) },
          { label: t('reports.campaign_failed'), data: shown.map((c) => c.failed + c.waiting) },
        ],
      },
      { ...base, kind: 'bar', format: 'percent', title: t('reports.campaign_conversion', { days: n(ATTRIBUTION_DAYS) }), labels: names, series: [{ label: t('reports.campaign_buyers_share'), data: shown.map((c) => share(c.buyers, c.delivered)) }] },
      { ...base, kind: 'bar', title: t('reports.campaign_codes'), labels: names, series: [{ label: t('reports.campaign_codes_given'), data: shown.map((c) => c.codesGiven) }, { label: t('reports.campaign_codes_used'), data: shown.map((c) => c.codesUsed) }] },
      { ...base, kind: 'bar', title: t('reports.campaign_revenue'), labels: names, series: [{ label: t('reports.revenue_toman'), data: shown.map((c) => toman(c.revenue)) }] },
    ];
    const sum = (k: 'queued' | 'delivered' | 'blocked' | 'buyers' | 'purchases' | 'revenue' | 'codesGiven' | 'codesUsed') => list.reduce((s, c) => s + c[k], 0);
    return {
      png: await renderPanels(charts),
      summary: list.length
        ? [
            t('reports.campaign_summary', { campaigns: n(list.length), delivered: n(sum('delivered')), queued: n(sum('queued')), blocked: n(sum('blocked')) }),
            t('reports.campaign_bought', { buyers: n(sum('buyers')), rate: pct(share(sum('buyers'), sum('delivered')), locale), days: n(ATTRIBUTION_DAYS), purchases: n(sum('purchases')), revenue: formatRials(sum('revenue'), locale) }),
            t('reports.campaign_codes_line', { used: n(sum('codesUsed')), given: n(sum('codesGiven')) }),
            t('reports.campaign_help', { days: n(ATTRIBUTION_DAYS) }),
            ...(scope.branchId === null ? [] : [t('reports.campaign_branch_help')]),
          ]
        : [t('reports.campaign_none')],
      table: {
        sheet: t('reports.kind_campaigns'),
        header: [
          t('reports.col_campaign'),
          t('reports.col_started'),
          t('reports.col_text'),
          t('reports.campaign_queued'),
          t('reports.campaign_delivered'),
          t('reports.campaign_blocked'),
          t('reports.campaign_failed'),
          t('reports.campaign_waiting'),
          t('reports.campaign_codes_given'),
          t('reports.campaign_codes_used'),
          t('reports.campaign_buyers'),
          t('reports.purchases'),
          t('reports.revenue_rials'),
        ],
        rows: list.map((c): Cell[] => [
          c.id,
          formatDate(c.startedAt, locale, env.timeZone),
          c.automation ? `${t('reports.campaign_automatic')} ${c.text}` : c.text,
          c.queued,
          c.delivered,
          c.blocked,
          c.failed,
          c.waiting,
          c.codesGiven,
          c.codesUsed,
          c.buyers,
          c.purchases,
          c.revenue,
        ]),
      },
    };
  }

  const r = await feedbackReport(env.db, scope);
  const total = r.total;
  const labels = r.byBucket.map((b) => label(b.bucket));
  const hours = (m: number | null) => (m === null ? null : Math.round((m / 60) * 10) / 10);
  const stars = [1, 2, 3, 4, 5].map((s) => t('reports.score_n', { n: n(s) }));
  const charts: ChartSpec[] = [
    { ...base, kind: 'stacked', title: t('reports.feedback_scores'), labels, series: stars.map((s, i) => ({ label: s, data: r.byBucket.map((b) => b.scores[i]!) })) },
    { ...base, kind: 'line', title: t('reports.feedback_nps'), labels, series: [{ label: t('reports.nps'), data: r.byBucket.map(npsOf) }] },
    {
      ...base,
      kind: 'line',
      title: t('reports.feedback_times'),
      labels,
      series: [
        { label: t('reports.first_reply_hours'), data: r.byBucket.map((b) => hours(b.firstResponseMinutes)) },
        { label: t('reports.resolution_hours'), data: r.byBucket.map((b) => hours(b.resolutionMinutes)) },
      ],
    },
    {
      ...base,
      kind: 'bar',
      title: t('reports.feedback_tickets'),
      labels,
      series: [
        { label: t('reports.tickets_opened'), data: r.byBucket.map((b) => b.tickets) },
        { label: t('reports.tickets_unanswered'), data: r.byBucket.map((b) => b.tickets - b.answered) },
      ],
    },
  ];
  const answered = total.scores.reduce((s, x) => s + x, 0);
  const average = averageScore(total.scores);
  const nps = npsOf(total);
  const speechOf = { t, locale };
  return {
    png: await renderPanels(charts),
    summary: [
      answered
        ? t('reports.feedback_scores_line', { answered: n(answered), asked: n(total.asked), rate: pct(share(answered, total.asked), locale), average: n(Math.round(average! * 10) / 10), happy: pct(share(total.scores[3]! + total.scores[4]!, answered), locale) })
        : t('reports.feedback_scores_none', { asked: n(total.asked) }),
      nps === null
        ? t('reports.feedback_nps_none')
        : t('reports.feedback_nps_line', { nps: n(nps), answers: n(total.npsAnswers), promoters: n(total.promoters), detractors: n(total.detractors) }),
      t('reports.feedback_tickets_line', {
        tickets: n(total.tickets),
        answered: n(total.answered),
        first: formatMinutes(total.firstResponseMinutes, speechOf),
        resolution: formatMinutes(total.resolutionMinutes, speechOf),
        waiting: n(total.tickets - total.answered),
      }),
      ...(total.ticketRating === null ? [] : [t('reports.feedback_ticket_rating', { rating: n(Math.round(total.ticketRating * 10) / 10), ratings: n(total.ticketRatings) })]),
      t('reports.feedback_help'),
    ],
    table: {
      sheet: t('reports.kind_feedback'),
      header: [
        t('reports.col_section'),
        t('reports.col_label'),
        t('reports.feedback_asked'),
        ...stars,
        t('reports.feedback_average'),
        t('reports.nps_answers'),
        t('reports.nps_promoters'),
        t('reports.nps_detractors'),
        t('reports.nps'),
        t('reports.tickets_opened'),
        t('reports.tickets_answered'),
        t('reports.tickets_closed'),
        t('reports.first_reply_minutes'),
        t('reports.resolution_minutes'),
      ],
      rows: [...r.byBucket.map((b) => ({ ...b, name: label(b.bucket), section: t('reports.section_period') })), { ...total, name: '', section: t('reports.section_total') }].map((b): Cell[] => [
        b.section,
        b.name,
        b.asked,
        ...b.scores,
        round2(averageScore(b.scores)),
        b.npsAnswers,
        b.promoters,
        b.detractors,
        npsOf(b),
        b.tickets,
        b.answered,
        b.closed,
        b.firstResponseMinutes,
        b.resolutionMinutes,
      ]),
    },
  };
}
