import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Quiz, QuizQuestion } from '../db/schema.ts';
import { audit } from './audit.ts';
import { createCampaign, startCampaign } from './campaigns.ts';
import { ClubError } from './errors.ts';
import { credit, type Trx } from './ledger.ts';
import type { LoyaltyEnv } from './rules.ts';
import { loyaltySettings, lotExpiry } from './rules.ts';
import { compileSegment, loadSegment } from './segments.ts';

/**
 * Quizzes (مسابقه): questions with 2–4 options, a window, points per right answer, an optional
 * time limit per question. One attempt per member and one answer per question, both keyed in the
 * database, so two fast presses, two devices or two processes count once.
 */

export const MAX_QUESTIONS = 20;
/** A little slack on the time limit for the round trip of the press. */
const GRACE_MS = 2_000;

export interface QuizInput {
  title: string;
  questions: { text: string; options: string[]; correct: number }[];
  pointsPerAnswer: number;
  secondsPerQuestion: number | null;
  segmentId: number | null;
  opensAt: Date;
  closesAt: Date;
}

export function validateQuiz(input: QuizInput) {
  const title = input.title.trim();
  if (!title || title.length > 64) throw new ClubError('errors.quiz_title');
  if (input.questions.length < 1 || input.questions.length > MAX_QUESTIONS) throw new ClubError('errors.quiz_questions');
  for (const q of input.questions) {
    if (!q.text.trim() || q.text.length > 300) throw new ClubError('errors.quiz_questions');
    if (q.options.length < 2 || q.options.length > 4 || q.options.some((o) => !o.trim() || o.length > 40)) throw new ClubError('errors.quiz_options');
    if (!Number.isInteger(q.correct) || q.correct < 0 || q.correct >= q.options.length) throw new ClubError('errors.quiz_options');
  }
  if (!Number.isSafeInteger(input.pointsPerAnswer) || input.pointsPerAnswer < 0 || input.pointsPerAnswer > 1_000_000) throw new ClubError('errors.quiz_points');
  if (input.closesAt <= input.opensAt) throw new ClubError('errors.quiz_window');
}

/** Creates and publishes a quiz; the announcement goes through the campaign outbox to the segment. */
export async function createQuiz(db: Db, actorMemberId: number, input: QuizInput, now: Date, announcement?: (quiz: Quiz) => string): Promise<{ quiz: Quiz; campaignId: number | null }> {
  validateQuiz(input);
  return db.transaction().execute(async (trx) => {
    let quiz = await trx
      .insertInto('quizzes')
      .values({
        title: input.title.trim(),
        segment_id: input.segmentId,
        points_per_answer: input.pointsPerAnswer,
        seconds_per_question: input.secondsPerQuestion,
        opens_at: input.opensAt,
        closes_at: input.closesAt,
        campaign_id: null,
        created_by: actorMemberId,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('quiz_questions')
      .values(input.questions.map((q, position) => ({ quiz_id: quiz.id, position, text: q.text.trim(), options: JSON.stringify(q.options.map((o) => o.trim())), correct: q.correct })))
      .execute();
    let campaignId: number | null = null;
    if (announcement) {
      campaignId = (await createCampaign(trx, actorMemberId, { segmentId: input.segmentId, text: announcement(quiz), photoFileId: null, button: null }, now)).id;
      await startCampaign(trx, campaignId, now);
      quiz = await trx.updateTable('quizzes').set({ campaign_id: campaignId }).where('id', '=', quiz.id).returningAll().executeTakeFirstOrThrow();
    }
    await audit(trx, { actor: actorMemberId, action: 'quiz.create', payload: { quiz_id: quiz.id, questions: input.questions.length }, at: now });
    return { quiz, campaignId };
  });
}

async function inSegment(db: Db | Trx, quiz: Quiz, memberId: number, now: Date): Promise<boolean> {
  if (quiz.segment_id === null) return true;
  const filter = await loadSegment(db as Db, quiz.segment_id);
  const { rows } = await sql<{ ok: boolean }>`select exists (select 1 from members m where m.id = ${memberId} and ${compileSegment(filter, now)}) as ok`.execute(db);
  return rows[0]!.ok;
}

export interface QuizListing {
  quiz: Quiz;
  questions: number;
  started: boolean;
  finished: boolean;
  /** Right answers so far (null before the first). */
  score: number | null;
}

/** Quizzes open now for this member (their segment), with how far they got. */
export async function openQuizzes(db: Db, memberId: number, now: Date): Promise<QuizListing[]> {
  const quizzes = await db.selectFrom('quizzes').selectAll().where('opens_at', '<=', now).where('closes_at', '>', now).orderBy('id', 'desc').limit(10).execute();
  const listings: QuizListing[] = [];
  for (const quiz of quizzes) {
    if (!(await inSegment(db, quiz, memberId, now))) continue;
    const attempt = await db.selectFrom('quiz_attempts').selectAll().where('quiz_id', '=', quiz.id).where('member_id', '=', memberId).executeTakeFirst();
    const { n } = await db.selectFrom('quiz_questions').select(sql<number>`count(*)`.as('n')).where('quiz_id', '=', quiz.id).executeTakeFirstOrThrow();
    listings.push({ quiz, questions: n, started: Boolean(attempt), finished: Boolean(attempt?.finished_at), score: attempt?.score ?? null });
  }
  return listings;
}

export type QuizStep =
  | { done: false; quiz: Quiz; question: QuizQuestion; index: number; count: number; askedAt: Date }
  | { done: true; quiz: Quiz; score: number; count: number };

/**
 * Starts the member's one attempt, or continues it from any device: the next question not yet
 * answered. Showing a question records when it was first shown (the time limit counts from then).
 */
export async function nextQuestion(db: Db, quizId: number, memberId: number, now: Date): Promise<QuizStep> {
  return db.transaction().execute(async (trx) => {
    const quiz = await trx.selectFrom('quizzes').selectAll().where('id', '=', quizId).executeTakeFirst();
    if (!quiz) throw new ClubError('errors.quiz_not_found');
    const attempt = await trx.selectFrom('quiz_attempts').selectAll().where('quiz_id', '=', quizId).where('member_id', '=', memberId).executeTakeFirst();
    if (!attempt) {
      if (now < quiz.opens_at || now >= quiz.closes_at) throw new ClubError('errors.quiz_closed');
      if (!(await inSegment(trx, quiz, memberId, now))) throw new ClubError('errors.quiz_not_for_you');
      await trx.insertInto('quiz_attempts').values({ quiz_id: quizId, member_id: memberId, started_at: now, finished_at: null }).onConflict((oc) => oc.doNothing()).execute();
    }
    const questions = await trx.selectFrom('quiz_questions').selectAll().where('quiz_id', '=', quizId).orderBy('position').execute();
    const answered = new Set(
      (await trx.selectFrom('quiz_answers').select('question_id').where('quiz_id', '=', quizId).where('member_id', '=', memberId).where('answered_at', 'is not', null).execute()).map((r) => r.question_id),
    );
    const index = questions.findIndex((q) => !answered.has(q.id));
    if (index < 0 || now >= quiz.closes_at) {
      const done = await trx
        .updateTable('quiz_attempts')
        .set({ finished_at: sql`coalesce(finished_at, ${now}::timestamptz)` })
        .where('quiz_id', '=', quizId)
        .where('member_id', '=', memberId)
        .returning('score')
        .executeTakeFirstOrThrow();
      return { done: true, quiz, score: done.score, count: questions.length };
    }
    const question = questions[index]!;
    await trx.insertInto('quiz_answers').values({ quiz_id: quizId, member_id: memberId, question_id: question.id, asked_at: now, answered_at: null, choice: null, correct: null }).onConflict((oc) => oc.doNothing()).execute();
    const row = await trx.selectFrom('quiz_answers').select('asked_at').where('quiz_id', '=', quizId).where('member_id', '=', memberId).where('question_id', '=', question.id).executeTakeFirstOrThrow();
    return { done: false, quiz, question, index, count: questions.length, askedAt: row.asked_at };
  });
}

export interface AnswerOutcome {
  /** False when this question had already been answered (a second press, another device): nothing changed. */
  recorded: boolean;
  correct: boolean;
  late: boolean;
  correctOption: number;
  /** The question and the right option's text, shown with the verdict. */
  questionText: string;
  correctAnswer: string;
  points: number;
}

/**
 * Records the first answer to a question shown to the member; later presses change nothing. The
 * answer row is locked, so of two presses at once exactly one records (and pays) the answer.
 */
export async function answerQuestion(db: Db, input: { quizId: number; memberId: number; questionId: number; choice: number }, env: LoyaltyEnv): Promise<AnswerOutcome> {
  const { now } = env;
  const settings = await loyaltySettings(db, env.defaults);
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('quiz_answers')
      .innerJoin('quiz_questions', 'quiz_questions.id', 'quiz_answers.question_id')
      .innerJoin('quizzes', 'quizzes.id', 'quiz_answers.quiz_id')
      .select(['quiz_answers.asked_at', 'quiz_answers.answered_at', 'quiz_questions.correct', 'quiz_questions.options', 'quiz_questions.text', 'quizzes.seconds_per_question', 'quizzes.points_per_answer', 'quizzes.closes_at'])
      .where('quiz_answers.quiz_id', '=', input.quizId)
      .where('quiz_answers.member_id', '=', input.memberId)
      .where('quiz_answers.question_id', '=', input.questionId)
      .forUpdate('quiz_answers')
      .executeTakeFirst();
    if (!row) throw new ClubError('errors.quiz_not_found');
    const correctAnswer = (row.options as string[])[row.correct] ?? '';
    if (row.answered_at) return { recorded: false, correct: false, late: false, correctOption: row.correct, questionText: row.text, correctAnswer, points: 0 };
    const limit = row.seconds_per_question === null ? Infinity : row.seconds_per_question * 1000 + GRACE_MS;
    const late = now.getTime() - row.asked_at.getTime() > limit || now >= row.closes_at;
    const correct = !late && input.choice === row.correct;
    await trx
      .updateTable('quiz_answers')
      .set({ answered_at: now, choice: late ? null : input.choice, correct })
      .where('quiz_id', '=', input.quizId)
      .where('member_id', '=', input.memberId)
      .where('question_id', '=', input.questionId)
      .execute();
    let points = 0;
    if (correct) {
      await trx.updateTable('quiz_attempts').set({ score: sql`score + 1` }).where('quiz_id', '=', input.quizId).where('member_id', '=', input.memberId).execute();
      if (row.points_per_answer > 0) {
        await credit(trx, {
          memberId: input.memberId,
          currency: 'points',
          amount: row.points_per_answer,
          kind: 'quiz',
          reason: `quiz ${input.quizId}`,
          idempotencyKey: `quiz:${input.quizId}:${input.memberId}:${input.questionId}`,
          expiresAt: lotExpiry(now, settings.validity, env.timeZone),
          at: now,
        });
        points = row.points_per_answer;
      }
    }
    return { recorded: true, correct, late, correctOption: row.correct, questionText: row.text, correctAnswer, points };
  });
}

export interface LeaderboardRow {
  first_name: string;
  last_name: string | null;
  score: number;
  seconds: number | null;
}

/** Best scores first, the quicker finish first among equals. Names are shown as first name + initial. */
export async function leaderboard(db: Db, quizId: number, limit = 10): Promise<LeaderboardRow[]> {
  const { rows } = await sql<LeaderboardRow>`
    select m.first_name, m.last_name, a.score, extract(epoch from a.finished_at - a.started_at)::int as seconds
    from quiz_attempts a join members m on m.id = a.member_id
    where a.quiz_id = ${quizId}
    order by a.score desc, (a.finished_at - a.started_at) asc nulls last, a.member_id
    limit ${limit}`.execute(db);
  return rows;
}

export async function quizTitle(db: Db, quizId: number): Promise<string | undefined> {
  return (await db.selectFrom('quizzes').select('title').where('id', '=', quizId).executeTakeFirst())?.title;
}

export async function recentQuizzes(db: Db) {
  const { rows } = await sql<Quiz & { attempts: number }>`
    select q.*, (select count(*) from quiz_attempts a where a.quiz_id = q.id)::int8 as attempts
    from quizzes q order by q.id desc limit 10`.execute(db);
  return rows;
}

/** A quiz and how many questions it has (its announcement says both). */
export async function quizWithQuestionCount(db: Db, quizId: number): Promise<{ quiz: Quiz; questions: number } | undefined> {
  const quiz = await db.selectFrom('quizzes').selectAll().where('id', '=', quizId).executeTakeFirst();
  if (!quiz) return undefined;
  const { n } = await db.selectFrom('quiz_questions').select(sql<number>`count(*)::int8`.as('n')).where('quiz_id', '=', quizId).executeTakeFirstOrThrow();
  return { quiz, questions: Number(n) };
}
