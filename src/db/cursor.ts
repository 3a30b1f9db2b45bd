import { type AnyColumn, sql } from 'drizzle-orm';

/**
 * A keyset cursor's timestamp: ISO 8601 UTC with microseconds (a JS Date would drop them), whatever the session's
 * time zone; lib/pagination.ts checks it back as a `timestamp` part.
 */
export const cursorTimestamp = (column: AnyColumn) =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
