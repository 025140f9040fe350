import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import { findMemberByPhone, joinClub } from '../../club/members.ts';
import { attributeJoinLink } from '../../club/join-links.ts';
import { recordReferral, refuseReferral } from '../../club/referrals.ts';
import { formatValidUntil } from '../../lib/jalali.ts';
import type { Gender, Locale, Member } from '../../db/schema.ts';
import { parseJalaliBirthday } from '../../lib/jalali.ts';
import { normalizePhone } from '../../lib/phone.ts';
import { formatMoney, formatNumber } from '../../lib/format.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { loadMember } from '../../club/members.ts';
import { homeText, memberNumber } from '../screens.ts';
import { say } from '../ui.ts';
import { LOCALES } from '../i18n.ts';
import { clubProfile, setupProgress } from '../../club/identity.ts';
import { acceptInvite, inviteText } from '../features/setup.ts';
import { createSetup } from './setup.ts';
import type { ClubMenu } from '../menus/main.ts';

export const SIGNUP = 'signup';
const MAX_NAME = 64;

type SignupConversation = Conversation<Context, ConversationContext>;

/**
 * Joining the club: a verified phone number (only the sender's own contact), a name, and
 * optionally a Jalali birthday and gender. Each step is a wait, so the state between steps is
 * what @grammyjs/conversations keeps in Postgres: a restart mid-way resumes at the same question.
 */
/** How the person arrived: through a friend's invitation (r_) or a merchant's join link (j_). */
export interface SignupStart {
  ref?: string;
  link?: string;
  /** A staff invitation (inv_): accepted once the person has joined. */
  invite?: string;
}

export function createSignup(deps: ClubDeps, mainMenu: ClubMenu) {
  const setup = createSetup(deps);
  return async function signup(conversation: SignupConversation, ctx: ConversationContext, start: SignupStart = {}) {
    // The welcome speaks the club's language (see resolveLocale) with a button for the other one;
    // the person's choice holds for the rest of signup and is saved on the member.
    let locale = ctx.locale;
    let t = ctx.t;
    const shareKeyboard = () =>
      new Keyboard()
        .requestContact(t('signup.share_button'))
        .row()
        .text(languageName(deps, otherLocale(locale)))
        .resized();
    const suggestedName = (ctx.from?.first_name ?? '').trim().slice(0, MAX_NAME);

    // The club's name from its settings (setup), when the owner gave one.
    const clubName = await conversation.external(async () => (await clubProfile(deps.db)).name);
    const welcome = () => (clubName ? t('setup.welcome_named', { club: clubName }) : t('signup.welcome'));
    await say(ctx, welcome(), shareKeyboard());

    // 1. Phone number: only a contact whose user_id is the sender's own.
    let phone: string | null = null;
    while (phone === null) {
      const update = await conversation.wait();
      if (update.callbackQuery) {
        await update.answerCallbackQuery({ text: t('signup.finish_first') });
        continue;
      }
      const message = update.message;
      const chosen = LOCALES.find((l) => message?.text === languageName(deps, l));
      if (chosen) {
        locale = chosen;
        t = deps.i18n.getFixedT(locale);
        await say(update, welcome(), shareKeyboard());
        continue;
      }
      const contact = message?.contact;
      if (!contact) {
        await say(update, t('signup.need_contact'), shareKeyboard());
      } else if (contact.user_id === undefined || contact.user_id !== update.from?.id) {
        await say(update, t('signup.contact_not_yours'), shareKeyboard());
      } else {
        phone = normalizePhone(contact.phone_number);
        if (phone === null) await say(update, t('signup.phone_invalid'), shareKeyboard());
      }
    }
    const verifiedPhone = phone;

    // A phone already in the club (e.g. joined on the other messenger) is the same member.
    const existingId = await conversation.external(async () => (await findMemberByPhone(deps.db, verifiedPhone))?.id ?? null);
    if (existingId !== null) {
      const result = await conversation.external(async () => {
        const r = await joinClub(deps.db, accountOf(ctx), { phone: verifiedPhone, firstName: suggestedName || '-', locale }, policy(deps));
        // Already a member through the other messenger: an invitation cannot make them new.
        if (start.ref) await refuseReferral(deps.db, { code: start.ref, platform: ctx.adapter.platform, userId: ctx.from!.id }, 'other_platform', r.member.id, deps.now());
        return { locale: r.member.locale, name: r.member.first_name, preRegistered: r.preRegistered ?? false, bonus: r.bonus, points: r.member.points_balance, credit: r.member.credit_balance };
      });
      const spoken = result.locale ?? locale;
      const speech = { t: deps.i18n.getFixedT(spoken) };
      // Imported, or registered by a cashier: what the club kept for them is theirs now.
      const welcome = result.preRegistered
        ? speech.t(result.bonus > 0 ? 'import.joined_bonus' : 'import.joined', {
            name: result.name,
            points: formatNumber(result.points, spoken),
            credit: formatMoney(result.credit, spoken),
            bonus: formatNumber(result.bonus, spoken),
          })
        : speech.t('signup.linked', { name: result.name });
      await say(ctx, welcome, { remove_keyboard: true });
      return showHome(conversation, ctx, existingId, locale);
    }

    // 2. First name, with the messenger's name as a one-tap answer.
    const nameKeyboard = suggestedName ? new Keyboard().text(suggestedName).resized() : { remove_keyboard: true as const };
    await say(ctx, t('signup.ask_name'), nameKeyboard);
    let firstName: string | null = null;
    while (firstName === null) {
      const update = await conversation.wait();
      const text = update.message?.text?.trim();
      if (update.callbackQuery) await update.answerCallbackQuery({ text: t('signup.finish_first') });
      else if (!text || text.startsWith('/') || text.length > MAX_NAME || !/\p{L}/u.test(text)) {
        await say(update, t('signup.name_invalid', { max: formatNumber(MAX_NAME, locale) }), nameKeyboard);
      } else firstName = text;
    }

    // 3. Birthday in the Jalali calendar (optional).
    const skipKeyboard = new Keyboard().text(t('signup.skip')).resized();
    await say(ctx, t('signup.ask_birthday'), skipKeyboard);
    let birthDate: string | null | undefined;
    while (birthDate === undefined) {
      const update = await conversation.wait();
      const text = update.message?.text?.trim();
      if (update.callbackQuery) {
        await update.answerCallbackQuery({ text: t('signup.finish_first') });
        continue;
      }
      if (ctx.isLabel(text, 'signup.skip')) {
        birthDate = null;
        continue;
      }
      const nowIso = await conversation.external(() => deps.now().toISOString());
      const parsed = parseJalaliBirthday(text ?? '', new Date(nowIso), deps.config.timeZone);
      if (parsed.ok) birthDate = parsed.iso;
      else await say(update, t(`signup.birthday_${parsed.reason}`), skipKeyboard);
    }

    // 4. Gender (optional).
    const genderKeyboard = new Keyboard()
      .text(t('signup.gender_female'))
      .text(t('signup.gender_male'))
      .row()
      .text(t('signup.skip'))
      .resized();
    await say(ctx, t('signup.ask_gender'), genderKeyboard);
    let gender: Gender | null | undefined;
    while (gender === undefined) {
      const update = await conversation.wait();
      const text = update.message?.text?.trim();
      if (update.callbackQuery) await update.answerCallbackQuery({ text: t('signup.finish_first') });
      else if (ctx.isLabel(text, 'signup.gender_female')) gender = 'female';
      else if (ctx.isLabel(text, 'signup.gender_male')) gender = 'male';
      else if (ctx.isLabel(text, 'signup.skip')) gender = null;
      else await say(update, t('signup.gender_invalid'), genderKeyboard);
    }

    const joined = await conversation.external(async () => {
      const r = await joinClub(
        deps.db,
        accountOf(ctx),
        { phone: verifiedPhone, firstName, birthDate, gender, locale },
        policy(deps),
      );
      const env = { now: deps.now(), timeZone: deps.config.timeZone };
      const attempt = start.ref ? { code: start.ref, platform: ctx.adapter.platform, userId: ctx.from!.id } : null;
      let voucher: { percent: number; until: string } | null = null;
      let friendPoints = 0;
      if (attempt && !r.created) {
        await refuseReferral(deps.db, attempt, 'already_member', r.member.id, deps.now());
      } else if (attempt) {
        const outcome = await recordReferral(deps.db, attempt, r.member, env);
        if (outcome && outcome.referral.status !== 'refused') {
          if (outcome.friendVoucher) voucher = { percent: outcome.friendVoucher.percent, until: outcome.friendVoucher.expiresAt.toISOString() };
          friendPoints = outcome.friendPoints;
          deps.notices.kick();
        }
      }
      if (start.link && r.created) await attributeJoinLink(deps.db, r.member.id, start.link);
      return { memberId: r.member.id, name: r.member.first_name, bonus: r.bonus, created: r.created, role: r.role, voucher, friendPoints };
    });
    const number = memberNumber({ id: joined.memberId }, locale);
    await say(
      ctx,
      joined.bonus > 0
        ? t('signup.done', { name: joined.name, number, bonus: formatNumber(joined.bonus, locale) })
        : t('signup.done_no_bonus', { name: joined.name, number }),
      { remove_keyboard: true },
    );
    if (joined.role) await say(ctx, t('signup.role', { role: t(`roles.${joined.role}`) }));
    if (start.invite) {
      const invite = start.invite;
      await say(ctx, inviteText(t, await conversation.external(() => acceptInvite(deps, invite, joined.memberId))));
    }
    if (joined.voucher) {
      await say(ctx, t('referral.friend_voucher', { percent: formatNumber(joined.voucher.percent, locale), until: formatValidUntil(joined.voucher.until, locale, deps.config.timeZone) }));
    } else if (joined.friendPoints > 0) {
      await say(ctx, t('referral.friend_points', { points: formatNumber(joined.friendPoints, locale) }));
    }
    await showHome(conversation, ctx, joined.memberId, locale);
    // The first owner is walked through the club's setup right away (see setup.ts).
    if (joined.role === 'owner' && !(await conversation.external(async () => (await setupProgress(deps.db)).doneAt))) await setup(conversation, ctx);
  };

  async function showHome(conversation: SignupConversation, ctx: ConversationContext, memberId: number, spoken: Locale) {
    const { text, locale, completed } = await conversation.external(async () => {
      const member = await loadMember(deps.db, memberId);
      const locale = member.locale ?? spoken;
      const text = await homeText(deps, member, { locale, t: deps.i18n.getFixedT(locale), adapter: ctx.adapter });
      return { text, locale, completed: member.profile_completed_at !== null };
    });
    // The menu is drawn as the member's own menu will be (its labels are checked on every press).
    const member = { profile_completed_at: completed ? new Date(0) : null } as Member;
    const inline_keyboard = await mainMenu.keyboard({ locale, t: deps.i18n.getFixedT(locale), member });
    await say(ctx, text, { inline_keyboard });
  }
}

function otherLocale(locale: Locale): Locale {
  return LOCALES.find((l) => l !== locale)!;
}

/** A language's name in itself («فارسی», «English»): the label of the button that switches to it. */
function languageName(deps: ClubDeps, locale: Locale) {
  return deps.i18n.getFixedT(locale)(`settings.language_${locale}`);
}

function accountOf(ctx: ConversationContext) {
  return {
    platform: ctx.adapter.platform,
    userId: ctx.from!.id,
    chatId: ctx.chat!.id,
    username: ctx.from?.username ?? null,
  };
}

function policy(deps: ClubDeps) {
  return {
    signupBonusPoints: deps.config.signupBonusPoints,
    pointsValidityDays: deps.config.pointsValidityDays,
    ownerPhones: deps.config.ownerPhones,
    now: deps.now(),
  };
}
