import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.ts';

/** A fingerprint of every row of every table: equal before and after means nothing changed. */
export async function databaseFingerprint(database: Database): Promise<Record<string, string>> {
  const tables = await database.db.execute<{ name: string }>(
    sql`select tablename as name from pg_tables where schemaname = 'public' order by tablename`,
  );
  const result: Record<string, string> = {};
  for (const { name } of tables.rows) {
    const row = await database.db.execute<{ digest: string }>(
      sql`select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest from ${sql.identifier(name)} t`,
    );
    result[name] = String(row.rows[0]?.digest);
  }
  return result;
}
