import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClubError } from '../../src/club/errors.ts';
import { joinClub } from '../../src/club/members.ts';
import { saveSegment } from '../../src/club/segments.ts';
import {
  checkVoucher,
  createPool,
  displayCode,
  newVoucherCode,
  normalizeCode,
  parseCodeFile,
  parseDiscount,
  redeemVoucher,
  undoVoucher,
  type PoolInput,
} from '../../src/club/vouchers.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import { STRICT_ALPHABET } from '../../src/lib/codes.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

const now = new Date('2026-12-20T10:00:00Z');
const day = 86_400_000;

async function reason(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ClubError) return error.i18nKey;
    throw error;
  }
  return 'ok';
}

describe('voucher codes and discounts', () => {
  it('makes readable codes with no look-alike characters', () => {
    const codes = Array.from({ length: 2000 }, newVoucherCode);
    expect(new Set(codes).size).toBe(2000);
    for (const c of codes) {
      expect(c).toMatch(/^[A-Z0-9]{8}$/);
      for (const ch of c) expect(STRICT_ALPHABET).toContain(ch);
      expect(c).not.toMatch(/[01OILZSB258]/);
    }
    expect(displayCode('ACDEFG34')).toBe('ACDE-FG34');
    expect(normalizeCode(' acde-fg۳۴ ')).toBe('ACDEFG34');
  });

  it('reads a percent or a Rial amount, and nothing else', () => {
    expect(parseDiscount('20%')).toEqual({ kind: 'percent', value: 20 });
    expect(parseDiscount('۲۰٪')).toEqual({ kind: 'percent', value: 20 });
    expect(parseDiscount('500,000')).toEqual({ kind: 'rials', value: 500_000 });
    expect(parseDiscount('۵۰۰٬۰۰۰ ریال')).toEqual({ kind: 'rials', value: 500_000 });
    for (const bad of ['0%', '101%', '0', '-5', 'abc', '', '20%%']) expect(parseDiscount(bad), bad).toBeNull();
  });

  it('takes the first column of a CSV or each line of a TXT, skipping a header and reporting junk', () => {
    expect(parseCodeFile('code,note\nAB12CD,first\nab-99-zz,second\n\n??,bad\n')).toEqual({ codes: ['AB12CD', 'AB99ZZ'], rejected: 1 });
    expect(parseCodeFile('\uFEFFYALDA001\r\nYALDA002\r\n')).toEqual({ codes: ['YALDA001', 'YALDA002'], rejected: 0 });
    // An unclosed quote would swallow the rest of the file into one field: no codes, and the line at fault.
    expect(parseCodeFile('code\nAB12CD\n"EF34GH\nIJ56KL\n')).toEqual({ codes: [], rejected: 0, malformedLines: [3] });
    expect(parseCodeFile('code\r\nAB12CD\r\nEF"34"GH\r\n"IJ56"KL\r\n').malformedLines).toEqual([3, 4]);
    expect(parseCodeFile('code\n"AB12CD"\n').codes).toEqual(['AB12CD']);
  });
});

describe(`voucher pools and redemption (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  let owner: number;
  let cashier: number;
  const members: number[] = [];
  const pool = (over: Partial<PoolInput> = {}): PoolInput => ({
    name: 'Yalda',
    discount: { kind: 'percent', value: 20 },
    validFrom: new Date(now.getTime() - day),
    validTo: new Date(now.getTime() + 7 * day),
    perMemberLimit: 1,
    segmentId: null,
    ...over,
  });
  const redeem = (code: string, memberId: number | null, at = now) => redeemVoucher(handle.db, { code, memberId, staffMemberId: cashier, branchId: null, now: at });

  beforeAll(async () => {
    handle = await testDatabase();
    const policy = { signupBonusPoints: 0, pointsValidityDays: 365, ownerPhones: ['+989125550000'], now };
    owner = (await joinClub(handle.db, { platform: 'telegram', userId: 5550000, chatId: 5550000 }, { phone: '+989125550000', firstName: 'Owner' }, policy)).member.id;
    cashier = owner;
    for (let i = 1; i <= 4; i++) {
      const { member } = await joinClub(
        handle.db,
        { platform: 'telegram', userId: 5550000 + i, chatId: 5550000 + i },
        { phone: `+98912555000${i}`, firstName: `V${i}`, gender: i % 2 ? 'female' : 'male' },
        policy,
      );
      members.push(member.id);
    }
  });
  afterAll(() => handle.close());

  it('uploads codes, counting repeats and codes that another pool already has', async () => {
    const first = await createPool(handle.db, owner, pool({ name: 'Upload' }), { upload: ['UPA1', 'UPA2', 'UPA2', 'UPA3'] }, now);
    expect(first).toMatchObject({ codes: 3, duplicates: 1 });
    const second = await createPool(handle.db, owner, pool({ name: 'Upload 2' }), { upload: ['UPA3', 'UPB1'] }, now);
    expect(second).toMatchObject({ codes: 1, duplicates: 1 });
    expect(await reason(() => createPool(handle.db, owner, pool({ name: 'Empty' }), { upload: ['UPA1'] }, now))).toBe('errors.voucher_no_codes');
    // Nothing of a refused pool stays behind.
    expect(await handle.db.selectFrom('voucher_pools').select('id').where('name', '=', 'Empty').execute()).toEqual([]);
    expect(await reason(() => createPool(handle.db, owner, pool({ validTo: new Date(now.getTime() - 2 * day) }), { generate: 1 }, now))).toBe('errors.voucher_window');
  });

  it('refuses a used, early, expired or foreign code with the reason, and changes nothing', async () => {
    const { pool: p } = await createPool(handle.db, owner, pool({ name: 'Reasons' }), { generate: 3 }, now);
    const [a, b] = await handle.db.selectFrom('voucher_codes').select('code').where('pool_id', '=', p.id).orderBy('id').execute();
    await handle.db.updateTable('voucher_codes').set({ member_id: members[0]! }).where('code', '=', b!.code).execute();

    expect(await reason(() => checkVoucher(handle.db, 'NOPE1234', null, now))).toBe('errors.voucher_unknown');
    expect(await reason(() => checkVoucher(handle.db, a!.code, null, new Date(now.getTime() - 2 * day)))).toBe('errors.voucher_not_yet');
    expect(await reason(() => checkVoucher(handle.db, a!.code, null, new Date(now.getTime() + 8 * day)))).toBe('errors.voucher_expired');
    expect(await reason(() => redeem(b!.code, members[1]!))).toBe('errors.voucher_foreign');
    expect((await handle.db.selectFrom('voucher_codes').select('redeemed_at').where('code', '=', b!.code).executeTakeFirstOrThrow()).redeemed_at).toBeNull();

    // Typed the way a cashier might: lower case with a dash.
    const done = await redeem(displayCode(b!.code).toLowerCase(), members[0]!);
    expect(done.code.redeemed_member_id).toBe(members[0]!);
    expect(await reason(() => redeem(b!.code, members[0]!))).toBe('errors.voucher_used');
    // One per member in this pool: the same member's second code is refused.
    expect(await reason(() => redeem(a!.code, members[0]!))).toBe('errors.voucher_limit_reached');
  });

  it('an undo by the same cashier within 15 minutes makes the code usable again; later it is refused', async () => {
    const { pool: p } = await createPool(handle.db, owner, pool({ name: 'Undo' }), { generate: 1 }, now);
    const { code } = await handle.db.selectFrom('voucher_codes').select('code').where('pool_id', '=', p.id).executeTakeFirstOrThrow();
    await redeem(code, members[1]!);
    await undoVoucher(handle.db, code, cashier, new Date(now.getTime() + 5 * 60_000));
    expect((await checkVoucher(handle.db, code, members[1]!, now)).code.redeemed_at).toBeNull();
    await redeem(code, members[1]!);
    expect(await reason(() => undoVoucher(handle.db, code, cashier, new Date(now.getTime() + 16 * 60_000)))).toBe('errors.voucher_undo_late');
  });

  it('a pool for a segment refuses members outside it', async () => {
    const segment = await saveSegment(handle.db, owner, 'Women', { groups: [[{ field: 'gender', value: 'female' }]] }, now);
    const { pool: p } = await createPool(handle.db, owner, pool({ name: 'Women only', segmentId: segment.id }), { generate: 2 }, now);
    const [a, b] = await handle.db.selectFrom('voucher_codes').select('code').where('pool_id', '=', p.id).execute();
    // members[1] is V2 (male), members[2] is V3 (female).
    expect(await reason(() => redeem(a!.code, members[1]!))).toBe('errors.voucher_segment');
    expect(await reason(() => redeem(b!.code, members[2]!))).toBe('ok');
  });

  it('concurrent cashiers: one code is redeemed once; a member with a limit of one gets one of two codes', async () => {
    const { pool: p } = await createPool(handle.db, owner, pool({ name: 'Race' }), { generate: 3 }, now);
    const codes = (await handle.db.selectFrom('voucher_codes').select('code').where('pool_id', '=', p.id).orderBy('id').execute()).map((c) => c.code);
    const same = await Promise.all(Array.from({ length: 8 }, () => reason(() => redeem(codes[0]!, null))));
    expect(same.filter((r) => r === 'ok')).toHaveLength(1);
    expect(same.filter((r) => r !== 'ok').every((r) => r === 'errors.voucher_used')).toBe(true);

    const two = await Promise.all([reason(() => redeem(codes[1]!, members[3]!)), reason(() => redeem(codes[2]!, members[3]!))]);
    expect(two.sort()).toEqual(['errors.voucher_limit_reached', 'ok']);
    const used = await handle.db.selectFrom('voucher_codes').select('code').where('pool_id', '=', p.id).where('redeemed_member_id', '=', members[3]!).execute();
    expect(used).toHaveLength(1);
    const audits = await handle.db.selectFrom('audit_log').select('payload').where('action', '=', 'voucher.redeem').execute();
    expect(audits.filter((a) => (a.payload as { pool_id: number }).pool_id === p.id)).toHaveLength(2);
  });
});
