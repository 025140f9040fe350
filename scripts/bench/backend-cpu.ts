import { readFileSync } from 'node:fs';
import pg from 'pg';

/**
 * CPU time of PostgreSQL backends, read from /proc (utime + stime, in clock ticks of 10 ms): a
 * figure per transaction that, unlike throughput, hardly moves with what else runs on a shared
 * machine. Only meaningful when the server runs on this machine; null otherwise.
 */
export function processCpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * Watches the backends that pg_stat_activity shows for `filter` (a column and its value) every
 * 200 ms and keeps each one's latest CPU time, so backends that exit before the end still count.
 * `stop()` returns the CPU seconds they used since they were first seen (or since they started,
 * with `fromStart`), or null when the server's processes are not visible from here.
 */
export function watchBackends(databaseUrl: string, filter: { column: 'application_name' | 'datname'; value: string }, fromStart = false) {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let seen = 0;
  let running = true;
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-cpu-watch' });
  const sample = async () => {
    const { rows } = await client.query<{ pid: number }>(`select pid from pg_stat_activity where ${filter.column} = $1`, [filter.value]);
    for (const { pid } of rows) {
      const cpu = processCpuSeconds(pid);
      if (cpu === null) continue; // exited meanwhile, or not on this machine
      seen++;
      if (!first.has(pid)) first.set(pid, fromStart ? 0 : cpu);
      last.set(pid, cpu);
    }
  };
  const loop = (async () => {
    await client.connect();
    while (running) {
      await sample();
      await new Promise((r) => setTimeout(r, 200));
    }
    await sample();
    await client.end();
  })();
  return {
    /** Takes one more sample (call it just after the work, while the backends are alive). */
    async stop(): Promise<number | null> {
      running = false;
      await loop;
      if (seen === 0) return null;
      let total = 0;
      for (const [pid, cpu] of last) total += cpu - (first.get(pid) ?? cpu);
      return total;
    },
  };
}
