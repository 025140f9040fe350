import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Survey, SurveyAnswers, SurveyAudience, SurveyQuestion, SurveyQuestionKind } from '../db/schema.ts';
import { ClubError } from './errors.ts';
import { credit, type Trx } from './ledger.ts';
import type { LoyaltyEnv } from './rules.ts';
import { loyaltySettings, lotExpiry } from './rules.ts';
import { audit } from './audit.ts';
import { queueNotice, type Notice } from './notifications.ts';
import { toCsv } from '../lib/csv.ts';
import { compileSegment, loadSegment } from './segments.ts';

export const QUESTION_KINDS: readonly SurveyQuestionKind[] = ['rating', 'nps', 'single', 'multi', 'text'];
export const MAX_ANSWER_TEXT = 2000;

export interface QuestionDraft {
  kind: SurveyQuestionKind;
  textFa: string;
  textEn: string | null;
  options: string[];
  optional: boolean;
}

export interface SurveyDraft {
  titleFa: string;
  titleEn: string | null;
  rewardPoints: number;
  audience: SurveyAudience;
  closesAt: Date | null;
  questions: QuestionDraft[];
}

export function checkQuestion(q: QuestionDraft) {
  if (!q.textFa.trim() || q.textFa.length > 300) throw new ClubError('errors.survey_question_invalid');
  if ((q.kind === 'single' || q.kind === 'multi') && (q.options.length < 2 || q.options.length > 10 || q.options.some((o) => !o.trim() || o.length > 40))) {
    throw new ClubError('errors.survey_options_invalid');
  }
}

export async function createSurvey(db: Db, actorMemberId: number, draft: SurveyDraft, now: Date): Promise<Survey> {
  if (!draft.titleFa.trim() || draft.titleFa.length > 100) throw new ClubError('errors.survey_title_invalid');
  if (draft.questions.length === 0 || draft.questions.length > 20) throw new ClubError('errors.survey_needs_questions');
  draft.questions.forEach(checkQuestion);
  return db.transaction().execute(async (trx) => {
    const survey = await trx
      .insertInto('surveys')
      .values({
        title_fa: draft.titleFa.trim(),
        title_en: draft.titleEn?.trim() || null,
        reward_points: draft.rewardPoints,
        audience: JSON.stringify(draft.audience),
        closes_at: draft.closesAt,
        created_by: actorMemberId,
        published_at: null,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('survey_questions')
      .values(
        draft.questions.map((q, i) => ({
          survey_id: survey.id,
          position: i + 1,
          kind: q.kind,
          text_fa: q.textFa.trim(),
          text_en: q.textEn?.trim() || null,
          options: JSON.stringify(q.options.map((o) => o.trim())),
          optional: q.optional,
        })),
      )
      .execute();
    await audit(trx, { actor: actorMemberId, action: 'survey.create', payload: { survey_id: survey.id }, at: now });
    return survey;
  });
}

export async function surveyWithQuestions(db: Db, surveyId: number): Promise<{ survey: Survey; questions: SurveyQuestion[] } | null> {
  const survey = await db.selectFrom('surveys').selectAll().where('id', '=', surveyId).executeTakeFirst();
  if (!survey) return null;
  const questions = await db.selectFrom('survey_questions').selectAll().where('survey_id', '=', surveyId).orderBy('position').execute();
  return { survey, questions };
}

/**
 * Publishing writes one invitation per member of the audience who accepts offers and can be
 * reached; the dispatcher sends them at a steady rate. Publishing twice invites nobody twice.
 */
export async function publishSurvey(db: Db, surveyId: number, actorMemberId: number, now: Date): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const survey = await trx.selectFrom('surveys').selectAll().where('id', '=', surveyId).forUpdate().executeTakeFirst();
    if (!survey) throw new ClubError('errors.survey_not_found');
    if (survey.status !== 'draft') throw new ClubError('errors.survey_not_draft');
    const a = survey.audience;
    const audience =
      a.kind === 'tier'
        ? sql`m.tier_id = (select id from tiers where code = ${a.tier})`
        : a.kind === 'joined'
          ? sql`m.joined_at >= ${new Date(now.getTime() - a.days * 86_400_000)}`
          : a.kind === 'bought'
            ? sql`exists (select 1 from purchases p where p.member_id = m.id and p.status = 'recorded' and p.created_at >= ${new Date(now.getTime() - a.days * 86_400_000)})`
            : a.kind === 'segment'
              ? compileSegment(await loadSegment(trx, a.id), now)
              : sql`true`;
    const inserted = await sql<{ n: number }>`
      with ins as (
        insert into survey_invitations (survey_id, member_id)
        select ${surveyId}, m.id from members m
        where m.marketing_opt_in and ${audience}
          and exists (select 1 from member_accounts a where a.member_id = m.id and not a.blocked)
        on conflict do nothing
        returning 1
      ) select count(*) as n from ins`.execute(trx);
    await trx.updateTable('surveys').set({ status: 'published', published_at: now }).where('id', '=', surveyId).execute();
    await audit(trx, { actor: actorMemberId, action: 'survey.publish', payload: { survey_id: surveyId, invited: inserted.rows[0]!.n }, at: now });
    return inserted.rows[0]!.n;
  });
}

export async function closeSurvey(db: Db, surveyId: number, actorMemberId: number, now: Date) {
  const closed = await db.updateTable('surveys').set({ status: 'closed' }).where('id', '=', surveyId).where('status', '=', 'published').returning('id').executeTakeFirst();
  if (closed) await audit(db, { actor: actorMemberId, action: 'survey.close', payload: { survey_id: surveyId }, at: now });
  return Boolean(closed);
}

/**
 * Queues a batch of invitations in the notification outbox (FOR UPDATE SKIP LOCKED, so several
 * processes share the work): each is marked sent and its notice queued in one transaction, so a
 * crash neither loses an invitation nor sends it twice. Returns how many were queued.
 */
export async function queueInvitations(db: Db, limit: number, now: Date): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ survey_id: number; member_id: number }>`
      update survey_invitations i set status = 'sent', sent_at = ${now}
      from (
        select si.survey_id, si.member_id from survey_invitations si
        join surveys s on s.id = si.survey_id and s.status = 'published'
        where si.status = 'pending'
        order by si.survey_id, si.member_id
        limit ${limit}
        for update of si skip locked
      ) due
      where i.survey_id = due.survey_id and i.member_id = due.member_id
      returning i.survey_id, i.member_id`.execute(trx);
    if (rows.length === 0) return 0;
    const ids = [...new Set(rows.map((r) => r.survey_id))];
    const surveys = new Map((await trx.selectFrom('surveys').selectAll().where('id', 'in', ids).execute()).map((s) => [s.id, s]));
    const counts = new Map(
      (await trx.selectFrom('survey_questions').select(['survey_id', sql<number>`count(*)::int8`.as('n')]).where('survey_id', 'in', ids).groupBy('survey_id').execute()).map((r) => [r.survey_id, Number(r.n)]),
    );
    for (const invitation of rows) {
      const survey = surveys.get(invitation.survey_id)!;
      const notice: Notice = {
        kind: 'survey_invite',
        lines: [
          {
            key: survey.reward_points > 0 ? 'surveys.invite_reward' : 'surveys.invite',
            params: { title: { fa: survey.title_fa, en: survey.title_en || survey.title_fa }, count: counts.get(survey.id) ?? 0, points: survey.reward_points },
          },
        ],
        buttons: [[{ label: { key: 'surveys.start' }, data: `sv:go:${survey.id}` }]],
      };
      await queueNotice(trx, invitation.member_id, notice, `survey:${survey.id}:invite:${invitation.member_id}`, now);
    }
    return rows.length;
  });
}

/** The newest surveys with how many answered each (the managers' list). */
export async function recentSurveys(db: Db, limit = 10) {
  return db
    .selectFrom('surveys as s')
    .select(['s.id', 's.title_fa', 's.title_en', 's.status', sql<number>`(select count(*) from survey_responses r where r.survey_id = s.id)`.as('responses')])
    .orderBy('s.id', 'desc')
    .limit(limit)
    .execute();
}

export type SurveyAvailability = 'open' | 'closed' | 'answered' | 'missing' | 'not_invited';

/**
 * The survey's audience is fixed when it is published, as its invitations: only an invited member
 * may answer (and be rewarded), whatever survey id a button claims.
 */
export async function surveyAvailability(db: Db | Trx, surveyId: number, memberId: number, now: Date): Promise<SurveyAvailability> {
  const survey = await db.selectFrom('surveys').select(['status', 'closes_at']).where('id', '=', surveyId).executeTakeFirst();
  if (!survey) return 'missing';
  if (survey.status !== 'published' || (survey.closes_at && survey.closes_at <= now)) return 'closed';
  const invited = await db.selectFrom('survey_invitations').select('member_id').where('survey_id', '=', surveyId).where('member_id', '=', memberId).executeTakeFirst();
  if (!invited) return 'not_invited';
  const done = await db.selectFrom('survey_responses').select('id').where('survey_id', '=', surveyId).where('member_id', '=', memberId).executeTakeFirst();
  return done ? 'answered' : 'open';
}

function checkAnswer(q: SurveyQuestion, value: SurveyAnswers[string]) {
  if (value === null || value === undefined) return q.optional;
  switch (q.kind) {
    case 'rating':
      return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 5;
    case 'nps':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 10;
    case 'single':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) < q.options.length;
    case 'multi':
      return Array.isArray(value) && value.length > 0 && value.every((v) => Number.isInteger(v) && v >= 0 && v < q.options.length);
    case 'text':
      return typeof value === 'string' && value.trim().length > 0 && value.length <= MAX_ANSWER_TEXT;
  }
}

/** A member's completed answers: stored once, rewarded once. */
export async function submitSurvey(db: Db, surveyId: number, memberId: number, answers: SurveyAnswers, env: LoyaltyEnv) {
  const loaded = await surveyWithQuestions(db, surveyId);
  if (!loaded) throw new ClubError('errors.survey_not_found');
  const availability = await surveyAvailability(db, surveyId, memberId, env.now);
  if (availability === 'closed' || availability === 'missing') throw new ClubError('errors.survey_closed');
  if (availability === 'not_invited') throw new ClubError('errors.survey_not_invited');
  for (const q of loaded.questions) if (!checkAnswer(q, answers[String(q.id)] ?? null)) throw new ClubError('errors.survey_answer_invalid');
  return db.transaction().execute(async (trx) => {
    const stored = await trx
      .insertInto('survey_responses')
      .values({ survey_id: surveyId, member_id: memberId, answers: JSON.stringify(answers), completed_at: env.now })
      .onConflict((oc) => oc.constraint('survey_responses_member_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!stored) return { duplicate: true, points: 0 };
    let points = 0;
    if (loaded.survey.reward_points > 0) {
      const settings = await loyaltySettings(trx, env.defaults);
      const r = await credit(trx, {
        memberId,
        currency: 'points',
        amount: loaded.survey.reward_points,
        kind: 'earn',
        reason: 'survey_answered',
        idempotencyKey: `survey:${surveyId}:${memberId}`,
        expiresAt: lotExpiry(env.now, settings.validity, env.timeZone),
        at: env.now,
      });
      if (!r.duplicate) points = loaded.survey.reward_points;
    }
    return { duplicate: false, points };
  });
}

export interface QuestionResult {
  question: SurveyQuestion;
  answered: number;
  counts: number[];
  average: number | null;
  nps: number | null;
  texts: string[];
  /** For rating and NPS questions: the average per branch (the branch of the member's latest purchase). */
  byBranch: { branch: string; answered: number; average: number }[];
}

/** Per question: how many answered, counts per choice or score, the average, NPS, and the texts. */
export async function surveyResults(db: Db, surveyId: number): Promise<{ survey: Survey; responses: number; questions: QuestionResult[] } | null> {
  const loaded = await surveyWithQuestions(db, surveyId);
  if (!loaded) return null;
  const responses = await db
    .selectFrom('survey_responses as r')
    .select([
      'r.answers',
      sql<string | null>`(select b.name from purchases p join branches b on b.id = p.branch_id
        where p.member_id = r.member_id and p.status = 'recorded' order by p.created_at desc limit 1)`.as('branch'),
    ])
    .where('r.survey_id', '=', surveyId)
    .execute();
  const questions = loaded.questions.map((question): QuestionResult => {
    const values = responses.map((r) => r.answers[String(question.id)]).filter((v) => v !== null && v !== undefined);
    const size = question.kind === 'rating' ? 6 : question.kind === 'nps' ? 11 : question.options.length;
    const counts = Array.from({ length: size }, () => 0);
    for (const v of values) for (const i of Array.isArray(v) ? v : typeof v === 'number' ? [v] : []) counts[i] = (counts[i] ?? 0) + 1;
    const numbers = values.filter((v): v is number => typeof v === 'number');
    const scored = question.kind === 'rating' || question.kind === 'nps';
    const average = scored && numbers.length ? Math.round((numbers.reduce((a, b) => a + b, 0) / numbers.length) * 10) / 10 : null;
    const nps =
      question.kind === 'nps' && numbers.length
        ? Math.round(((numbers.filter((n) => n >= 9).length - numbers.filter((n) => n <= 6).length) / numbers.length) * 100)
        : null;
    const perBranch = new Map<string, number[]>();
    if (scored) {
      for (const r of responses) {
        const v = r.answers[String(question.id)];
        if (typeof v !== 'number' || r.branch === null) continue;
        perBranch.set(r.branch, [...(perBranch.get(r.branch) ?? []), v]);
      }
    }
    const byBranch = [...perBranch].map(([branch, vs]) => ({ branch, answered: vs.length, average: Math.round((vs.reduce((a, b) => a + b, 0) / vs.length) * 10) / 10 }));
    return { question, answered: values.length, counts, average, nps, texts: values.filter((v): v is string => typeof v === 'string'), byBranch };
  });
  return { survey: loaded.survey, responses: responses.length, questions };
}

/** Every response as a CSV row: member number, time, one column per question (choices by label). */
export async function surveyCsv(db: Db, surveyId: number): Promise<string> {
  const loaded = await surveyWithQuestions(db, surveyId);
  if (!loaded) throw new ClubError('errors.survey_not_found');
  const responses = await db.selectFrom('survey_responses').selectAll().where('survey_id', '=', surveyId).orderBy('id').execute();
  const header = ['member', 'completed_at', ...loaded.questions.map((q) => q.text_fa)];
  const rows = responses.map((r) => [
    r.member_id,
    r.completed_at.toISOString(),
    ...loaded.questions.map((q) => {
      const v = r.answers[String(q.id)];
      if (v === null || v === undefined) return '';
      if (q.kind === 'single') return q.options[v as number] ?? '';
      if (q.kind === 'multi') return (v as number[]).map((i) => q.options[i]).join('; ');
      return String(v);
    }),
  ]);
  return toCsv([header, ...rows]);
}
