import { createHash } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import type { ImportKind } from '../../db/schema.ts';
import type { MoneyUnit } from '../../lib/amount.ts';
import { audit } from '../audit.ts';
import { ClubError } from '../errors.ts';
import type { LoyaltySettings } from '../rules.ts';
import { matchHeader, type Field, type HeaderMatch } from './columns.ts';
import { applyMembers, type MemberImportResult } from './members.ts';
import { applyPurchases, type PurchaseImportResult } from './purchases.ts';
import { readSheet, type SheetRow } from './read.ts';
import { RowValidator, type MemberRow, type Problem, type PurchaseRow, type ValidationEnv } from './validate.ts';

/** A file larger than this is refused before it is read (100,000 customers fit in about 10 MB). */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
/**
 * Lines applied per transaction: few large statements rather than many small ones (5,000 took 14 %
 * less CPU than 1,000 on PGlite; see docs/benchmarks.md).
 */
export const BATCH = 5000;

export interface LineProblems {
  line: number;
  problems: Problem[];
}

export interface ImportEnv {
  now: Date;
  timeZone: string;
  /** How often (in lines read) onProgress is called. */
  progressEvery?: number;
  onProgress?: (lines: number) => Promise<void> | void;
}

export interface Preview {
  /** Null when the file could not be taken (a required column is missing, or no lines). */
  id: number | null;
  kind: ImportKind;
  rows: number;
  valid: number;
  problems: LineProblems[];
  unknown: string[];
  missing: Field[];
  /** Valid lines whose phone is already a member (members files). */
  existing: number;
  /** Rials on the valid lines: opening credit (members) or purchase amounts (purchases), for the preview to show in both units. */
  moneyRials: number;
}

async function validationEnv(db: Db, env: ImportEnv): Promise<ValidationEnv> {
  const [tiers, branches, settings] = await Promise.all([
    db.selectFrom('tiers').select(['id', 'code', 'name_fa', 'name_en']).execute(),
    db.selectFrom('branches').select(['id', 'name']).where('active', '=', true).orderBy('id').execute(),
    db.selectFrom('club_settings').select('value').where('key', '=', 'loyalty').executeTakeFirst(),
  ]);
  const moneyUnit = ((settings?.value as Partial<LoyaltySettings> | undefined)?.moneyUnit ?? 'toman') as MoneyUnit;
  return { now: env.now, timeZone: env.timeZone, moneyUnit, tiers, branches };
}

type Checked = { kind: 'members'; row: MemberRow } | { kind: 'purchases'; row: PurchaseRow } | { kind: 'problem'; line: LineProblems };

/**
 * Reads a file line by line: the header first, then each line checked. Yields valid rows and
 * problem lines in file order, batched, so callers can look things up or write per batch.
 */
async function* checkedBatches(bytes: Buffer, venv: ValidationEnv, env: ImportEnv, onHeader: (h: HeaderMatch) => void): AsyncGenerator<Checked[]> {
  let validator: RowValidator | null = null;
  let header: HeaderMatch | null = null;
  let batch: Checked[] = [];
  let lines = 0;
  const every = env.progressEvery ?? 5000;
  for await (const row of readSheet(bytes) as AsyncIterable<SheetRow>) {
    if (!header) {
      header = matchHeader(row.cells);
      onHeader(header);
      if (header.missing.length) return;
      validator = new RowValidator(header, venv);
      continue;
    }
    const checked = header.kind === 'members' ? validator!.member(row) : validator!.purchase(row);
    if ('problems' in checked) batch.push({ kind: 'problem', line: { line: row.line, problems: checked.problems } });
    else batch.push({ kind: header.kind, row: checked.row } as Checked);
    lines++;
    if (env.onProgress && lines % every === 0) await env.onProgress(lines);
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/**
 * Checks an uploaded file and keeps it for the Confirm button: nothing else is written. Returns
 * the counts for the preview and every line with a problem (for the validation report).
 */
export async function previewImport(db: Db, upload: { fileName: string; bytes: Buffer; actorMemberId: number }, env: ImportEnv): Promise<Preview> {
  if (upload.bytes.length > MAX_IMPORT_BYTES) throw new ClubError('import.file_too_big');
  const venv = await validationEnv(db, env);
  let header: HeaderMatch | null = null;
  const problems: LineProblems[] = [];
  let rows = 0;
  let valid = 0;
  let existing = 0;
  let moneyRials = 0;
  for await (const batch of checkedBatches(upload.bytes, venv, env, (h) => (header = h))) {
    rows += batch.length;
    const phones: string[] = [];
    for (const c of batch) {
      if (c.kind === 'problem') problems.push(c.line);
      else {
        valid++;
        if (c.kind === 'members') {
          phones.push(c.row.phone);
          moneyRials += c.row.credit;
        } else moneyRials += c.row.amountRials;
      }
    }
    if (phones.length) {
      const found = await db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).where('phone', 'in', phones).executeTakeFirstOrThrow();
      existing += Number(found.n);
    }
  }
  const h = header as HeaderMatch | null;
  if (!h) throw new ClubError('import.file_empty');
  const base = { kind: h.kind, rows, valid, problems, unknown: h.unknown, missing: h.missing, existing, moneyRials };
  if (h.missing.length || valid === 0) return { ...base, id: null };
  const inserted = await db
    .insertInto('imports')
    .values({
      kind: h.kind,
      file_name: upload.fileName.slice(0, 200),
      file_sha256: createHash('sha256').update(upload.bytes).digest('hex'),
      content: upload.bytes,
      actor_member_id: upload.actorMemberId,
      rows,
      valid,
      status: 'previewed',
      created_at: env.now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { ...base, id: inserted.id };
}

/** The owner's choice on the preview: pre-registered people get the signup bonus when they join. */
export async function setImportSignupBonus(db: Db, importId: number, on: boolean) {
  await db.updateTable('imports').set({ signup_bonus: on }).where('id', '=', importId).where('status', '=', 'previewed').execute();
}

export async function loadImport(db: Db, importId: number) {
  return db.selectFrom('imports').select(['id', 'kind', 'file_name', 'rows', 'valid', 'signup_bonus', 'status', 'result', 'actor_member_id']).where('id', '=', importId).executeTakeFirst();
}

export interface ApplyEnv extends ImportEnv {
  pointsValidityDays: number;
  loyaltyDefaults?: Partial<LoyaltySettings>;
}

export type ImportResult = (MemberImportResult | PurchaseImportResult) & { problems: LineProblems[]; alreadyApplied: boolean };

/**
 * Applies a previewed import, batch by batch (each in its own transaction). Every write is keyed
 * (members by phone, opening lots by phone, purchases by branch and receipt), so applying the same
 * file again, or again after a crash half-way, changes nothing that was already done.
 */
export async function applyImport(db: Db, importId: number, actorMemberId: number, env: ApplyEnv): Promise<ImportResult> {
  const imp = await db.selectFrom('imports').selectAll().where('id', '=', importId).executeTakeFirst();
  if (!imp) throw new ClubError('import.not_found');
  if (imp.status === 'applied') return { ...(imp.result as unknown as MemberImportResult), problems: [], alreadyApplied: true };
  await db.updateTable('imports').set({ status: 'applying' }).where('id', '=', importId).execute();
  const venv = await validationEnv(db, env);
  const problems: LineProblems[] = [];
  const batches = checkedBatches(imp.content, venv, env, () => undefined);
  const opts = { actorMemberId, signupBonus: imp.signup_bonus, importId };
  const result =
    imp.kind === 'members'
      ? await applyMembers(db, batches, problems, opts, env)
      : await applyPurchases(db, batches, problems, opts, env);
  await db.transaction().execute(async (trx) => {
    // The file (phone numbers, names) is not kept once it has done its work.
    await trx.updateTable('imports').set({ status: 'applied', result: JSON.stringify(result), applied_at: env.now, content: Buffer.alloc(0) }).where('id', '=', importId).execute();
    await audit(trx, { actor: actorMemberId, action: `import.${imp.kind}`, payload: { import_id: importId, file: imp.file_name, ...result, problems: problems.length }, at: env.now });
  });
  return { ...result, problems, alreadyApplied: false };
}

export type { Checked };
