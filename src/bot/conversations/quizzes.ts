import type { Conversation } from '@grammyjs/conversations';
import { createQuiz, MAX_QUESTIONS, type QuizInput } from '../../club/quizzes.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import { formatDate } from '../../lib/jalali.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { announcementRef } from '../announcements.ts';
import { askText, attempt, managerIdOf, pickButton } from './ask.ts';
import { listSegments } from '../../club/segments.ts';

export const QUIZ_BUILD = 'quiz_build';

type QuizConversation = Conversation<Context, ConversationContext>;

export function createQuizConversations(deps: ClubDeps) {
  /** Title, questions (2–4 options and the right one), points, a time limit, the audience and the window; then published. */
  async function build(conversation: QuizConversation, ctx: ConversationContext) {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));
    const opts = { cancelledKey: 'quizzes.cancelled' };
    const n = (v: number) => formatNumber(v, locale);

    const title = await askText(conversation, ctx, t('quizzes.ask_title'), { ...opts, max: 64 });
    if (title === null) return;
    const questions: QuizInput['questions'] = [];
    for (;;) {
      const text = await askText(conversation, ctx, t('quizzes.ask_question', { n: n(questions.length + 1) }), { ...opts, max: 300 });
      if (text === null) return;
      let options: string[] = [];
      for (let p = t('quizzes.ask_options'); options.length === 0; p = t('quizzes.options_invalid')) {
        const raw = await askText(conversation, ctx, p, { ...opts, max: 200 });
        if (raw === null) return;
        const lines = raw.split('\n').map((l) => l.trim()).filter(Boolean);
        if (lines.length >= 2 && lines.length <= 4 && lines.every((l) => l.length <= 40)) options = lines;
      }
      const correct = await pickButton(conversation, ctx, t('quizzes.ask_correct'), options.map((o, i): [string, string][] => [[o, String(i)]]));
      questions.push({ text, options, correct: Number(correct) });
      if (questions.length >= MAX_QUESTIONS) break;
      const more = await pickButton(conversation, ctx, t('quizzes.questions_so_far', { count: n(questions.length) }), [
        [[t('quizzes.more_questions'), 'more'], [t('quizzes.questions_done'), 'done']],
      ]);
      if (more === 'done') break;
    }

    let points: number | null = null;
    for (let p = t('quizzes.ask_points'); points === null; p = t('quizzes.points_invalid')) {
      const raw = await askText(conversation, ctx, p, { ...opts, extra: [n(10), n(50)], max: 20 });
      if (raw === null) return;
      const latin = toLatinDigits(raw).replace(/[,٬،\s]/g, '');
      if (/^\d{1,7}$/.test(latin) && Number(latin) <= 1_000_000) points = Number(latin);
    }
    const limit = await pickButton(conversation, ctx, t('quizzes.ask_limit'), [
      [[t('quizzes.no_limit'), '0']],
      [15, 30, 60].map((s): [string, string] => [t('quizzes.seconds', { n: n(s) }), String(s)]),
    ]);
    const segments = await conversation.external(() => listSegments(deps.db));
    let segmentId: number | null = null;
    if (segments.length) {
      const choice = await pickButton(conversation, ctx, t('quizzes.ask_segment'), [[[t('quizzes.all_members'), 'all']], ...segments.map((s): [string, string][] => [[s.name, `s${s.id}`]])]);
      segmentId = choice === 'all' ? null : Number(choice.slice(1));
    }
    const days = Number(await pickButton(conversation, ctx, t('quizzes.ask_window'), [[1, 3, 7].map((d): [string, string] => [t('quizzes.days', { n: n(d) }), String(d)])]));

    const now = new Date(await conversation.external(() => deps.now().toISOString()));
    const input: QuizInput = {
      title,
      questions,
      pointsPerAnswer: points,
      secondsPerQuestion: Number(limit) || null,
      segmentId,
      opensAt: now,
      closesAt: new Date(now.getTime() + days * 86_400_000),
    };
    const until = formatDate(input.closesAt, locale, deps.config.timeZone);
    const confirm = await pickButton(conversation, ctx, t('quizzes.summary', { title, count: n(questions.length), points: n(points), until }), [
      [[t('quizzes.publish'), 'ok'], [t('till.cancel'), 'cancel']],
    ]);
    if (confirm === 'cancel') return say(ctx, t('quizzes.cancelled'), { remove_keyboard: true });
    const created = await conversation.external(async () => {
      const outcome = await attempt(() => createQuiz(deps.db, actor, input, deps.now(), (quiz) => announcementRef('quiz', quiz.id)));
      if (outcome.ok && outcome.value.campaignId !== null) deps.broadcaster.kick(outcome.value.campaignId);
      return outcome.ok ? { ok: true as const, id: outcome.value.quiz.id } : outcome;
    });
    if (!created.ok) return say(ctx, t(created.key, created.params), { remove_keyboard: true });
    await say(ctx, t('quizzes.published', { id: n(created.id), title }), { remove_keyboard: true });
  }

  return { build };
}
