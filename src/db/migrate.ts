import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { Database } from './client.ts';

export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

// Any fixed number: it serializes concurrent starts of several API processes against one PostgreSQL.
const MIGRATION_LOCK = 724_851_001;

/**
 * Applies the committed drizzle-kit migrations, in one transaction, in drizzle's own bookkeeping table (what its
 * migrator does), with the lock taken inside that transaction: a session-level lock, taken and released on one
 * connection, leaks behind PgBouncer in transaction mode (the unlock may run on another server connection), and the
 * next process to start would wait forever. Safe to run from many processes at once.
 */
export async function runMigrations(database: Database): Promise<void> {
  const migrations = readMigrationFiles({ migrationsFolder });
  await database.db.transaction(async (tx) => {
    if (database.kind === 'postgres') await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.execute(sql`create schema if not exists drizzle`);
    await tx.execute(
      sql`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`,
    );
    const last = await tx.execute<{ created_at: string | number }>(
      sql`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`,
    );
    const appliedUpTo = Number(last.rows[0]?.created_at ?? Number.NEGATIVE_INFINITY);
    for (const migration of migrations) {
      if (migration.folderMillis <= appliedUpTo) continue;
      for (const statement of migration.sql) await tx.execute(sql.raw(statement));
      await tx.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${migration.hash}, ${migration.folderMillis})`,
      );
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
