import type { Lottery, Locale } from '../db/schema.ts';
import { loadLottery, type LotteryProof } from '../club/lotteries.ts';
import { newsById } from '../club/news.ts';
import { quizWithQuestionCount } from '../club/quizzes.ts';
import type { Quiz } from '../db/schema.ts';
import { formatNumber } from '../lib/format.ts';
import { formatDate } from '../lib/jalali.ts';
import type { ClubDeps, Speech } from './context.ts';
import { howText, periodText, prizesText, winnersText } from './lottery-text.ts';
import { newsText } from './features/news.ts';

/**
 * Campaigns the club writes itself (a lottery's announcement and result, a quiz, a pushed news
 * post) are stored as a reference (`announce:lottery:12`) and written out for each member in their
 * own language when sent; a manager's own campaign text is sent as typed.
 */
export const ANNOUNCEMENT_TEXT = 'announce:';
export type AnnouncementKind = 'lottery' | 'lottery_result' | 'quiz' | 'news';

export const announcementRef = (kind: AnnouncementKind, id: number) => `${ANNOUNCEMENT_TEXT}${kind}:${id}`;

type Lang = Pick<Speech, 't' | 'locale'>;
type Deps = Pick<ClubDeps, 'db' | 'i18n' | 'config'>;

/** Plain text (campaigns are escaped as a whole when rendered): values are not HTML-escaped. */
function plainLang(deps: Pick<ClubDeps, 'i18n'>, locale: Locale): Lang {
  const t = deps.i18n.getFixedT(locale);
  const plain = ((key: string, options?: Record<string, unknown>) => t(key, { ...options, interpolation: { escapeValue: false } })) as Speech['t'];
  return { t: plain, locale };
}

/** The announcement at creation: the rules and the commitment to the seed. */
export function lotteryAnnouncement(deps: Pick<ClubDeps, 'i18n' | 'config'>, lottery: Lottery, locale: Locale): string {
  const lang = plainLang(deps, locale);
  return lang.t('lotteries.announce', {
    title: lottery.title,
    id: formatNumber(lottery.id, locale),
    period: periodText(lottery, lang, deps.config.timeZone),
    how: howText(lottery, lang),
    prizes: prizesText(lottery.prizes, lang),
    commitment: lottery.commitment,
  });
}

/** The result: winners by member number, the list digest, the seed and the commitment it opens. */
export function resultAnnouncement(deps: Pick<ClubDeps, 'i18n'>, lottery: Lottery, proof: LotteryProof, locale: Locale): string {
  const lang = plainLang(deps, locale);
  return lang.t('lotteries.result', {
    title: lottery.title,
    id: formatNumber(lottery.id, locale),
    winners: winnersText(proof.prizes, proof.winners, lang),
    digest: proof.list_digest,
    seed: proof.seed,
    commitment: proof.commitment,
  });
}

/** A quiz's announcement. */
export function quizAnnouncement(deps: Pick<ClubDeps, 'i18n' | 'config'>, quiz: Quiz, questions: number, locale: Locale): string {
  const { t } = plainLang(deps, locale);
  return t('quizzes.announce', {
    title: quiz.title,
    count: formatNumber(questions, locale),
    points: formatNumber(quiz.points_per_answer, locale),
    until: formatDate(quiz.closes_at, locale, deps.config.timeZone),
  });
}

/**
 * What a campaign whose text is a reference says, in a given language (loaded once per campaign);
 * null when the text is not a reference or what it names is gone.
 */
export async function loadAnnouncement(deps: Deps, text: string): Promise<((locale: Locale) => string) | null> {
  if (!text.startsWith(ANNOUNCEMENT_TEXT)) return null;
  const [kind, idText] = text.slice(ANNOUNCEMENT_TEXT.length).split(':');
  const id = Number(idText);
  if (!Number.isSafeInteger(id)) return null;
  if (kind === 'lottery' || kind === 'lottery_result') {
    const lottery = await loadLottery(deps.db, id).catch(() => null);
    if (!lottery) return null;
    if (kind === 'lottery') return (locale) => lotteryAnnouncement(deps, lottery, locale);
    if (!lottery.proof) return null;
    return (locale) => resultAnnouncement(deps, lottery, lottery.proof as LotteryProof, locale);
  }
  if (kind === 'quiz') {
    const found = await quizWithQuestionCount(deps.db, id);
    return found ? (locale) => quizAnnouncement(deps, found.quiz, found.questions, locale) : null;
  }
  if (kind === 'news') {
    const news = await newsById(deps.db, id);
    return news ? (locale) => newsText(news, plainLang(deps, locale), deps.config.timeZone, false) : null;
  }
  return null;
}
