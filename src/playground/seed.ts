import type { ClubDeps } from '../bot/context.ts';
import { joinClub, memberCount } from '../club/members.ts';
import { recordPurchase } from '../club/purchases.ts';
import { listBranches } from '../club/staff.ts';

const DAY_MS = 86_400_000;
export const DEMO_MEMBERS = 200;
const DEMO_DAYS = 90;
/** Seeded members' messenger accounts: far from the playground's people (see personas.ts). */
const DEMO_USER_ID_BASE = 9_000_000_000;

const FIRST_NAMES: [string, 'female' | 'male'][] = [
  ['مریم', 'female'], ['زهرا', 'female'], ['فاطمه', 'female'], ['نرگس', 'female'], ['الهام', 'female'], ['شیما', 'female'],
  ['لیلا', 'female'], ['نازنین', 'female'], ['پریسا', 'female'], ['آزاده', 'female'], ['علی', 'male'], ['محمد', 'male'],
  ['حسین', 'male'], ['مهدی', 'male'], ['امیر', 'male'], ['سعید', 'male'], ['بهرام', 'male'], ['آرش', 'male'], ['پویا', 'male'], ['کاوه', 'male'],
];
const LAST_NAMES = ['احمدی', 'محمدی', 'حسینی', 'رضایی', 'کریمی', 'موسوی', 'جعفری', 'صادقی', 'رحیمی', 'کاظمی', 'نوری', 'قاسمی'];

/** A small deterministic generator: the same demo every time. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SeedResult {
  seeded: boolean;
  members: number;
  purchases: number;
}

/**
 * A café's three months: 200 members who joined over the period, each with a habit (a regular
 * comes weekly, most a few times a month, some once and never again), buying coffee-and-cake
 * amounts at the playground's till. Everything goes through the club's own functions, stamped by
 * the playground's clock moved back to the day it happened, so reports, tiers, segments and
 * win-back see a real history. Runs once: a club that already has that many members is left alone.
 * (`size` is for tests.)
 */
export async function seedDemo(deps: ClubDeps, cashierMemberId: number, size = DEMO_MEMBERS): Promise<SeedResult> {
  if ((await memberCount(deps.db)) >= size) return { seeded: false, members: 0, purchases: 0 };
  const branch = (await listBranches(deps.db))[0];
  if (!branch) throw new Error('the club has no branch');
  const rand = random(1404);
  const end = deps.now().getTime();
  const start = end - DEMO_DAYS * DAY_MS;
  let purchases = 0;
  for (let i = 0; i < size; i++) {
    const [firstName, gender] = FIRST_NAMES[Math.floor(rand() * FIRST_NAMES.length)]!;
    const lastName = LAST_NAMES[Math.floor(rand() * LAST_NAMES.length)]!;
    // More joined early (the launch) than late.
    const joinedAt = new Date(start + Math.floor(rand() ** 1.6 * DEMO_DAYS * 0.95) * DAY_MS + Math.floor(rand() * 10 + 8) * 3_600_000);
    const year = 1970 + Math.floor(rand() * 40);
    const birthDate = `${year}-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;
    const userId = DEMO_USER_ID_BASE + i;
    const { member, created } = await joinClub(
      deps.db,
      { platform: rand() < 0.7 ? 'telegram' : 'bale', userId, chatId: userId },
      { phone: `+98935${String(1_000_000 + i).padStart(7, '0')}`, firstName, lastName, gender, birthDate: rand() < 0.8 ? birthDate : null, locale: 'fa' },
      { signupBonusPoints: deps.config.signupBonusPoints, pointsValidityDays: deps.config.pointsValidityDays, ownerPhones: [], now: joinedAt },
    );
    if (!created) continue;
    const habit = rand();
    const everyDays = habit < 0.15 ? 6 : habit < 0.7 ? 14 : habit < 0.9 ? 30 : Infinity;
    let at = joinedAt.getTime() + Math.floor(rand() * 3_600_000);
    for (let k = 0; at < end; k++) {
      const toman = (8 + Math.floor(rand() * 70)) * 5_000;
      await recordPurchase(
        deps.db,
        { memberId: member.id, branchId: branch.id, cashierMemberId, amountRials: toman * 10, operationId: `demo-${i}-${k}` },
        { now: new Date(at), timeZone: deps.config.timeZone },
      );
      purchases++;
      if (!Number.isFinite(everyDays)) break;
      at += Math.max(1, Math.round(everyDays * (0.5 + rand()))) * DAY_MS + Math.floor((rand() - 0.5) * 6 * 3_600_000);
    }
  }
  return { seeded: true, members: size, purchases };
}
