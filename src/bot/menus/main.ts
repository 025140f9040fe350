import { Menu } from '@grammyjs/menu';
import { InputFile } from 'grammy';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import QRCode from 'qrcode';
import { applyEventRule } from '../../club/events.ts';
import { setMarketingOptIn, setMemberLocale } from '../../club/members.ts';
import { formatNumber, formatRials } from '../../lib/format.ts';
import type { Locale, Member } from '../../db/schema.ts';
import { signCardToken } from '../../lib/card-token.ts';
import type { Context } from '../context.ts';
import { homeText, formatTime, memberNumber, pointsText } from '../screens.ts';
import { say, showScreen } from '../ui.ts';
import { REFERRAL_PREFIX, referralSettings } from '../../club/referrals.ts';
import { htmlToPlain } from '../platform.ts';
import { showConvert, showRewards } from '../features/wallet.ts';
import { sendProfile } from '../features/profile.ts';
import { showContact } from '../features/tickets.ts';
import { showLotteries } from '../features/lotteries.ts';
import { showNews } from '../features/news.ts';
import { showHistory } from '../features/history.ts';
import { memberCardImage } from '../member-card.ts';
import { showPanel } from '../panel/index.ts';

export const CARD_PAYLOAD_PREFIX = 'c_';

type Drawing = Pick<Context, 't' | 'locale' | 'member'> & { role?: Context['role'] };

/**
 * A menu that can also be drawn outside the menu middleware (from inside a conversation), and,
 * given `shape`, is drawn once per shape: `shape` must name everything its labels and buttons
 * depend on (issue 14: the home menu was drawn, thirteen labels and their hashes, on every /menu).
 */
export class ClubMenu extends Menu<Context> {
  private readonly drawn = new Map<string, Promise<InlineKeyboardButton[][]>>();

  constructor(id: string, options: ConstructorParameters<typeof Menu<Context>>[1], private readonly shape?: (speech: Drawing) => string) {
    super(id, options);
  }

  /** Only `ctx.t`, `ctx.locale`, `ctx.member` and `ctx.role` are read while drawing the club's menus. */
  keyboard(speech: Drawing): Promise<InlineKeyboardButton[][]> {
    if (!this.shape) return this.render(speech as Context);
    const key = this.shape(speech);
    let keyboard = this.drawn.get(key);
    if (!keyboard) {
      keyboard = this.render(speech as Context);
      this.drawn.set(key, keyboard);
      keyboard.catch(() => this.drawn.delete(key));
    }
    return keyboard;
  }

  /** The menu as a message's markup, drawn as `keyboard` draws it. */
  async markup(speech: Drawing): Promise<InlineKeyboardMarkup> {
    return { inline_keyboard: await this.keyboard(speech) };
  }
}

export interface ClubMenus {
  main: ClubMenu;
  showHome(ctx: Context): Promise<void>;
  sendCard(ctx: Context, member: Member): Promise<void>;
  showPoints(ctx: Context, member: Member): Promise<void>;
}

/** Handlers below run for members only; an old menu pressed by a non-member gets /start. */
async function requireMember(ctx: Context): Promise<Member | null> {
  if (ctx.member) return ctx.member;
  await ctx.answerCallbackQuery({ text: ctx.t('errors.not_member'), show_alert: true }).catch(() => undefined);
  return null;
}

export function createMenus(): ClubMenus {
  const outdated = async (ctx: Context) => {
    await ctx.answerCallbackQuery({ text: ctx.t('menu.outdated') });
    await showHome(ctx);
  };
  const options = { onMenuOutdated: outdated, autoAnswer: true };

  // The home menu's labels depend on the language, whether the profile is complete, and whether
  // the member is staff (the panel's button): drawn once for each (see ClubMenu). A label that
  // reads anything else must be added to this shape.
  const main = new ClubMenu('main', options, (ctx) => `${ctx.locale}:${ctx.member && !ctx.member.profile_completed_at ? 'incomplete' : 'complete'}:${ctx.role ? 'staff' : 'member'}`);
  const points = new Menu<Context>('points', options);
  const back = new Menu<Context>('back', options);
  const settings = new Menu<Context>('settings', options);
  const card = new Menu<Context>('card', options);

  async function showHome(ctx: Context) {
    if (!ctx.member) {
      await say(ctx, ctx.t('errors.not_member'));
      return;
    }
    await showScreen(ctx, await homeText(ctx.deps, ctx.member, ctx, ctx.intake?.tier), await main.markup(ctx));
  }

  async function showSettings(ctx: Context, member: Member) {
    const text = ctx.t('settings.body', {
      language: ctx.t(`settings.language_${ctx.locale}`),
      offers: ctx.t(member.marketing_opt_in ? 'settings.offers_on' : 'settings.offers_off'),
    });
    await showScreen(ctx, text, settings);
  }

  async function sendCard(ctx: Context, member: Member) {
    const { deps } = ctx;
    const now = deps.now();
    const ttl = deps.config.cardTokenTtlMinutes * 60;
    const token = signCardToken(member.id, deps.cardSecret, now, ttl);
    const link = ctx.adapter.deepLink(ctx.me.username, CARD_PAYLOAD_PREFIX + token);
    const png = await memberCardImage(ctx, member, link);
    const { text, parse_mode } = ctx.adapter.render(
      ctx.t('card.caption', {
        name: member.first_name,
        number: memberNumber(member, ctx.locale),
        until: formatTime(new Date(now.getTime() + ttl * 1000), ctx.locale, deps.config.timeZone),
      }),
    );
    await ctx.replyWithPhoto(new InputFile(png, 'card.png'), {
      caption: text,
      ...(parse_mode ? { parse_mode } : {}),
      reply_markup: card,
    });
  }

  main
    .text((ctx) => ctx.t('menu.points'), async (ctx) => {
      const member = await requireMember(ctx);
      if (member) await showScreen(ctx, await pointsText(ctx.deps, member, ctx), points);
    })
    .text((ctx) => ctx.t('menu.card'), async (ctx) => {
      const member = await requireMember(ctx);
      if (member) await sendCard(ctx, member);
    })
    .row()
    .text((ctx) => ctx.t('menu.rewards'), showRewards)
    .text((ctx) => ctx.t('menu.convert'), showConvert)
    .row()
    .text((ctx) => ctx.t('menu.invite'), async (ctx) => {
      const member = await requireMember(ctx);
      if (member) await sendInvite(ctx, member);
    })
    .text((ctx) => ctx.t('menu.settings'), async (ctx) => {
      const member = await requireMember(ctx);
      if (member) await showSettings(ctx, member);
    })
    .row()
    .text(
      (ctx) => (ctx.member && !ctx.member.profile_completed_at ? ctx.t('menu.profile_incomplete') : ctx.t('menu.profile')),
      async (ctx) => {
        const member = await requireMember(ctx);
        if (member) await sendProfile(ctx, member.id);
      },
    )
    .text((ctx) => ctx.t('history.menu'), (ctx) => showHistory(ctx))
    .row()
    .text((ctx) => ctx.t('menu.lotteries'), showLotteries)
    .text((ctx) => ctx.t('menu.news'), (ctx) => showNews(ctx))
    .row()
    .text((ctx) => ctx.t('menu.contact'), showContact)
    .text((ctx) => ctx.t('menu.help'), async (ctx) => {
      await showScreen(ctx, ctx.t('help.body'), back);
    })
    // Staff only: the panel (drawn from inside a conversation there is no role, and no button).
    .dynamic((ctx, range) => {
      if ((ctx as Partial<Context>).role) range.row().text((c) => c.t('panel.open'), showPanel);
    });

  points
    .text((ctx) => ctx.t('menu.refresh'), async (ctx) => {
      const member = await requireMember(ctx);
      // ctx.member was read by this update's first statement: no need to read it again.
      if (member) await showScreen(ctx, await pointsText(ctx.deps, member, ctx), points);
    })
    .text((ctx) => ctx.t('menu.back'), showHome);

  back.text((ctx) => ctx.t('menu.back'), showHome);

  const switchLocale = (locale: Locale) => async (ctx: Context) => {
    const member = await requireMember(ctx);
    if (!member) return;
    await setMemberLocale(ctx.deps.db, member.id, locale);
    ctx.locale = locale;
    ctx.t = ctx.deps.i18n.getFixedT(locale);
    await showSettings(ctx, { ...member, locale });
  };
  settings
    .text((ctx) => (ctx.locale === 'fa' ? '✅ ' : '') + ctx.t('settings.language_fa'), switchLocale('fa'))
    .text((ctx) => (ctx.locale === 'en' ? '✅ ' : '') + ctx.t('settings.language_en'), switchLocale('en'))
    .row()
    .text(
      (ctx) => ctx.t(ctx.member?.marketing_opt_in === false ? 'settings.turn_offers_on' : 'settings.turn_offers_off'),
      async (ctx) => {
        const member = await requireMember(ctx);
        if (!member) return;
        const optIn = !member.marketing_opt_in;
        await setMarketingOptIn(ctx.deps.db, member.id, optIn);
        // A negative rule may take points for turning offers off: once per member, never below zero.
        const penalty = optIn ? undefined : await applyEventRule(ctx.deps.db, member.id, 'offers_opt_out', String(member.id), { now: ctx.deps.now(), timeZone: ctx.deps.config.timeZone });
        if (penalty && penalty.points < 0) await say(ctx, ctx.t('settings.opt_out_penalty', { points: formatNumber(-penalty.points, ctx.locale) }));
        ctx.member = { ...member, marketing_opt_in: optIn };
        await showSettings(ctx, ctx.member);
      },
    )
    .row()
    .text((ctx) => ctx.t('menu.back'), showHome);

  card
    .text((ctx) => ctx.t('card.refresh'), async (ctx) => {
      const member = await requireMember(ctx);
      if (member) await sendCard(ctx, member);
    })
    .text((ctx) => ctx.t('menu.main'), async (ctx) => {
      // The card is a photo: the menu comes as a new message below it.
      if (ctx.member) await say(ctx, await homeText(ctx.deps, ctx.member, ctx, ctx.intake?.tier), await main.markup(ctx));
    });

  main.register([points, back, settings, card]);

  /** The member's invitation: a QR of their link, the link, a share button, and a text to forward. */
  async function sendInvite(ctx: Context, member: Member) {
    const settings = await referralSettings(ctx.deps.db);
    const link = ctx.adapter.deepLink(ctx.me.username, REFERRAL_PREFIX + member.referral_code);
    const png = await QRCode.toBuffer(link, { type: 'png', width: 480, margin: 2, errorCorrectionLevel: 'M' });
    const gift =
      settings.friendReward === 'voucher'
        ? ctx.t('invite.gift_voucher', { percent: formatNumber(settings.friendDiscountPercent, ctx.locale) })
        : ctx.t('invite.gift_points', { points: formatNumber(settings.friendPoints, ctx.locale) });
    const reward =
      settings.inviterWhen === 'signup'
        ? ctx.t('invite.reward_signup', { points: formatNumber(settings.inviterPoints, ctx.locale) })
        : ctx.t('invite.reward_purchase', { points: formatNumber(settings.inviterPoints, ctx.locale), min: formatRials(settings.inviterMinPurchase, ctx.locale) });
    const invitation = ctx.t('invite.forward_text', { name: member.first_name, gift, link });
    const share = ctx.adapter.shareUrl(link, htmlToPlain(ctx.t('invite.share_text', { gift })));
    const { text, parse_mode } = ctx.adapter.render(ctx.t('invite.caption', { link, gift, reward }));
    await ctx.replyWithPhoto(new InputFile(png, 'invite.png'), {
      caption: text,
      ...(parse_mode ? { parse_mode } : {}),
      reply_markup: {
        inline_keyboard: [
          ...(share ? [[{ text: ctx.t('invite.share'), url: share }]] : []),
          [{ text: ctx.t('invite.mine'), callback_data: 'invites' }],
          [{ text: ctx.t('menu.main'), callback_data: 'home' }],
        ],
      },
    });
    await say(ctx, invitation);
  }
  return {
    main,
    showHome,
    sendCard,
    showPoints: async (ctx, member) => showScreen(ctx, await pointsText(ctx.deps, member, ctx), points),
  };
}
