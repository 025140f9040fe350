import type { Context as BaseContext } from 'grammy';
import { clubProfile } from '../club/identity.ts';
import { listBranches } from '../club/staff.ts';
import type { ClubDeps, Speech } from './context.ts';

/** How to reach the club, from its settings: phone, each branch's address, hours and links ('' when none is set). */
export async function clubContactText(ctx: BaseContext & Speech & { deps: ClubDeps }): Promise<string> {
  const { t } = ctx;
  const [profile, branches] = await Promise.all([clubProfile(ctx.deps.db), listBranches(ctx.deps.db)]);
  const lines = [
    ...(profile.phone ? [t('member_card.contact_phone', { phone: profile.phone })] : []),
    ...branches.filter((b) => b.active && b.address).map((b) => t('member_card.contact_address', { branch: b.name, address: b.address! })),
    ...(profile.hours ? [t('member_card.contact_hours', { hours: profile.hours })] : []),
    ...(profile.instagram ? [t('member_card.contact_instagram', { instagram: profile.instagram })] : []),
    ...(profile.website ? [t('member_card.contact_website', { website: profile.website })] : []),
  ];
  if (!lines.length) return '';
  return [profile.name ? t('member_card.contact_title', { club: profile.name }) : '', ...lines].filter(Boolean).join('\n');
}
