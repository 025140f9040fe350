import type { Conversation } from '@grammyjs/conversations';
import { listBranches } from '../../club/staff.ts';
import type { ClubDeps, Context, ConversationContext } from '../context.ts';
import { pickButton } from './ask.ts';

/**
 * "All branches" or one branch, by buttons, for an offer being created (null: every branch).
 * A club with one active branch is not asked.
 */
export async function askOfferBranch(conversation: Conversation<Context, ConversationContext>, ctx: ConversationContext, deps: ClubDeps): Promise<number | null> {
  const branches = await conversation.external(async () => (await listBranches(deps.db)).filter((b) => b.active).map((b) => ({ id: b.id, name: b.name })));
  if (branches.length < 2) return null;
  const choice = await pickButton(conversation, ctx, ctx.t('branch_offers.ask_branch'), [
    [[ctx.t('branch_offers.all_branches'), 'all']],
    ...branches.map((b): [string, string][] => [[b.name, `b${b.id}`]]),
  ]);
  return choice === 'all' ? null : Number(choice.slice(1));
}
