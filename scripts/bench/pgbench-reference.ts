import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { watchBackends } from './backend-cpu.ts';

const run = promisify(execFile);

export type PgbenchReference =
  | {
      tps: number; clients: number; threads: number; scale: number; seconds: number; latencyMs: number | null;
      /** Server CPU (its backends, from /proc) per transaction, connection start-up included; null for a remote server. */
      serverCpuMsPerTx: number | null;
    }
  | { skipped: string };

/**
 * pgbench TPC-B (the built-in script) on the same server as `databaseUrl`, in a scratch database
 * created for it and dropped afterwards: `pgbench -i -s <scale>` then `pgbench -c <clients> -j <threads> -T <seconds>`.
 * The reference issue 14 measures purchases against; skipped (with the reason) when pgbench is not installed.
 */
export async function pgbenchReference(databaseUrl: string, opts: { scale: number; clients: number; threads: number; seconds: number }): Promise<PgbenchReference> {
  try {
    await run('pgbench', ['--version']);
  } catch {
    return { skipped: 'pgbench is not installed (Debian: postgresql-client); no reference measured' };
  }
  const url = new URL(databaseUrl);
  const name = `bashgah_pgbench_${randomBytes(4).toString('hex')}`;
  const env = {
    ...process.env,
    PGHOST: url.hostname || '127.0.0.1',
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username || 'postgres'),
    ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}),
    PGDATABASE: name,
  };
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
    try {
      await run('pgbench', ['-i', '-q', '-s', String(opts.scale), name], { env, maxBuffer: 16 << 20 });
      const cpu = watchBackends(databaseUrl, { column: 'datname', value: name }, true);
      const { stdout } = await run('pgbench', ['-c', String(opts.clients), '-j', String(opts.threads), '-T', String(opts.seconds), name], { env, maxBuffer: 16 << 20 });
      const serverCpu = await cpu.stop();
      const tps = /tps = ([\d.]+)/.exec(stdout);
      const processed = /number of transactions actually processed: (\d+)/.exec(stdout);
      if (!tps || !processed) throw new Error(`pgbench printed no tps:\n${stdout}`);
      const latency = /latency average = ([\d.]+) ms/.exec(stdout);
      return {
        tps: Number(Number(tps[1]).toFixed(1)), clients: opts.clients, threads: opts.threads, scale: opts.scale, seconds: opts.seconds, latencyMs: latency ? Number(latency[1]) : null,
        serverCpuMsPerTx: serverCpu === null ? null : Number(((serverCpu * 1000) / Number(processed[1])).toFixed(3)),
      };
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
    }
  } finally {
    await admin.end();
  }
}
