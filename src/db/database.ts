/**
 * The database handle every layer sees, whichever driver is under it (client.ts: node-postgres; pglite.ts: the
 * embedded one). Types and Drizzle's options only, so that both drivers can depend on it and not on each other.
 */
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Listen } from './listen.ts';
import type * as schema from './schema/index.ts';

export type Schema = typeof schema;
/**
 * One Drizzle type for both drivers. PGlite's database exposes the same query builder; only raw `execute`
 * results differ, and both carry `rows`, which is all this code reads.
 */
export type Db = NodePgDatabase<Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** A database handle or an open transaction: repositories accept either. */
export type Executor = Db | Tx;

export type PoolStats = { total: number; idle: number; waiting: number; max: number };

export type Database = {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Runs `fn` on one dedicated connection (advisory locks are per session). */
  withSession<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** LISTEN for NOTIFY on `channel`, on a connection outside the pool (src/db/listen.ts); resolves to unlisten. */
  listen?: Listen;
  /** The connection pool's state, for /metrics (PostgreSQL only: the embedded database has one connection). */
  poolStats?: () => PoolStats;
  close(): Promise<void>;
};

/** Columns are snake_case in the database, camelCase in TypeScript. */
export const casing = 'snake_case' as const;
