import type { Conversation } from '@grammyjs/conversations';
import { Keyboard } from 'grammy';
import { clubProfile, nextStep, saveClubProfile, saveSetupProgress, setupProgress, updateBranch, type SetupStep } from '../../club/identity.ts';
import { createStaffInvite, INVITE_PREFIX } from '../../club/invites.ts';
import { effectiveRule, loyaltySettings, saveLoyaltySettings, setEarningRule } from '../../club/rules.ts';
import { staffAtTill } from '../../club/staff.ts';
import { parseMoney, type MoneyUnit } from '../../lib/amount.ts';
import { ruleInWords } from '../money-words.ts';
import { LIMITS } from '../../club/limits.ts';
import type { ClubDeps, Context, ConversationContext, Speech } from '../context.ts';
import type { Label } from '../i18n.ts';
import { say } from '../ui.ts';
import { askText } from './ask.ts';
import { branchById } from '../../club/staff.ts';

export const SETUP = 'setup';

type SetupConversation = Conversation<Context, ConversationContext>;
type Sp = Pick<Speech, 't' | 'locale'>;

/** The earning rules offered as buttons: Rials of spend per point (10,000 / 50,000 / 100,000 Toman). */
const RULE_PRESETS = [100_000, 500_000, 1_000_000];

/**
 * The first-run setup, asked of the owner: the club's name, its first branch (name and address),
 * how money is spoken of (Toman or Rial), the earning rule in words, and a one-time invite link
 * for the first cashier. Each answer is saved at once and the next step is remembered in a
 * settings row, so Cancel (or a command) pauses it and opening it again resumes where it stopped;
 * once finished, opening it again goes through it from the start with the current answers as buttons.
 */
export function createSetup(deps: ClubDeps) {
  return async function setup(conversation: SetupConversation, ctx: ConversationContext) {
    const { t } = ctx;
    const state = await conversation.external(async () => {
      const staff = await staffAtTill(deps.db, ctx.adapter.platform, ctx.from!.id, ['owner']);
      if (!staff) return null;
      const progress = await setupProgress(deps.db);
      return { staffId: staff.memberId, branchId: staff.branchId, progress };
    });
    if (!state) return say(ctx, t('errors.owner_only'));
    let step: SetupStep | null = state.progress.doneAt ? 'name' : state.progress.next;
    await say(ctx, t(step === 'name' ? 'setup.intro' : 'setup.resume'));

    const saveStep = (done: SetupStep) =>
      conversation.external(async () => {
        const next = nextStep(done);
        await saveSetupProgress(deps.db, next ? { next } : { next: 'name', doneAt: deps.now().toISOString() }, state.staffId, deps.now());
        return next;
      });
    /** Asks with these buttons (plus Cancel); returns the label picked, the text typed, or null on Cancel. */
    async function ask(prompt: string, labels: Label[]) {
      const kb = new Keyboard();
      for (const label of labels) kb.text(typeof label === 'string' ? t(label) : label(ctx)).row();
      kb.text(t('till.cancel')).resized();
      const text = await askText(conversation, ctx, prompt, { keyboard: kb, cancelledKey: 'setup.paused', max: 200 });
      if (text === null) return null;
      return { text, picked: labels.find((label) => ctx.isLabel(text, label)) };
    }
    const keep = (value: string) => (sp: Sp) => sp.t('setup.keep', { value });

    while (step !== null) {
      const current = await conversation.external(async () => {
        const profile = await clubProfile(deps.db);
        const branch = (await branchById(deps.db, state.branchId))!;
        const settings = await loyaltySettings(deps.db);
        const rule = await effectiveRule(deps.db, null, deps.now());
        return { name: profile.name, branch: branch.name, address: branch.address ?? '', unit: settings.moneyUnit, rialsPerPoint: rule.rials_per_point };
      });
      if (step === 'name') {
        const answer = await ask(t('setup.ask_name'), current.name ? [keep(current.name)] : []);
        if (!answer) return;
        const name = answer.picked ? current.name : answer.text.slice(0, 64);
        await conversation.external(() => saveClubProfile(deps.db, { name }, state.staffId, deps.now()));
      } else if (step === 'branch') {
        const answer = await ask(t('setup.ask_branch'), [keep(current.branch)]);
        if (!answer) return;
        if (!answer.picked) {
          const saved = await conversation.external(() => attemptKey(() => updateBranch(deps.db, state.staffId, state.branchId, { name: answer.text }, deps.now())));
          if (saved) {
            await say(ctx, t(saved));
            continue;
          }
        }
      } else if (step === 'address') {
        const answer = await ask(t('setup.ask_address'), [...(current.address ? [keep(current.address)] : []), 'signup.skip']);
        if (!answer) return;
        if (!answer.picked) await conversation.external(() => updateBranch(deps.db, state.staffId, state.branchId, { address: answer.text }, deps.now()));
      } else if (step === 'unit') {
        const answer = await ask(t('setup.ask_unit'), ['setup.unit_toman', 'setup.unit_rial']);
        if (!answer) return;
        if (!answer.picked) {
          await say(ctx, t('setup.use_buttons'));
          continue;
        }
        const unit: MoneyUnit = answer.picked === 'setup.unit_rial' ? 'rial' : 'toman';
        await conversation.external(() => saveLoyaltySettings(deps.db, { moneyUnit: unit }, state.staffId, deps.now()));
      } else if (step === 'rule') {
        const unit = current.unit;
        const labels = RULE_PRESETS.map((rials) => (sp: Sp) => ruleInWords(sp, rials, unit));
        const answer = await ask(t(`setup.ask_rule_${unit}`, { current: ruleInWords(ctx, current.rialsPerPoint, unit) }), labels);
        if (!answer) return;
        let rialsPerPoint = answer.picked ? RULE_PRESETS[labels.indexOf(answer.picked as (typeof labels)[number])]! : null;
        if (rialsPerPoint === null) {
          const parsed = parseMoney(answer.text, { bare: unit, max: LIMITS.purchaseRials });
          if (!parsed.ok) {
            await say(ctx, t(`till.amount_format_${unit}`));
            continue;
          }
          rialsPerPoint = parsed.value;
        }
        const chosen = rialsPerPoint;
        await conversation.external(() => setEarningRule(deps.db, state.staffId, null, { rials_per_point: chosen }, deps.now()));
        await say(ctx, t('setup.rule_saved', { rule: ruleInWords(ctx, chosen, unit) }));
      } else {
        const answer = await ask(t('setup.ask_cashier'), ['setup.invite_make', 'setup.invite_later']);
        if (!answer) return;
        if (answer.picked === 'setup.invite_make') {
          const token = await conversation.external(async () => (await createStaffInvite(deps.db, { memberId: state.staffId, role: 'owner' }, 'cashier', state.branchId, deps.now())).token);
          const link = ctx.adapter.deepLink(ctx.me.username, INVITE_PREFIX + token);
          await say(ctx, t('setup.invite_link', { link, branch: current.branch }), { remove_keyboard: true });
        } else if (!answer.picked) {
          await say(ctx, t('setup.use_buttons'));
          continue;
        }
      }
      step = await saveStep(step);
    }
    await say(ctx, t('setup.done'), { remove_keyboard: true });
    await say(ctx, t('setup.done_next'), {
      inline_keyboard: [[{ text: t('setup.open_settings'), callback_data: 'open:settings' }], [{ text: t('menu.main'), callback_data: 'home' }]],
    });
  };
}

/** Runs a write that may refuse with a ClubError; returns the refusal's key, or null when it went through. */
async function attemptKey(fn: () => Promise<unknown>): Promise<string | null> {
  try {
    await fn();
    return null;
  } catch (error) {
    if (error && typeof error === 'object' && 'i18nKey' in error) return String((error as { i18nKey: string }).i18nKey);
    throw error;
  }
}
