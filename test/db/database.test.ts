import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, isDatabaseUnavailable, parseInt8, type DatabaseHandle } from '../../src/db/database.ts';
import { PREPARED } from '../../src/db/prepared.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { testDatabase, usingPostgres } from '../support/db.ts';

describe(`database (${usingPostgres() ? 'PostgreSQL' : 'PGlite'})`, () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await testDatabase();
  });
  afterAll(() => handle.close());

  it('returns int8 as number, numeric as string and date as a calendar string on this driver', async () => {
    const { rows } = await sql<{ big: unknown; telegram: unknown; n: unknown; d: unknown; c: unknown }>`
      select 9007199254740991::int8 as big, 7123456789::int8 as telegram, 1.25::numeric(5,2) as n,
             '1991-08-03'::date as d, count(*) as c from tiers`.execute(handle.db);
    expect(rows[0]).toEqual({ big: 9007199254740991, telegram: 7123456789, n: '1.25', d: '1991-08-03', c: 4 });
  });

  it('tells a database that cannot be reached from a statement that is wrong', async () => {
    const wrong = await sql`select * from no_such_table`.execute(handle.db).catch((e: unknown) => e);
    expect(isDatabaseUnavailable(wrong)).toBe(false);
    // Nothing listens on port 1.
    const away = await createDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none' });
    try {
      const refused = await sql`select 1`.execute(away.db).catch((e: unknown) => e);
      expect(isDatabaseUnavailable(refused)).toBe(true);
    } finally {
      await away.close();
    }
  });

  it('a statement marked PREPARED gets back what a plain one does, whatever its values hold (PGlite: EXECUTE with literals)', async () => {
    const nasty = `it's \\ a "quote", ${"'"}; drop table members; -- سلام`;
    const values = [
      nasty,
      ['a', null, `b'c`, 'd"e', 'f\\g', '{h,i}', 'سلام'],
      [1, null, 7123456789],
      { text: nasty, n: 1.5, list: [null, 'x'] },
      new Date('2026-11-30T10:00:00.123Z'),
      null,
      true,
    ];
    const run = (prefix: string) =>
      sql<Record<string, unknown>>`${sql.raw(prefix)}select ${values[0]}::text as t, ${values[1]}::text[] as ta, ${values[2]}::int8[] as ia,
        ${values[3]}::jsonb as j, ${values[4]}::timestamptz as ts, ${values[5]}::text as nothing, ${values[6]}::boolean as yes`.execute(handle.db);
    const plain = (await run('')).rows[0];
    const prepared = (await run(PREPARED)).rows[0];
    // Twice: the second runs the statement prepared by the first.
    const again = (await run(PREPARED)).rows[0];
    expect(prepared).toEqual(plain);
    expect(again).toEqual(plain);
    expect(plain!.t).toBe(nasty);
    expect(plain!.ta).toEqual(values[1]);
    expect(plain!.j).toEqual(values[3]);
    expect(new Date(plain!.ts as string | Date).toISOString()).toBe('2026-11-30T10:00:00.123Z');
    expect(await handle.db.selectFrom('members').select('id').execute()).toBeDefined();
  });

  it('refuses an int8 that a JavaScript number cannot hold exactly', async () => {
    expect(() => parseInt8('9007199254740993')).toThrow(RangeError);
    await expect(sql`select 9007199254740993::int8 as x`.execute(handle.db)).rejects.toThrow(/safe integer/);
  });

  it('seeds the four tiers with Persian names', async () => {
    const tiers = await handle.db.selectFrom('tiers').select(['code', 'name_fa', 'threshold']).orderBy('rank').execute();
    expect(tiers.map((t) => t.code)).toEqual(['bronze', 'silver', 'gold', 'platinum']);
    expect(tiers.map((t) => t.name_fa)).toEqual(['برنزی', 'نقره‌ای', 'طلایی', 'پلاتینیوم']);
    expect(tiers.map((t) => t.threshold)).toEqual([0, 1000, 5000, 15000]);
  });

  it('migrating again, twice at once, changes nothing and fails nothing', async () => {
    const results = await Promise.all([migrateToLatest(handle), migrateToLatest(handle)]);
    expect(results.map((r) => r.results)).toEqual([[], []]);
  });

  it('keeps the ledger append-only', async () => {
    const member = await handle.db
      .insertInto('members')
      .values({ phone: '+989120000001', first_name: 'A', referral_code: 'APPENDONLY', tier_id: 1, joined_at: new Date(), last_active_at: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const entry = await handle.db
      .insertInto('ledger_entries')
      .values({ member_id: member.id, currency: 'points', amount: 5, kind: 'earn', reason: 'test', idempotency_key: 'append-only-test', expires_at: null, branch_id: null, actor_member_id: null, meta: null, created_at: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    await expect(handle.db.updateTable('ledger_entries').set({ reason: 'changed' }).where('id', '=', entry.id).execute()).rejects.toThrow(/append-only/);
    await expect(handle.db.deleteFrom('ledger_entries').where('id', '=', entry.id).execute()).rejects.toThrow(/append-only/);
  });
});
