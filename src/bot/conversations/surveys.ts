import { memberIdOfAccount } from '../../club/members.ts';
import type { Conversation } from '@grammyjs/conversations';
import { ClubError } from '../../club/errors.ts';
import { listSegments } from '../../club/segments.ts';
import { checkQuestion, createSurvey, MAX_ANSWER_TEXT, submitSurvey, surveyAvailability, surveyWithQuestions, type QuestionDraft } from '../../club/surveys.ts';
import type { SurveyAnswers, SurveyAudience, SurveyQuestionKind } from '../../db/schema.ts';
import { toLatinDigits } from '../../lib/digits.ts';
import { formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { say } from '../ui.ts';
import { loyaltySettings } from '../../club/rules.ts';
import { parseWholeNumber } from '../../lib/amount.ts';
import { askText, managerIdOf, pickButton } from './ask.ts';
import { listTiers } from '../../club/tiers.ts';

export const SURVEY_BUILD = 'survey_build';
export const SURVEY_ANSWER = 'survey_answer';

type SurveyConversation = Conversation<Context, ConversationContext>;

const KIND_LABELS: Record<SurveyQuestionKind, string> = { rating: 'surveys.kind_rating', nps: 'surveys.kind_nps', single: 'surveys.kind_single', multi: 'surveys.kind_multi', text: 'surveys.kind_text' };

/** "Persian text | English text": the English half is optional. */
function bilingual(text: string): [string, string | null] {
  const [fa, en] = text.split('|').map((s) => s.trim());
  return [fa ?? '', en || null];
}

export function createSurveyConversations(deps: ClubDeps, surveyActions: (t: ConversationContext['t'], surveyId: number, status: string) => { inline_keyboard: { text: string; callback_data: string }[][] }) {
  async function build(conversation: SurveyConversation, ctx: ConversationContext) {
    const { t, locale } = ctx;
    const actor = await conversation.external(() => managerIdOf(deps.db, ctx));
    if (actor === null) return say(ctx, t('errors.manager_only'));

    const title = await askText(conversation, ctx, t('surveys.ask_title'), { cancelledKey: 'surveys.cancelled' });
    if (title === null) return;
    const [titleFa, titleEn] = bilingual(title);
    const questions: QuestionDraft[] = [];
    for (;;) {
      const kinds: [string, string][][] = (Object.keys(KIND_LABELS) as SurveyQuestionKind[]).map((k) => [[t(KIND_LABELS[k]), `k:${k}`]]);
      if (questions.length > 0) kinds.push([[t('surveys.finish_questions'), 'done']]);
      kinds.push([[t('till.cancel'), 'cancel']]);
      const choice = await pickButton(conversation, ctx, t('surveys.ask_kind', { n: formatNumber(questions.length + 1, locale) }), kinds);
      if (choice === 'cancel') return say(ctx, t('surveys.cancelled'), { remove_keyboard: true });
      if (choice === 'done') break;
      const kind = choice.slice(2) as SurveyQuestionKind;
      const text = await askText(conversation, ctx, t('surveys.ask_question'), { cancelledKey: 'surveys.cancelled' });
      if (text === null) return;
      const [textFa, textEn] = bilingual(text);
      let options: string[] = [];
      if (kind === 'single' || kind === 'multi') {
        for (;;) {
          const raw = await askText(conversation, ctx, t('surveys.ask_options'), { cancelledKey: 'surveys.cancelled' });
          if (raw === null) return;
          options = raw.split(/[\n,،]/).map((o) => o.trim()).filter(Boolean);
          try {
            checkQuestion({ kind, textFa, textEn, options, optional: false });
            break;
          } catch {
            await say(ctx, t('errors.survey_options_invalid'));
          }
        }
      }
      const optional = (await pickButton(conversation, ctx, t('surveys.ask_optional'), [[[t('surveys.required'), 'req'], [t('surveys.optional_button'), 'opt']]])) === 'opt';
      questions.push({ kind, textFa, textEn, options, optional });
      if (questions.length === 20) break;
    }

    // The club's survey amount (the owner's «event points») is offered as a button.
    const usual = await conversation.external(async () => (await loyaltySettings(deps.db)).events.survey_answered);
    let reward = -1;
    while (reward < 0) {
      const raw = await askText(conversation, ctx, t('surveys.ask_reward'), { cancelledKey: 'surveys.cancelled', extra: [formatNumber(usual, ctx.locale)] });
      if (raw === null) return;
      const n = parseWholeNumber(raw, { max: 100_000 });
      if (n !== null) reward = n;
      else await say(ctx, t('till.points_invalid'));
    }

    const audienceKind = await pickButton(conversation, ctx, t('surveys.ask_audience'), [
      [[t('surveys.audience_all'), 'all']],
      [[t('surveys.audience_tier'), 'tier']],
      [[t('surveys.audience_joined'), 'joined']],
      [[t('surveys.audience_bought'), 'bought']],
      [[t('segbuild.audience_segment'), 'segment']],
    ]);
    let audience: SurveyAudience = { kind: 'all' };
    if (audienceKind === 'tier') {
      const tiers = await conversation.external(async () => (await listTiers(deps.db)).map(({ code, name_fa, name_en }) => ({ code, name_fa, name_en })));
      const code = await pickButton(conversation, ctx, t('surveys.ask_tier'), tiers.map((x) => [[locale === 'fa' ? x.name_fa : x.name_en, x.code]]));
      audience = { kind: 'tier', tier: code };
    } else if (audienceKind === 'joined' || audienceKind === 'bought') {
      let days = 0;
      while (days <= 0) {
        const raw = await askText(conversation, ctx, t('surveys.ask_days'), { cancelledKey: 'surveys.cancelled' });
        if (raw === null) return;
        const n = Number(toLatinDigits(raw));
        if (Number.isSafeInteger(n) && n > 0 && n <= 3650) days = n;
        else await say(ctx, t('surveys.days_invalid'));
      }
      audience = { kind: audienceKind, days };
    } else if (audienceKind === 'segment') {
      const segments = await conversation.external(() => listSegments(deps.db));
      if (segments.length === 0) await say(ctx, t('segbuild.no_segments'));
      else audience = { kind: 'segment', id: Number(await pickButton(conversation, ctx, t('segbuild.pick_segment'), segments.map((x) => [[x.name, String(x.id)]]))) };
    }

    let closesInDays: number | null | undefined;
    while (closesInDays === undefined) {
      const raw = await askText(conversation, ctx, t('surveys.ask_closes'), { extra: [t('signup.skip')], cancelledKey: 'surveys.cancelled' });
      if (raw === null) return;
      if (ctx.isLabel(raw, 'signup.skip')) closesInDays = null;
      else {
        const n = Number(toLatinDigits(raw));
        if (Number.isSafeInteger(n) && n > 0 && n <= 365) closesInDays = n;
        else await say(ctx, t('surveys.days_invalid'));
      }
    }

    const created = await conversation.external(async () => {
      try {
        const closesAt = closesInDays === null ? null : new Date(deps.now().getTime() + closesInDays! * 86_400_000);
        const survey = await createSurvey(deps.db, actor, { titleFa, titleEn, rewardPoints: reward, audience, closesAt, questions }, deps.now());
        return { ok: true as const, id: survey.id };
      } catch (error) {
        if (error instanceof ClubError) return { ok: false as const, key: error.i18nKey };
        throw error;
      }
    });
    if (!created.ok) return say(ctx, t(created.key), { remove_keyboard: true });
    await say(ctx, t('surveys.created', { id: formatNumber(created.id, locale), count: formatNumber(questions.length, locale) }), { remove_keyboard: true });
    await say(ctx, t('surveys.draft_actions'), surveyActions(t, created.id, 'draft'));
  }

  async function answer(conversation: SurveyConversation, ctx: ConversationContext, surveyId: number) {
    const { t, locale } = ctx;
    const loaded = await conversation.external(async () => {
      const memberId = await memberIdOfAccount(deps.db, ctx.adapter.platform, ctx.from!.id);
      if (memberId === null) return null;
      const availability = await surveyAvailability(deps.db, surveyId, memberId, deps.now());
      const data = await surveyWithQuestions(deps.db, surveyId);
      return { memberId, availability, title: data ? (locale === 'en' && data.survey.title_en) || data.survey.title_fa : '', questions: data?.questions ?? [] };
    });
    if (!loaded) return say(ctx, t('errors.not_member'));
    if (loaded.availability !== 'open') {
      const key = loaded.availability === 'answered' ? 'surveys.already_answered' : loaded.availability === 'not_invited' ? 'errors.survey_not_invited' : 'surveys.closed';
      return say(ctx, t(key));
    }

    const answers: SurveyAnswers = {};
    for (const [index, q] of loaded.questions.entries()) {
      const text = (locale === 'en' && q.text_en) || q.text_fa;
      const header = t('surveys.question_header', { n: formatNumber(index + 1, locale), total: formatNumber(loaded.questions.length, locale), text });
      const skipRow = q.optional ? [[{ text: t('signup.skip'), callback_data: 'sa:skip' }]] : [];
      const cancelRow = [{ text: t('till.cancel'), callback_data: 'sa:cancel' }];
      if (q.kind === 'text') {
        await say(ctx, `${header}\n${t('surveys.type_answer')}`, { inline_keyboard: [...skipRow, cancelRow] });
        for (;;) {
          const update = await conversation.wait();
          const data = update.callbackQuery?.data;
          if (data) await update.answerCallbackQuery();
          if (data === 'sa:cancel') return say(update, t('surveys.left'));
          if (data === 'sa:skip' && q.optional) {
            answers[String(q.id)] = null;
            break;
          }
          const reply = update.message?.text?.trim();
          if (reply && reply.length <= MAX_ANSWER_TEXT) {
            answers[String(q.id)] = reply;
            break;
          }
          await say(update, reply ? t('errors.text_too_long', { max: formatNumber(MAX_ANSWER_TEXT, locale) }) : t('surveys.type_answer'));
        }
        continue;
      }
      const choices: { text: string; value: number }[] =
        q.kind === 'rating'
          ? [1, 2, 3, 4, 5].map((n) => ({ text: `${formatNumber(n, locale)}⭐`, value: n }))
          : q.kind === 'nps'
            ? Array.from({ length: 11 }, (_, n) => ({ text: formatNumber(n, locale), value: n }))
            : q.options.map((o, i) => ({ text: o, value: i }));
      const chosen = new Set<number>();
      const keyboard = () => {
        const buttons = choices.map((c) => ({ text: `${q.kind === 'multi' && chosen.has(c.value) ? '✅ ' : ''}${c.text}`, callback_data: `sa:${c.value}` }));
        const rows = q.kind === 'nps' ? [buttons.slice(0, 6), buttons.slice(6)] : q.kind === 'rating' ? [buttons] : buttons.map((b) => [b]);
        return { inline_keyboard: [...rows, ...(q.kind === 'multi' ? [[{ text: t('profile.done'), callback_data: 'sa:done' }]] : []), ...skipRow, cancelRow] };
      };
      const hint = q.kind === 'nps' ? `\n${t('surveys.nps_hint')}` : q.kind === 'multi' ? `\n${t('surveys.multi_hint')}` : '';
      const message = await say(ctx, header + hint, keyboard());
      for (;;) {
        const press = await conversation.waitForCallbackQuery(/^sa:/, { otherwise: (o) => say(o, t('till.use_buttons')) });
        const data = press.callbackQuery.data.slice(3);
        if (data === 'cancel') {
          await press.answerCallbackQuery();
          return say(press, t('surveys.left'));
        }
        if (data === 'skip' && q.optional) {
          await press.answerCallbackQuery();
          answers[String(q.id)] = null;
          break;
        }
        if (data === 'done') {
          if (chosen.size === 0) {
            await press.answerCallbackQuery({ text: t('profile.pick_one') });
            continue;
          }
          await press.answerCallbackQuery();
          answers[String(q.id)] = [...chosen].sort((a, b) => a - b);
          break;
        }
        const value = Number(data);
        if (!choices.some((c) => c.value === value)) {
          await press.answerCallbackQuery({ text: t('surveys.old_button') });
          continue;
        }
        await press.answerCallbackQuery();
        if (q.kind !== 'multi') {
          answers[String(q.id)] = value;
          break;
        }
        if (chosen.has(value)) chosen.delete(value);
        else chosen.add(value);
        if (ctx.adapter.editsKeyboards) await press.api.editMessageReplyMarkup(message.chat.id, message.message_id, { reply_markup: keyboard() }).catch(() => undefined);
        else await say(press, header, keyboard());
      }
    }

    const result = await conversation.external(async () => {
      try {
        return { ok: true as const, ...(await submitSurvey(deps.db, surveyId, loaded.memberId, answers, { now: deps.now(), timeZone: deps.config.timeZone })) };
      } catch (error) {
        if (error instanceof ClubError) return { ok: false as const, key: error.i18nKey };
        throw error;
      }
    });
    if (!result.ok) return say(ctx, t(result.key));
    if (result.duplicate) return say(ctx, t('surveys.already_answered'));
    await say(ctx, result.points > 0 ? t('surveys.thanks_reward', { points: formatNumber(result.points, locale) }) : t('surveys.thanks'));
  }

  return { build, answer };
}
