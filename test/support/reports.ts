import { sql } from 'kysely';
import type { DatabaseHandle } from '../../src/db/database.ts';

/** RFM's quintiles the direct way: percentile_disc over every buyer, days rounded up from the instant. */
export async function quintilesBySorting(database: DatabaseHandle, at: Date) {
  const { rows } = await sql<{ r: (Date | string)[]; f: number[] }>`
    select percentile_disc(array[0.2, 0.4, 0.6, 0.8]) within group (order by last_purchase_at desc) as r,
      percentile_disc(array[0.2, 0.4, 0.6, 0.8]) within group (order by purchase_count) as f
    from members where purchase_count > 0`.execute(database.db);
  return {
    recencyDays: rows[0]!.r.map((t) => Math.max(0, Math.ceil((at.getTime() - new Date(t).getTime()) / 86_400_000))),
    frequency: rows[0]!.f.map(Number),
  };
}
