import { InputFile, type Api } from 'grammy';
import cron, { type ScheduledTask } from 'node-cron';
import type { ClubDeps } from '../deps.ts';
import { adapterFor } from '../bot/platform.ts';
import { buildReport, periodText } from '../bot/reports/views.ts';
import { loyaltyReport } from '../club/analytics/loyalty.ts';
import { membersReport } from '../club/analytics/members.ts';
import { addDays, periodOfDays } from '../club/analytics/period.ts';
import { salesReport } from '../club/analytics/sales.ts';
import { claimWeeklySummary, lastWeek, ownerIds, reportSettings } from '../club/analytics/weekly.ts';
import { loyaltySettings } from '../club/rules.ts';
import type { Platform } from '../db/schema.ts';
import { formatNumber, formatRials } from '../lib/format.ts';
import { reachableAccounts } from '../club/members.ts';

/**
 * The owners' weekly summary: the past Jalali week's sales chart and five lines, Saturday morning
 * in the club's zone, when an owner has turned it on (/report). Returns the messages sent.
 */
export async function sendWeeklySummaries(deps: ClubDeps, apis: Map<Platform, Api>): Promise<number> {
  const { db, config } = deps;
  const now = deps.now();
  if (!(await reportSettings.read(db)).weekly) return 0;
  const week = lastWeek(now, config.timeZone);
  if (!(await claimWeeklySummary(db, week.startIso, now))) return 0;
  const before = periodOfDays(addDays(week.startIso, -7), week.startIso, config.timeZone);
  const scope = { period: week, branchId: null };
  const [sales, previous, members, loyalty] = await Promise.all([
    salesReport(db, scope),
    salesReport(db, { period: before, branchId: null }),
    membersReport(db, scope, now),
    loyaltySettings(db).then((s) => loyaltyReport(db, scope, s.rialsPerPointCredit)),
  ]);
  const accounts = await reachableAccounts(db, await ownerIds(db));
  let sent = 0;
  for (const account of accounts) {
    const api = apis.get(account.platform);
    if (!api) continue;
    const locale = account.locale ?? config.defaultLocale;
    const adapter = adapterFor(account.platform);
    const speech = { locale, t: deps.i18n.getFixedT(locale), adapter };
    const { t } = speech;
    const n = (v: number) => formatNumber(v, locale);
    const view = await buildReport('sales', scope, { db, now, timeZone: config.timeZone, branchName: null }, speech);
    const lines = [
      t('reports.weekly_title', { period: periodText(week, speech, config.timeZone) }),
      t('reports.weekly_sales', { purchases: n(sales.purchases), revenue: formatRials(sales.revenue, locale), previous: formatRials(previous.revenue, locale) }),
      t('reports.weekly_basket', { basket: formatRials(sales.averageBasket, locale) }),
      t('reports.weekly_members', { joined: n(members.joined), active: n(members.active) }),
      t('reports.weekly_points', { issued: n(loyalty.pointsIssued), redeemed: n(loyalty.pointsRedeemed) }),
    ];
    const caption = adapter.render(lines.join('\n'));
    try {
      await api.sendPhoto(account.chat_id, new InputFile(view.png, 'week.png'), { caption: caption.text, ...(caption.parse_mode ? { parse_mode: caption.parse_mode } : {}) });
      sent++;
    } catch (error) {
      deps.logger.warn({ err: error, platform: account.platform }, 'weekly summary not delivered');
    }
  }
  return sent;
}

/** Saturday 09:00 in the club's zone (later ticks that morning only retry a run that died before claiming). */
export function startWeeklyReports(deps: ClubDeps, apis: Map<Platform, Api>): { stop(): Promise<void> } {
  const log = deps.logger.child({ component: 'weekly-report' });
  const task: ScheduledTask = cron.schedule(
    '0 9-11 * * 6',
    async () => {
      try {
        const sent = await sendWeeklySummaries(deps, apis);
        if (sent) log.info({ sent }, 'weekly summary sent');
      } catch (error) {
        log.error({ err: error }, 'weekly summary failed');
      }
    },
    { timezone: deps.config.timeZone, noOverlap: true, name: 'weekly-report' },
  );
  return { stop: async () => void (await task.stop()) };
}
