import { ClubComposer } from '../composer.ts';
import { InputFile } from 'grammy';
import { ClubError } from '../../club/errors.ts';
import { closeSurvey, publishSurvey, recentSurveys, surveyCsv, surveyResults, surveyWithQuestions } from '../../club/surveys.ts';
import { formatNumber } from '../../lib/format.ts';
import { escapeHtml } from '../../lib/html.ts';
import type { Context } from '../context.ts';
import { SURVEY_ANSWER, SURVEY_BUILD } from '../conversations/surveys.ts';
import { say } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';

type T = Context['t'];

/** The buttons a manager gets for a survey, by its status. */
export function surveyActions(t: T, id: number, status: string) {
  const row = (label: string, action: string) => ({ text: `${t(label)} #${id}`, callback_data: `sv:${action}:${id}` });
  if (status === 'draft') return { inline_keyboard: [[row('surveys.preview', 'prev'), row('surveys.publish', 'pub')]] };
  if (status === 'published') return { inline_keyboard: [[row('surveys.results', 'res'), row('surveys.close', 'close')]] };
  return { inline_keyboard: [[row('surveys.results', 'res')]] };
}

export function surveysFeature() {
  const composer = new ClubComposer<Context>();
  const managers = staffOnly('owner', 'manager');
  const isManager = (ctx: Context) => ctx.role === 'owner' || ctx.role === 'manager';

  const listSurveys = async (ctx: Context) => {
    const surveys = await recentSurveys(ctx.deps.db);
    const lines = surveys.map((s) =>
      ctx.t('surveys.row', { id: formatNumber(s.id, ctx.locale), title: (ctx.locale === 'en' && s.title_en) || s.title_fa, status: ctx.t(`surveys.status_${s.status}`), responses: formatNumber(s.responses, ctx.locale) }),
    );
    await say(ctx, [ctx.t('surveys.title'), '', ...(lines.length ? lines : [ctx.t('surveys.none')])].join('\n'), {
      inline_keyboard: [[{ text: ctx.t('surveys.new'), callback_data: 'sv:new' }], ...surveys.flatMap((s) => surveyActions(ctx.t, s.id, s.status).inline_keyboard)],
    });
  };
  composer.chatType('private').command('surveys', managers, listSurveys);
  opens(composer, 'surveys', MANAGERS, listSurveys);

  composer.callbackQuery('sv:new', async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!isManager(ctx)) return say(ctx, ctx.t('errors.manager_only'));
    await ctx.conversation.enter(SURVEY_BUILD);
  });

  composer.callbackQuery(/^sv:(prev|pub|res|close|csv):(\d+)$/, async (ctx) => {
    if (!isManager(ctx)) return ctx.answerCallbackQuery({ text: ctx.t('errors.manager_only'), show_alert: true });
    await ctx.answerCallbackQuery();
    const [, action, idText] = ctx.match;
    const id = Number(idText);
    try {
      if (action === 'prev') {
        const loaded = await surveyWithQuestions(ctx.deps.db, id);
        if (!loaded) return say(ctx, ctx.t('errors.survey_not_found'));
        const qs = loaded.questions.map((q, i) => {
          const extra = q.options.length ? ` (${escapeHtml(q.options.join(' / '))})` : '';
          return `${formatNumber(i + 1, ctx.locale)}. ${escapeHtml((ctx.locale === 'en' && q.text_en) || q.text_fa)} · ${ctx.t(`surveys.kind_${q.kind}`)}${extra}${q.optional ? ` · ${ctx.t('surveys.optional')}` : ''}`;
        });
        const title = (ctx.locale === 'en' && loaded.survey.title_en) || loaded.survey.title_fa;
        return say(ctx, [ctx.t('surveys.preview_title', { title, points: formatNumber(loaded.survey.reward_points, ctx.locale) }), '', ...qs].join('\n'), surveyActions(ctx.t, id, loaded.survey.status));
      }
      if (action === 'pub') {
        const invited = await publishSurvey(ctx.deps.db, id, ctx.member!.id, ctx.deps.now());
        await say(ctx, ctx.t('surveys.published', { id: formatNumber(id, ctx.locale), invited: formatNumber(invited, ctx.locale) }));
        // Start sending now; the minute job carries on with whatever is left.
        ctx.deps.surveyDispatcher.kick();
        return;
      }
      if (action === 'close') {
        const closed = await closeSurvey(ctx.deps.db, id, ctx.member!.id, ctx.deps.now());
        return say(ctx, ctx.t(closed ? 'surveys.closed_done' : 'surveys.not_open', { id: formatNumber(id, ctx.locale) }));
      }
      if (action === 'csv') {
        const csv = await surveyCsv(ctx.deps.db, id);
        await ctx.replyWithDocument(new InputFile(Buffer.from(csv, 'utf8'), `survey-${id}.csv`));
        return;
      }
      const results = await surveyResults(ctx.deps.db, id);
      if (!results) return say(ctx, ctx.t('errors.survey_not_found'));
      const n = (v: number) => formatNumber(v, ctx.locale);
      // Questions, choices and above all members' answers are text people typed: escaped, so an
      // answer with `&` or `<` reads as typed and cannot break the message.
      const blocks = results.questions.map((r, i) => {
        const q = r.question;
        const head = `${n(i + 1)}. ${escapeHtml((ctx.locale === 'en' && q.text_en) || q.text_fa)} (${n(r.answered)})`;
        if (q.kind === 'text') return [head, ...r.texts.slice(-10).map((x) => `  “${escapeHtml(x)}”`)].join('\n');
        const labels = q.kind === 'rating' ? [1, 2, 3, 4, 5].map((v) => `${n(v)}⭐`) : q.kind === 'nps' ? Array.from({ length: 11 }, (_, v) => n(v)) : q.options.map(escapeHtml);
        const offset = q.kind === 'rating' ? 1 : 0;
        const counts = labels.map((label, j) => `${label}: ${n(r.counts[j + offset] ?? 0)}`).join(' · ');
        const summary = [r.average !== null ? ctx.t('surveys.average', { value: n(r.average) }) : '', r.nps !== null ? ctx.t('surveys.nps', { value: n(r.nps) }) : ''].filter(Boolean).join(' · ');
        const branches = r.byBranch.map((b) => ctx.t('surveys.branch_average', { branch: b.branch, value: n(b.average), answered: n(b.answered) }));
        return [head, `  ${counts}`, ...(summary ? [`  ${summary}`] : []), ...branches.map((b) => `  ${b}`)].join('\n');
      });
      const title = (ctx.locale === 'en' && results.survey.title_en) || results.survey.title_fa;
      await say(ctx, [ctx.t('surveys.results_title', { title, responses: n(results.responses) }), '', ...blocks].join('\n'), {
        inline_keyboard: [[{ text: ctx.t('surveys.csv'), callback_data: `sv:csv:${id}` }]],
      });
    } catch (error) {
      if (error instanceof ClubError) return say(ctx, ctx.t(error.i18nKey));
      throw error;
    }
  });

  composer.callbackQuery(/^sv:go:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
    await ctx.conversation.enter(SURVEY_ANSWER, Number(ctx.match[1]));
  });

  return composer;
}
