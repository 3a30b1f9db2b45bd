import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { Database } from './client.ts';

export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

// Any fixed number: it serializes concurrent starts of several API processes against one PostgreSQL.
const MIGRATION_LOCK = 724_851_001;

/** Applies the committed drizzle-kit migrations. Safe to run from many processes at once. */
export async function runMigrations(database: Database): Promise<void> {
  await database.withSession(async (db) => {
    if (database.kind === 'postgres') await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      // The node-postgres migrator only needs `execute` and `transaction`, which PGlite's Drizzle offers too.
      await migratePg(db, { migrationsFolder });
    } finally {
      if (database.kind === 'postgres') await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  });
}

export function expectedMigrationCount(): number {
  const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as { entries: unknown[] };
  return journal.entries.length;
}

/** For /readyz: the database answers and every committed migration has been applied. */
export async function migrationsApplied(database: Database): Promise<boolean> {
  const result = await database.db.execute<{ count: number }>(
    sql`select count(*)::int as count from drizzle.__drizzle_migrations`,
  );
  return Number(result.rows[0]?.count) >= expectedMigrationCount();
}
