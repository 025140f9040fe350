import type { ClubDeps } from '../bot/context.ts';
import { claimInvitations } from '../club/surveys.ts';
import { formatNumber } from '../lib/format.ts';

/**
 * Sends pending survey invitations at a steady rate (default 20 a second, well under what
 * Telegram and Bale allow a bot), for at most `seconds`. Several processes may run it at once:
 * each claims its own rows.
 */
export async function dispatchSurveyInvitations(
  deps: Pick<ClubDeps, 'db' | 'notifier' | 'now'>,
  options: { perSecond?: number; seconds?: number; shouldStop?: () => boolean } = {},
): Promise<number> {
  const perSecond = options.perSecond ?? 20;
  const deadline = Date.now() + (options.seconds ?? 50) * 1000;
  let sent = 0;
  while (Date.now() < deadline && !options.shouldStop?.()) {
    const started = Date.now();
    const batch = await claimInvitations(deps.db, perSecond, deps.now());
    if (batch.length === 0) break;
    const surveys = new Map(
      (await deps.db.selectFrom('surveys').selectAll().where('id', 'in', [...new Set(batch.map((b) => b.survey_id))]).execute()).map((s) => [s.id, s]),
    );
    const counts = new Map(
      (await deps.db.selectFrom('survey_questions').select(['survey_id', deps.db.fn.countAll<number>().as('n')]).where('survey_id', 'in', [...surveys.keys()]).groupBy('survey_id').execute()).map((r) => [r.survey_id, r.n]),
    );
    for (const invitation of batch) {
      const survey = surveys.get(invitation.survey_id)!;
      await deps.notifier.notify(invitation.member_id, ({ t, locale }) => ({
        html: t(survey.reward_points > 0 ? 'surveys.invite_reward' : 'surveys.invite', {
          title: (locale === 'en' && survey.title_en) || survey.title_fa,
          count: formatNumber(counts.get(survey.id) ?? 0, locale),
          points: formatNumber(survey.reward_points, locale),
        }),
        keyboard: { inline_keyboard: [[{ text: t('surveys.start'), callback_data: `sv:go:${survey.id}` }]] },
      }));
      sent++;
    }
    const wait = 1000 - (Date.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return sent;
}

/**
 * Runs the dispatch in the background when there may be work (after publishing, and every minute),
 * one run at a time per process, and lets the club wait for it to finish when it stops.
 */
export class SurveyDispatcher {
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(private readonly deps: Pick<ClubDeps, 'db' | 'notifier' | 'now' | 'logger'>) {}

  kick() {
    if (this.stopped || this.running) return;
    this.running = dispatchSurveyInvitations(this.deps, { seconds: 45, shouldStop: () => this.stopped })
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'survey dispatch failed'))
      .finally(() => {
        this.running = null;
      });
  }

  async stop() {
    this.stopped = true;
    await this.running;
  }
}
