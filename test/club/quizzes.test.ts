import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinClub } from '../../src/club/members.ts';
import { answerQuestion, createQuiz, leaderboard, nextQuestion, openQuizzes, type QuizInput } from '../../src/club/quizzes.ts';
import { saveSegment } from '../../src/club/segments.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

describe(`quizzes (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let owner: number;
  const ids: Record<string, number> = {};
  let phone = 0;
  const t0 = new Date('2026-12-01T08:00:00Z');
  const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
  const env = (now: Date) => ({ now, timeZone: 'Asia/Tehran' });
  const points = async (id: number) => (await handle.db.selectFrom('members').select('points_balance').where('id', '=', id).executeTakeFirstOrThrow()).points_balance;
  const quiz = (over: Partial<QuizInput> = {}): QuizInput => ({
    title: 'Tea',
    questions: [
      { text: 'Where does Lahijan tea grow?', options: ['Gilan', 'Yazd'], correct: 0 },
      { text: 'Best with?', options: ['Dates', 'Salt', 'Nabat'], correct: 2 },
    ],
    pointsPerAnswer: 10,
    secondsPerQuestion: 30,
    segmentId: null,
    opensAt: t0,
    closesAt: at(86_400),
    ...over,
  });

  async function member(name: string, gender: 'female' | 'male') {
    phone++;
    const { member } = await joinClub(
      handle.db,
      { platform: 'telegram', userId: 6_800_000 + phone, chatId: 6_800_000 + phone },
      { phone: `+98912680${String(phone).padStart(4, '0')}`, firstName: name, gender },
      { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989126800001'], now: t0 },
    );
    ids[name] = member.id;
    return member.id;
  }

  beforeAll(async () => {
    handle = await testDatabase();
    owner = await member('Owner', 'male');
    await member('Ava', 'female');
    await member('Cyrus', 'male');
  });
  afterAll(() => handle.close());

  it('refuses a quiz without questions, with one option, or a right answer that is not an option', async () => {
    await expect(createQuiz(handle.db, owner, quiz({ questions: [] }), t0)).rejects.toThrow(/quiz_questions/);
    await expect(createQuiz(handle.db, owner, quiz({ questions: [{ text: 'Q', options: ['A'], correct: 0 }] }), t0)).rejects.toThrow(/quiz_options/);
    await expect(createQuiz(handle.db, owner, quiz({ questions: [{ text: 'Q', options: ['A', 'B'], correct: 2 }] }), t0)).rejects.toThrow(/quiz_options/);
  });

  it('one attempt and one answer per question, even with presses from two devices at once; points paid once', async () => {
    const { quiz: q } = await createQuiz(handle.db, owner, quiz(), t0);
    const ava = ids.Ava!;
    // Two devices open the quiz at the same moment: one attempt, the same first question.
    const [a, b] = await Promise.all([nextQuestion(handle.db, q.id, ava, at(1)), nextQuestion(handle.db, q.id, ava, at(1))]);
    expect(a.done || b.done).toBe(false);
    if (a.done || b.done) return;
    expect(b.question.id).toBe(a.question.id);
    expect(await handle.db.selectFrom('quiz_attempts').select('member_id').where('quiz_id', '=', q.id).execute()).toHaveLength(1);

    const before = await points(ava);
    const press = (choice: number) => answerQuestion(handle.db, { quizId: q.id, memberId: ava, questionId: a.question.id, choice }, env(at(5)));
    const outcomes = await Promise.all([press(0), press(0), press(1)]);
    expect(outcomes.filter((o) => o.recorded)).toHaveLength(1);
    expect(await points(ava)).toBe(before + (outcomes.find((o) => o.recorded)!.correct ? 10 : 0));
    const score = (await handle.db.selectFrom('quiz_attempts').select('score').where('quiz_id', '=', q.id).where('member_id', '=', ava).executeTakeFirstOrThrow()).score;
    expect(score).toBe(outcomes.find((o) => o.recorded)!.correct ? 1 : 0);

    // Later presses, after the first counted: nothing changes.
    expect((await press(0)).recorded).toBe(false);

    // The second question, answered after its 30 seconds: late, no points.
    const second = await nextQuestion(handle.db, q.id, ava, at(10));
    expect(second.done).toBe(false);
    if (second.done) return;
    expect(second.index).toBe(1);
    const late = await answerQuestion(handle.db, { quizId: q.id, memberId: ava, questionId: second.question.id, choice: 2 }, env(at(10 + 45)));
    expect(late).toMatchObject({ recorded: true, late: true, correct: false, points: 0 });
    const done = await nextQuestion(handle.db, q.id, ava, at(60));
    expect(done).toMatchObject({ done: true, count: 2, score });
    expect((await openQuizzes(handle.db, ava, at(61))).find((l) => l.quiz.id === q.id)).toMatchObject({ started: true, finished: true });
  });

  it('only the segment plays, only while open; the leaderboard ranks by score, then by time', async () => {
    const women = await saveSegment(handle.db, owner, 'Women', { groups: [[{ field: 'gender', value: 'female' }]] }, t0);
    const { quiz: q } = await createQuiz(handle.db, owner, quiz({ segmentId: women.id, secondsPerQuestion: null }), t0);
    await expect(nextQuestion(handle.db, q.id, ids.Cyrus!, at(1))).rejects.toThrow(/quiz_not_for_you/);
    expect((await openQuizzes(handle.db, ids.Cyrus!, at(1))).map((l) => l.quiz.id)).not.toContain(q.id);
    await expect(nextQuestion(handle.db, q.id, ids.Ava!, at(86_401))).rejects.toThrow(/quiz_closed/);

    const open = await createQuiz(handle.db, owner, quiz({ secondsPerQuestion: null }), t0);
    for (const [name, answers, seconds] of [['Ava', [0, 2], 50], ['Cyrus', [0, 2], 20], ['Owner', [1, 2], 5]] as const) {
      for (const [i, choice] of answers.entries()) {
        const step = await nextQuestion(handle.db, open.quiz.id, ids[name]!, at(i));
        if (step.done) throw new Error('finished early');
        await answerQuestion(handle.db, { quizId: open.quiz.id, memberId: ids[name]!, questionId: step.question.id, choice }, env(at(i + 1)));
      }
      await nextQuestion(handle.db, open.quiz.id, ids[name]!, at(seconds));
    }
    expect((await leaderboard(handle.db, open.quiz.id)).map((r) => [r.first_name, r.score, r.seconds])).toEqual([
      ['Cyrus', 2, 20],
      ['Ava', 2, 50],
      ['Owner', 1, 5],
    ]);
  });
});
