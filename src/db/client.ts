import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { drizzle as drizzlePg, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
/**
 * One Drizzle type for both drivers. PGlite's database exposes the same query builder; only raw `execute`
 * results differ, and both carry `rows`, which is all this code reads.
 */
export type Db = NodePgDatabase<Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** A database handle or an open transaction: repositories accept either. */
export type Executor = Db | Tx;

export type Database = {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Runs `fn` on one dedicated connection (advisory locks are per session). */
  withSession<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
};

export const casing = 'snake_case' as const;

// bigint columns come back as strings from node-postgres by default; ids fit comfortably in a JS number.
pg.types.setTypeParser(20, (value) => Number(value));

export function connectPostgres(url: string, options: { max?: number } = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it. Queries in flight see their own error.
  });
  const db = drizzlePg(pool, { schema, casing });
  return {
    db,
    kind: 'postgres',
    async withSession(fn) {
      const client = await pool.connect();
      try {
        return await fn(drizzlePg(client, { schema, casing }) as unknown as Db);
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** PGlite keeps its files in DATA_DIR/db; a node-postgres pool is used when DATABASE_URL is set. */
export async function connectDatabase(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
}): Promise<Database> {
  if (options.databaseUrl) return connectPostgres(options.databaseUrl);
  const dir = join(options.dataDir, 'db');
  mkdirSync(dir, { recursive: true });
  // Loaded only for the embedded database: a process on PostgreSQL never holds PGlite's module.
  const release = lockDataDir(options.dataDir);
  try {
    const { createPglite, wrapPglite } = await import('./pglite.ts');
    const database = wrapPglite(await createPglite({ dataDir: dir }));
    return {
      ...database,
      async close() {
        try {
          await database.close();
        } finally {
          release();
        }
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}
