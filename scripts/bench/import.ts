/**
 * npm run bench:import [-- --rows 100000 --format csv|xlsx]
 *
 * Imports a generated customer file (phone in mixed forms and digits, names, a Jalali birthday,
 * gender, city, opening points and credit; 1% of lines broken) through the real previewImport and
 * applyImport, twice: the second run must change nothing. PostgreSQL when DATABASE_URL is set,
 * embedded PGlite otherwise. cpuS is this process's CPU time for the run (on PGlite that includes the
 * database, which runs in-process), a figure that does not depend on how loaded the machine is. Target: the first apply (check + write) of 100,000 rows under 60 s.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { applyImport, previewImport } from '../../src/club/import/imports.ts';
import { createDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { toPersianDigits } from '../../src/lib/digits.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, format: { type: 'string', default: 'csv' } } });
const rows = Number(values.rows);
const format = values.format === 'xlsx' ? 'xlsx' : 'csv';
const url = process.env.DATABASE_URL || undefined;
const schema = `bench_${randomBytes(4).toString('hex')}`;

function line(i: number): string[] {
  const local = `912${String(i).padStart(7, '0')}`;
  const phone = i % 100 === 0 ? 'broken' : i % 3 === 0 ? toPersianDigits(`0${local}`) : i % 3 === 1 ? `+98 ${local}` : `0${local}`;
  const birthday = `13${60 + (i % 20)}/${1 + (i % 12)}/${1 + (i % 28)}`;
  return [phone, `Name${i}`, `Family${i}`, birthday, i % 2 ? 'زن' : 'مرد', i % 5 ? 'تهران' : 'شیراز', String(i % 7 ? (i % 1000) : 0), i % 4 ? '' : '50,000'];
}
const header = ['موبایل', 'نام', 'نام خانوادگی', 'تاریخ تولد', 'جنسیت', 'شهر', 'امتیاز', 'اعتبار (تومان)'];

async function makeFile(): Promise<Buffer> {
  if (format === 'csv') {
    const out = [header.join(',')];
    for (let i = 1; i <= rows; i++) out.push(line(i).map((c) => (c.includes(',') ? `"${c}"` : c)).join(','));
    return Buffer.from(out.join('\n'));
  }
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('customers');
  sheet.addRow(header);
  for (let i = 1; i <= rows; i++) sheet.addRow(line(i));
  return Buffer.from(await book.xlsx.writeBuffer());
}

const handle = await createDatabase({ databaseUrl: url, dataDir: 'memory://', schema, poolSize: 4 });
const { db } = handle;
try {
  await migrateToLatest(handle);
  const owner = await db
    .insertInto('members')
    .values({ phone: '+989100000000', first_name: 'Owner', referral_code: 'BENCHOWN', tier_id: 1, joined_at: new Date(), last_active_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  const bytes = await makeFile();
  const env = { now: new Date(), timeZone: 'Asia/Tehran', pointsValidityDays: 365 };
  const run = async () => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const preview = await previewImport(db, { fileName: `bench.${format}`, bytes, actorMemberId: owner.id }, env);
    const t1 = performance.now();
    const result = await applyImport(db, preview.id!, owner.id, env);
    const t2 = performance.now();
    const cpu = process.cpuUsage(c0);
    return { cpuS: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)), previewS: Number(((t1 - t0) / 1000).toFixed(1)), applyS: Number(((t2 - t1) / 1000).toFixed(1)), totalS: Number(((t2 - t0) / 1000).toFixed(1)), valid: preview.valid, problems: preview.problems.length, result };
  };
  const first = await run();
  const second = await run();
  // The invariant (cached balance = sum of the ledger = sum of the lots) over every member, in one
  // pass (ledgerViolations looks members up one by one, which is slow over 100,000 fresh ones).
  const { rows: broken } = await sql<{ n: number }>`
    with e as (select member_id, currency, sum(amount) as s from ledger_entries group by 1, 2),
         l as (select member_id, currency, sum(remaining) as s from ledger_lots group by 1, 2)
    select count(*)::int as n
    from members m cross join (values ('points'), ('credit')) as c(currency)
    left join e on e.member_id = m.id and e.currency = c.currency
    left join l on l.member_id = m.id and l.currency = c.currency
    where (case when c.currency = 'points' then m.points_balance else m.credit_balance end) not in (coalesce(e.s, 0))
       or coalesce(e.s, 0) <> coalesce(l.s, 0)`.execute(db);
  const violations = { length: broken[0]!.n };
  const members = (await db.selectFrom('members').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n;
  const { problems: _a, ...firstResult } = first.result;
  const { problems: _b, ...secondResult } = second.result;
  console.log(
    JSON.stringify({
      driver: handle.driver,
      format,
      rows,
      fileMB: Number((bytes.length / 1e6).toFixed(1)),
      first: { ...first, result: firstResult },
      again: { ...second, result: secondResult },
      members,
      invariantViolations: violations.length,
      rssMB: Math.round(process.memoryUsage().rss / 1e6),
    }),
  );
  const r2 = second.result as unknown as { created: number; lots: number };
  if (violations.length || r2.created !== 0 || r2.lots !== 0 || first.totalS >= 60) process.exitCode = 1;
} finally {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => undefined);
  await handle.close();
}
