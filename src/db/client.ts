import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';
import { casing, type Database, type Db } from './database.ts';
import { isTransactionCollision } from './faults.ts';
import { listenPostgres } from './listen.ts';
import * as schema from './schema/index.ts';

export type { Database, Db, Executor, Schema, Tx } from './database.ts';

// bigint columns come back as strings from node-postgres by default; ids fit comfortably in a JS number.
pg.types.setTypeParser(20, (value) => Number(value));

export type PostgresOptions = {
  /** Connections this process may hold (DATABASE_POOL_MAX): nodes × pool must stay under max_connections. */
  max?: number | undefined;
};

/** How long a request waits for a connection (a full pool, or a database that does not answer) before a 503. */
const CONNECT_TIMEOUT_MS = 5_000;

export function connectPostgres(url: string, options: PostgresOptions = {}): Database {
  const max = options.max ?? 10;
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A peer that vanished without closing (a crashed host, a dropped NAT entry) is noticed instead of awaited.
    keepAlive: true,
  });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it. Queries in flight see their own error.
  });
  // pg-pool listens for an idle client's 'error' only while it is idle: a checked-out client (a transaction, a
  // session) that loses its connection would emit an unhandled 'error' and end the process (node-postgres #1324,
  // drizzle-orm #3908). The query in flight rejects on its own; the client, no longer queryable, is dropped on
  // release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = retryingCollisions(drizzlePg(pool, { schema, casing }));
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
    listen: listenPostgres(url),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    close: () => pool.end(),
  };
}

/** Tries after the first: a few, with growing random pauses, then the collision is the caller's (a 503). */
const COLLISION_RETRIES = 4;

/**
 * Every top-level transaction runs again when it loses a deadlock or a serialization check (40P01, 40001): the
 * database rolled it back whole, so running it again is safe, and a collision is never a client's fault. Callbacks
 * must therefore not act outside the database (they do not: mails and jobs are rows written in the transaction).
 * Nested transactions (savepoints) are not retried on their own; the outermost one is.
 */
export function retryingCollisions<T extends Db>(db: T): T {
  const transaction = db.transaction.bind(db);
  db.transaction = (async (fn, config) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await transaction(fn, config);
      } catch (error) {
        if (attempt > COLLISION_RETRIES || !isTransactionCollision(error)) throw error;
        // Equal jitter: 10, 20, 40, 80 ms plus as much at random, so the two sides do not meet again.
        const pause = 5 * 2 ** attempt;
        await sleep(pause + Math.random() * pause);
      }
    }
  }) as T['transaction'];
  return db;
}

/** PGlite keeps its files in DATA_DIR/db; a node-postgres pool is used when DATABASE_URL is set. */
export async function connectDatabase(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
  databasePoolMax?: number | undefined;
}): Promise<Database> {
  if (options.databaseUrl) return connectPostgres(options.databaseUrl, { max: options.databasePoolMax });
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
