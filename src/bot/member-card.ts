import { clubProfile } from '../club/identity.ts';
import type { Member } from '../db/schema.ts';
// The card renderer (canvas, ~20 MB of RSS) is loaded with the first card a process draws (issue 14).
const renderMemberCard: typeof import('../lib/member-card.ts').renderMemberCard = async (...args) => (await import('../lib/member-card.ts')).renderMemberCard(...args);
import type { Context } from './context.ts';
import { memberNumber, tierName } from './screens.ts';
import { tierById } from '../club/tiers.ts';
import { downloadFile } from './http.ts';

/** Logos downloaded from the messenger, by file id (a file id names one file for good). */
const logos = new Map<string, Buffer | null>();
const MAX_LOGO_BYTES = 2_000_000;

async function logoBytes(ctx: Context, fileId: string | undefined): Promise<Buffer | null> {
  if (!fileId) return null;
  if (logos.has(fileId)) return logos.get(fileId)!;
  let bytes: Buffer | null = null;
  try {
    bytes = await downloadFile(ctx.api, fileId, MAX_LOGO_BYTES);
  } catch (error) {
    ctx.deps.logger.warn({ err: error }, 'club logo could not be downloaded; the card is drawn without it');
  }
  logos.set(fileId, bytes);
  return bytes;
}

/** The member card image: club name and logo, the member's name, number and tier colour, and the QR of `link`. */
export async function memberCardImage(ctx: Context, member: Member, link: string): Promise<Buffer> {
  const { db } = ctx.deps;
  const [profile, tier] = await Promise.all([clubProfile(db), tierById(db, member.tier_id).then((t) => t!)]);
  return renderMemberCard({
    clubName: profile.name || ctx.t('member_card.club_fallback'),
    logo: await logoBytes(ctx, profile.logo[ctx.adapter.platform]),
    memberName: [member.first_name, member.last_name].filter(Boolean).join(' '),
    number: memberNumber(member, ctx.locale),
    numberLabel: ctx.t('member_card.number_label'),
    tierName: tierName(tier, ctx.locale),
    tierCode: tier.code,
    qrText: link,
    locale: ctx.locale,
  });
}
