import 'dotenv/config';
import { createDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

// Migrations need only the database settings, not a bot token.
const handle = await createDatabase({ databaseUrl: process.env.DATABASE_URL || undefined, dataDir: process.env.DATA_DIR || './data' });
try {
  const result = await migrateToLatest(handle);
  const ran = result.results ?? [];
  if (ran.length === 0) console.log('Database is up to date.');
  for (const r of ran) console.log(`${r.status}: ${r.migrationName}`);
} finally {
  await handle.close();
}
