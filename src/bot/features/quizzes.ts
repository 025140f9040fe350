import { ClubComposer } from '../composer.ts';
import type { InlineKeyboardButton } from 'grammy/types';
import { ClubError } from '../../club/errors.ts';
import { answerQuestion, leaderboard, nextQuestion, openQuizzes, recentQuizzes, type QuizStep } from '../../club/quizzes.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDate } from '../../lib/jalali.ts';
import type { Context } from '../context.ts';
import { QUIZ_BUILD } from '../conversations/quizzes.ts';
import { escapeHtml } from '../i18n.ts';
import { say, showScreen } from '../ui.ts';
import { staffOnly } from './staff.ts';
import { MANAGERS, opens } from '../panel/open.ts';
import { quizTitle } from '../../club/quizzes.ts';

/** Button labels are plain text; a text whose values are HTML already. */
const raw = { interpolation: { escapeValue: false } };

/** "Ava K.": first name and the initial of the last name, never more (the leaderboard is public). */
export function shortName(first: string, last: string | null) {
  const initial = last?.trim().charAt(0);
  return initial ? `${first} ${initial}.` : first;
}

async function sendStep(ctx: Context, step: QuizStep) {
  const { t, locale } = ctx;
  const n = (v: number) => formatNumber(v, locale);
  if (step.done) {
    await say(ctx, t('quizzes.finished', { title: step.quiz.title, score: n(step.score), count: n(step.count) }), {
      inline_keyboard: [[{ text: t('quizzes.board_button', { ...raw, title: step.quiz.title }), callback_data: `qz:lb:${step.quiz.id}` }]],
    });
    return;
  }
  const limit = step.quiz.seconds_per_question ? t('quizzes.limit', { seconds: n(step.quiz.seconds_per_question) }) : '';
  await say(ctx, t('quizzes.question', { ...raw, title: escapeHtml(step.quiz.title), n: n(step.index + 1), count: n(step.count), limit, text: escapeHtml(step.question.text) }), {
    inline_keyboard: step.question.options.map((option, i) => [{ text: option, callback_data: `qz:a:${step.quiz.id}:${step.question.id}:${i}` }]),
  });
}

export function quizzesFeature() {
  const composer = new ClubComposer<Context>();
  const privateChat = composer.chatType('private');

  // Members: the quizzes open to them, to play or see the leaderboard.
  privateChat.command('quiz', async (ctx) => {
    if (!ctx.member) return say(ctx, ctx.t('errors.not_member'));
    const { t, locale, deps } = ctx;
    const n = (v: number) => formatNumber(v, locale);
    const listings = await openQuizzes(deps.db, ctx.member.id, deps.now());
    const lines: string[] = [];
    const buttons: InlineKeyboardButton[][] = [];
    for (const { quiz, questions, started, finished, score } of listings) {
      lines.push(t('quizzes.row', { title: quiz.title, count: n(questions), points: n(quiz.points_per_answer), until: formatDate(quiz.closes_at, locale, deps.config.timeZone) }));
      if (finished) {
        lines.push(t('quizzes.row_done', { score: n(score ?? 0), count: n(questions) }));
      } else {
        if (started) lines.push(t('quizzes.row_started'));
        buttons.push([{ text: t('quizzes.play', { ...raw, title: quiz.title }), callback_data: `qz:go:${quiz.id}` }]);
      }
      buttons.push([{ text: t('quizzes.board_button', { ...raw, title: quiz.title }), callback_data: `qz:lb:${quiz.id}` }]);
      lines.push('');
    }
    await say(ctx, [t('quizzes.title'), '', ...(lines.length ? lines : [t('quizzes.none')])].join('\n').trim(), { inline_keyboard: buttons });
  });

  composer.callbackQuery(/^qz:go:(\d+)$/, async (ctx) => {
    if (!ctx.member) return ctx.answerCallbackQuery({ text: ctx.t('errors.not_member'), show_alert: true });
    try {
      const step = await nextQuestion(ctx.deps.db, Number(ctx.match[1]), ctx.member.id, ctx.deps.now());
      await ctx.answerCallbackQuery();
      await sendStep(ctx, step);
    } catch (error) {
      if (!(error instanceof ClubError)) throw error;
      await ctx.answerCallbackQuery({ text: ctx.t(error.i18nKey, error.params), show_alert: true });
    }
  });

  // An answer: only the first press of a question counts (keyed in the database); later ones are told so.
  composer.callbackQuery(/^qz:a:(\d+):(\d+):(\d)$/, async (ctx) => {
    if (!ctx.member) return ctx.answerCallbackQuery({ text: ctx.t('errors.not_member'), show_alert: true });
    const { t, locale, deps } = ctx;
    const [quizId, questionId, choice] = [Number(ctx.match[1]), Number(ctx.match[2]), Number(ctx.match[3])];
    const env = {
      now: deps.now(),
      timeZone: deps.config.timeZone,
      defaults: { tierWindowDays: deps.config.tierWindowDays, validity: { mode: 'days' as const, days: deps.config.pointsValidityDays } },
    };
    const outcome = await answerQuestion(deps.db, { quizId, memberId: ctx.member.id, questionId, choice }, env);
    if (!outcome.recorded) return ctx.answerCallbackQuery({ text: t('quizzes.already') });
    const answer = outcome.correctAnswer;
    const verdict = outcome.late
      ? t('quizzes.late', { answer })
      : outcome.correct
        ? outcome.points > 0
          ? t('quizzes.right_points', { points: formatNumber(outcome.points, locale) })
          : t('quizzes.right')
        : t('quizzes.wrong', { answer });
    await ctx.answerCallbackQuery();
    // The question stays readable with its verdict; its buttons go away.
    await showScreen(ctx, `${escapeHtml(outcome.questionText)}\n\n${verdict}`, { inline_keyboard: [] });
    await sendStep(ctx, await nextQuestion(deps.db, quizId, ctx.member.id, deps.now()));
  });

  composer.callbackQuery(/^qz:lb:(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const { t, locale, deps } = ctx;
    const n = (v: number) => formatNumber(v, locale);
    const title = await quizTitle(deps.db, Number(ctx.match[1]));
    if (title === undefined) return say(ctx, t('errors.quiz_not_found'));
    const rows = await leaderboard(deps.db, Number(ctx.match[1]));
    const lines = rows.map((r, i) =>
      t('quizzes.board_row', { rank: n(i + 1), name: shortName(r.first_name, r.last_name), score: n(r.score), time: r.seconds === null ? '' : t('quizzes.board_time', { seconds: n(r.seconds) }) }),
    );
    await say(ctx, [t('quizzes.board_title', { title }), '', ...(lines.length ? lines : [t('quizzes.board_empty')])].join('\n'));
  });

  // Managers: the quizzes with how many played, and a new one.
  const listQuizzes = async (ctx: Context) => {
    const { t, locale, deps } = ctx;
    const quizzes = await recentQuizzes(deps.db);
    const rows = quizzes.map((q) => t('quizzes.admin_row', { id: formatNumber(q.id, locale), title: q.title, attempts: formatNumber(q.attempts, locale), until: formatDate(q.closes_at, locale, deps.config.timeZone) }));
    const buttons: InlineKeyboardButton[][] = [[{ text: t('quizzes.new_button'), callback_data: 'qz:new' }]];
    for (const q of quizzes.slice(0, 5)) buttons.push([{ text: t('quizzes.board_button', { ...raw, title: q.title }), callback_data: `qz:lb:${q.id}` }]);
    await say(ctx, [t('quizzes.admin_title'), '', ...(rows.length ? rows : [t('quizzes.admin_none')])].join('\n'), { inline_keyboard: buttons });
  };
  privateChat.command('quizzes', staffOnly('owner', 'manager'), listQuizzes);
  opens(composer, 'quizzes', MANAGERS, listQuizzes);

  composer.callbackQuery('qz:new', async (ctx) => {
    await ctx.answerCallbackQuery();
    if (ctx.role !== 'owner' && ctx.role !== 'manager') return say(ctx, ctx.t('errors.manager_only'));
    await ctx.conversation.enter(QUIZ_BUILD);
  });

  return composer;
}
