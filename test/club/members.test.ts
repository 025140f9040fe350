import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinClub } from '../../src/club/members.ts';
import { ledgerViolations } from '../../src/club/ledger.ts';
import { roleOf } from '../../src/club/staff.ts';
import { tierProgress } from '../../src/club/tiers.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const now = new Date('2026-11-22T10:00:00Z');
const policy = { signupBonusPoints: 50, pointsValidityDays: 365, ownerPhones: ['+989120000099'], now };
const tg = (userId: number) => ({ platform: 'telegram' as const, userId, chatId: userId });
const bale = (userId: number) => ({ platform: 'bale' as const, userId, chatId: userId });

describe(`joining the club (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await testDatabase();
  });
  afterAll(() => handle.close());

  it('creates a member with the signup bonus as an expiring lot, exactly once per phone', async () => {
    const first = await joinClub(handle.db, tg(7000000001), { phone: '+989120000001', firstName: 'Sara', birthDate: '1991-08-03', gender: 'female', locale: 'fa' }, policy);
    expect(first.created).toBe(true);
    expect(first.bonus).toBe(50);
    expect(first.member.points_balance).toBe(50);
    expect(first.member.birth_date).toBe('1991-08-03');

    const again = await joinClub(handle.db, tg(7000000001), { phone: '+989120000001', firstName: 'Sara' }, policy);
    expect(again.created).toBe(false);
    expect(again.bonus).toBe(0);
    expect(again.member.id).toBe(first.member.id);

    const entries = await handle.db.selectFrom('ledger_entries').selectAll().where('member_id', '=', first.member.id).execute();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ amount: 50, kind: 'earn', reason: 'signup_bonus', idempotency_key: 'signup:+989120000001' });
    expect(entries[0]!.expires_at!.toISOString()).toBe('2027-11-22T10:00:00.000Z');
    expect(await ledgerViolations(handle.db)).toEqual([]);
  });

  it('links the same phone from the other messenger to the same member', async () => {
    const onTelegram = await joinClub(handle.db, tg(7000000002), { phone: '+989120000002', firstName: 'Ali' }, policy);
    const onBale = await joinClub(handle.db, bale(55502), { phone: '+989120000002', firstName: 'Ali B' }, policy);
    expect(onBale.member.id).toBe(onTelegram.member.id);
    expect(onBale.created).toBe(false);
    const accounts = await handle.db.selectFrom('member_accounts').select(['platform', 'user_id']).where('member_id', '=', onTelegram.member.id).orderBy('platform').execute();
    expect(accounts).toEqual([
      { platform: 'bale', user_id: 55502 },
      { platform: 'telegram', user_id: 7000000002 },
    ]);
  });

  it('pays one bonus when both messengers sign up the same phone at the same moment', async () => {
    const results = await Promise.all([
      joinClub(handle.db, tg(7000000003), { phone: '+989120000003', firstName: 'Reza' }, policy),
      joinClub(handle.db, bale(55503), { phone: '+989120000003', firstName: 'Reza' }, policy),
    ]);
    expect(new Set(results.map((r) => r.member.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const member = await handle.db.selectFrom('members').selectAll().where('phone', '=', '+989120000003').executeTakeFirstOrThrow();
    expect(member.points_balance).toBe(50);
    expect(await ledgerViolations(handle.db, member.id)).toEqual([]);
  });

  it('makes the verified owner phone an owner, and nobody else', async () => {
    const owner = await joinClub(handle.db, tg(7000000099), { phone: '+989120000099', firstName: 'Owner' }, policy);
    expect(owner.role).toBe('owner');
    expect(await roleOf(handle.db, owner.member.id)).toBe('owner');
    const audit = await handle.db.selectFrom('audit_log').selectAll().where('actor_member_id', '=', owner.member.id).execute();
    expect(audit.map((a) => a.action)).toEqual(['staff.owner_bootstrap']);
    const other = await joinClub(handle.db, tg(7000000004), { phone: '+989120000004', firstName: 'Guest' }, policy);
    expect(other.role).toBeNull();
  });

  it('measures tier progress on points earned in the window', async () => {
    const { member } = await joinClub(handle.db, tg(7000000005), { phone: '+989120000005', firstName: 'Nima' }, policy);
    const progress = await tierProgress(handle.db, member, now, 365);
    expect(progress.tier.code).toBe('bronze');
    expect(progress.earned).toBe(50);
    expect(progress.next?.code).toBe('silver');
    expect(progress.toNext).toBe(950);
    // A year and a day later the signup bonus is outside the window.
    const later = await tierProgress(handle.db, member, new Date(now.getTime() + 366 * 86_400_000), 365);
    expect(later.earned).toBe(0);
  });
});
