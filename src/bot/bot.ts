import { autoRetry } from '@grammyjs/auto-retry';
import { conversations } from '@grammyjs/conversations';
import { sequentialize } from '@grammyjs/runner';
import { Bot, BotError, GrammyError, HttpError, type Context as BaseContext, type MiddlewareFn, type Transformer } from 'grammy';
import { ACTIVE_RESOLUTION_MS, loadAccountMember, markAccountBlocked, markAccountReachable, touchMember } from '../club/members.ts';
import { ClubError } from '../club/errors.ts';
import { describeDatabaseError, isDatabaseUnavailable } from '../db/database.ts';
import type { Locale, Platform } from '../db/schema.ts';
import type { ClubDeps, Context, ConversationContext } from './context.ts';
import { postgresConversationStorage } from './conversation-storage.ts';
import { createSignup, SIGNUP } from './conversations/signup.ts';
import { commandsLeaveConversations } from './conversations/interrupt.ts';
import { installConversations } from './conversations/registry.ts';
import { memberFeature } from './features/member.ts';
import { staffFeature } from './features/staff.ts';
import { startFeature } from './features/start.ts';
import { unhandledFeature } from './features/unhandled.ts';
import { adminFeature } from './features/admin.ts';
import { auditFeature } from './features/audit.ts';
import { disputesFeature } from './features/disputes.ts';
import { createDisputeConversations, DISPUTE_DISMISS } from './conversations/disputes.ts';
import { growthFeature } from './features/growth.ts';
import { reportsFeature } from './features/reports.ts';
import { ticketsFeature } from './features/tickets.ts';
import { surveyActions, surveysFeature } from './features/surveys.ts';
import { campaignsFeature } from './features/campaigns.ts';
import { vouchersFeature } from './features/vouchers.ts';
import { automationsFeature } from './features/automations.ts';
import { AUTOMATION_EDIT, AUTOMATION_NEW, createAutomationConversations } from './conversations/automations.ts';
import { BROADCAST, createCampaignConversations, SEGMENT_BUILD } from './conversations/campaigns.ts';
import { createVoucherConversations, VOUCHER_CHECK, VOUCHER_POOL_NEW } from './conversations/vouchers.ts';
import { createSurveyConversations, SURVEY_ANSWER, SURVEY_BUILD } from './conversations/surveys.ts';
import { createSatisfactionComment, feedbackFeature, SATISFACTION_COMMENT } from './features/feedback.ts';
import { createTicketConversations, TICKET_NEW, TICKET_REPLY } from './conversations/tickets.ts';
import { profileFeature, profileScreen } from './features/profile.ts';
import { createProfileConversation, PROFILE } from './conversations/profile.ts';
import { tillFeature } from './features/till.ts';
import { walletFeature } from './features/wallet.ts';
import { ADJUST, createAdminConversations, VOID } from './conversations/admin.ts';
import { createLotteryConversations, LOTTERY_NEW } from './conversations/lotteries.ts';
import { lotteriesFeature } from './features/lotteries.ts';
import { createQuizConversations, QUIZ_BUILD } from './conversations/quizzes.ts';
import { quizzesFeature } from './features/quizzes.ts';
import { createNewsConversations, NEWS_POST } from './conversations/news.ts';
import { newsFeature } from './features/news.ts';
import { badgesFeature } from './features/badges.ts';
import { historyFeature } from './features/history.ts';
import { createSegmentConversations, SEGMENT_BUTTONS, SEGMENT_RENAME } from './conversations/segments.ts';
import { CAMPAIGN_EDIT, createCampaignEditConversation } from './conversations/campaign-edit.ts';
import { setupFeature, showClubSettings } from './features/setup.ts';
import { createSetup, SETUP } from './conversations/setup.ts';
import { CLUB_SETTING, createClubSettingConversation } from './conversations/club-settings.ts';
import { panelFeature } from './panel/index.ts';
import { createPanelConversations, PANEL_EDIT, PANEL_FIND } from './panel/conversations.ts';
import { importFeature } from './features/import.ts';
import { createImportConversation, IMPORT } from './conversations/import.ts';
import { walkInFeature } from './features/walk-in.ts';
import { createWalkInConversation, WALK_IN } from './conversations/walk-in.ts';
import { createTillConversations, PURCHASE, REWARD_CODE, SPEND } from './conversations/till.ts';
import { isLabel, rememberingT, resolveLocale } from './i18n.ts';
import { createMenus } from './menus/main.ts';
import { adapterFor, type PlatformAdapter } from './platform.ts';
import { say } from './ui.ts';
import { ClubComposer } from './composer.ts';
import type { FetchConfig } from './network.ts';
import { botApiFetch } from './http.ts';
import { askToRetryLater, onceEach, refuseInvalidText } from './guards.ts';

export interface BotOptions {
  token: string;
  apiRoot: string;
  /** The proxy agent (Telegram from Iran), see network.ts. */
  fetchConfig?: FetchConfig | undefined;
}

/** Bumped when the signup conversation changes shape, so old half-finished states are dropped. */
const CONVERSATION_VERSION = 1;

export function createBot(platform: Platform, options: BotOptions, deps: ClubDeps): Bot<Context> {
  const adapter = adapterFor(platform);
  const bot = new Bot<Context>(options.token, {
    client: { apiRoot: options.apiRoot, fetch: botApiFetch(options.apiRoot, options.fetchConfig?.agent) },
  });
  const log = deps.logger.child({ platform });

  // Obey 429 retry_after (and retry 5xx), but give up rather than sleep for minutes inside an update;
  // and remember who blocked the bot (403). Conversations build their own Api objects, so the same
  // transformers are installed there too (see `speech`).
  const transformers: Transformer[] = [
    // Innermost, so each attempt autoRetry makes is counted (429s) and readiness sees the last success.
    ...(deps.metrics ? [deps.metrics.apiTransformer(platform)] : []),
    autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60 }),
    async (prev, method, payload, signal) => {
      const result = await prev(method, payload, signal);
      const chatId = (payload as { chat_id?: unknown }).chat_id;
      if (!result.ok && result.error_code === 403 && typeof chatId === 'number') {
        await markAccountBlocked(deps.db, platform, chatId, deps.now());
      }
      return result;
    },
  ];
  bot.api.config.use(...transformers);

  const menus = createMenus();
  // One translate function per language, made once rather than per update (issue 14).
  const fixedT = new Map<Locale, Context['t']>();
  const tFor = (locale: Locale) => fixedT.get(locale) ?? fixedT.set(locale, rememberingT(deps.i18n, locale)).get(locale)!;
  // The language clubContext resolved for the update each chat is handling, read by conversations
  // (see `speech`). A chat handles one update at a time (sequentialize), so a map by chat does;
  // an AsyncLocalStorage did this before, but on Node 20 it puts a hook on every promise (issue 14).
  const spoken: Spoken = new Map();

  // Every handler on one ClubComposer: an update goes through them as a list, only until one
  // handles it (grammY's own `bot.use` nests them, so every update would descend through all of them).
  const club = new ClubComposer<Context>();
  bot.use(club);
  if (deps.metrics) club.use(deps.metrics.middleware(platform));
  club.use(sequentialize((ctx: BaseContext) => ctx.chat?.id.toString() ?? ctx.from?.id.toString()));
  club.use(onceEach(platform, deps));
  club.use(clubContext(platform, adapter, deps, spoken, tFor));
  club.use(refuseInvalidText());
  club.use(
    conversations<Context, ConversationContext>({
      storage: { type: 'context', version: CONVERSATION_VERSION, adapter: postgresConversationStorage(deps.db, platform) },
    }),
  );
  club.use(commandsLeaveConversations());
  const till = createTillConversations(deps);
  const admin = createAdminConversations(deps);
  const tickets = createTicketConversations(deps);
  const surveys = createSurveyConversations(deps, surveyActions);
  const campaigns = createCampaignConversations(deps);
  const segmentConversations = createSegmentConversations(deps);
  const vouchers = createVoucherConversations(deps);
  const automations = createAutomationConversations(deps);
  const panel = createPanelConversations(deps);
  club.use(
    installConversations(
      [
        { id: SIGNUP, builder: createSignup(deps, menus.main) },
        { id: PURCHASE, builder: till.purchase },
        { id: SPEND, builder: till.spend },
        { id: REWARD_CODE, builder: till.rewardCode },
        { id: VOID, builder: admin.voidConversation },
        { id: ADJUST, builder: admin.adjustConversation },
        { id: DISPUTE_DISMISS, builder: createDisputeConversations(deps).dismiss },
        { id: PROFILE, builder: createProfileConversation(deps, (memberId, sp) => profileScreen(deps, deps.db, memberId, sp)) },
        { id: TICKET_NEW, builder: tickets.newTicket },
        { id: TICKET_REPLY, builder: tickets.reply },
        { id: SATISFACTION_COMMENT, builder: createSatisfactionComment(deps) },
        { id: SURVEY_BUILD, builder: surveys.build },
        { id: SURVEY_ANSWER, builder: surveys.answer },
        { id: SEGMENT_BUILD, builder: campaigns.buildSegment },
        { id: BROADCAST, builder: campaigns.broadcast },
        { id: SEGMENT_BUTTONS, builder: segmentConversations.buildByButtons },
        { id: SEGMENT_RENAME, builder: segmentConversations.rename },
        { id: CAMPAIGN_EDIT, builder: createCampaignEditConversation(deps) },
        { id: VOUCHER_POOL_NEW, builder: vouchers.newPool },
        { id: VOUCHER_CHECK, builder: vouchers.check },
        { id: AUTOMATION_EDIT, builder: automations.edit },
        { id: AUTOMATION_NEW, builder: automations.create },
        { id: LOTTERY_NEW, builder: createLotteryConversations(deps).create },
        { id: QUIZ_BUILD, builder: createQuizConversations(deps).build },
        { id: NEWS_POST, builder: createNewsConversations(deps).post },
        { id: SETUP, builder: createSetup(deps) },
        { id: CLUB_SETTING, builder: createClubSettingConversation(deps, (ctx) => showClubSettings(ctx, deps)) },
        { id: PANEL_FIND, builder: panel.find },
        { id: PANEL_EDIT, builder: panel.edit },
        { id: IMPORT, builder: createImportConversation(deps) },
        { id: WALK_IN, builder: createWalkInConversation(deps) },
      ],
      [speech(adapter, deps, transformers, spoken, tFor)],
    ),
  );
  club.use(menus.main);
  club.use(startFeature(menus));
  club.use(memberFeature(menus));
  club.use(walletFeature());
  club.use(disputesFeature());
  club.use(profileFeature());
  club.use(ticketsFeature());
  club.use(feedbackFeature());
  club.use(surveysFeature());
  club.use(campaignsFeature());
  club.use(vouchersFeature());
  club.use(automationsFeature());
  club.use(lotteriesFeature());
  club.use(quizzesFeature());
  club.use(newsFeature());
  club.use(badgesFeature());
  club.use(historyFeature());
  club.use(setupFeature());
  club.use(staffFeature());
  club.use(tillFeature());
  club.use(adminFeature());
  club.use(auditFeature());
  club.use(growthFeature());
  club.use(reportsFeature());
  club.use(panelFeature());
  club.use(importFeature());
  club.use(walkInFeature());
  club.use(unhandledFeature(menus));

  bot.catch(async (error: BotError<Context>) => {
    const ctx = error.ctx;
    const cause = error.error;
    if (cause instanceof ClubError) {
      await say(ctx, ctx.t(cause.i18nKey, cause.params)).catch(() => undefined);
      return;
    }
    // With long polling the update is already confirmed: nothing will bring it back, so the
    // person is asked to send it again (see README, "a database outage").
    if (isDatabaseUnavailable(cause)) {
      log.warn({ db: describeDatabaseError(cause), update_id: ctx.update.update_id }, 'database unavailable; asked to try again later');
      await askToRetryLater(ctx, adapter, deps);
      return;
    }
    const kind = cause instanceof GrammyError ? 'api_refused' : cause instanceof HttpError ? 'network' : 'bug';
    log.error({ err: cause, kind, update_id: ctx.update.update_id }, 'update failed');
    if (ctx.chat && typeof ctx.t === 'function') await say(ctx, ctx.t('errors.generic')).catch(() => undefined);
  });

  return bot;
}

/** The language each chat's current update is handled in, by `speakerKey`. */
type Spoken = Map<string, Locale>;
const speakerKey = (ctx: BaseContext) => String(ctx.chatId ?? ctx.from?.id);

/** Puts the club on the context: dependencies, the member and their role, and their language. */
function clubContext(platform: Platform, adapter: PlatformAdapter, deps: ClubDeps, spoken: Spoken, tFor: (locale: Locale) => Context['t']): MiddlewareFn<Context> {
  return async (ctx, next) => {
    ctx.deps = deps;
    ctx.adapter = adapter;
    const from = ctx.from;
    // onceEach read the member with the update's first statement; the fallback serves updates it skipped.
    const loaded = ctx.intake ? ctx.intake.account : from ? await loadAccountMember(deps.db, platform, from.id) : undefined;
    ctx.member = loaded?.member ?? null;
    ctx.role = loaded?.role ?? null;
    ctx.locale = resolveLocale(ctx.member, from?.language_code, deps.config);
    ctx.t = tFor(ctx.locale);
    if (loaded) {
      if (loaded.blocked) await markAccountReachable(deps.db, platform, from!.id);
      // last_active_at is kept to the 5 minutes (see touchMember): no UPDATE round trip per update.
      const now = deps.now();
      if (now.getTime() - loaded.member.last_active_at.getTime() >= ACTIVE_RESOLUTION_MS) await touchMember(deps.db, loaded.member.id, now);
    }
    const chat = speakerKey(ctx);
    spoken.set(chat, ctx.locale);
    try {
      await next();
    } finally {
      spoken.delete(chat);
    }
  };
}

/**
 * Inside conversations: the API's transformers, the language and platform manners, without touching
 * the database. The language is the one clubContext just resolved for this update (the member's saved
 * choice, read fresh on every update, so a restart or a change made in another chat is followed):
 * every context of the replay gets it, and typed answers are matched in any language (`isLabel`),
 * so the replay takes the path it took when those answers arrived.
 */
function speech(
  adapter: PlatformAdapter,
  deps: ClubDeps,
  transformers: Transformer[],
  spoken: Spoken,
  tFor: (locale: Locale) => Context['t'],
): MiddlewareFn<ConversationContext> {
  return (ctx, next) => {
    ctx.api.config.use(...transformers);
    ctx.adapter = adapter;
    // Conversations are only resumed from inside clubContext; the fallback is the same resolution.
    ctx.locale = spoken.get(speakerKey(ctx)) ?? resolveLocale(null, ctx.from?.language_code, deps.config);
    ctx.t = tFor(ctx.locale);
    ctx.isLabel = (text, label) => isLabel(deps.i18n, text, label);
    return next();
  };
}
