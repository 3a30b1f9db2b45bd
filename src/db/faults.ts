/**
 * What a database error says about the database rather than about the request: it is unreachable (answer 503 and
 * let the client come back), or two transactions collided (run the transaction again). Recognised once, here, for
 * the HTTP error handler, the transaction retry and the job runner.
 */

/** Node's socket errors when PostgreSQL is down, restarting or unreachable. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

/**
 * SQLSTATEs of a database that cannot serve now: class 08 (connection exception), 53300 too many connections,
 * 57P01–57P03 (an administrator terminated the backend, the server crashed, or it is still starting).
 */
const UNAVAILABLE_STATES = /^(08...|53300|57P0[1-3])$/;

/** Serialization failure and deadlock: nothing is wrong with the transaction but its timing. */
const COLLISION_STATES = new Set(['40001', '40P01']);

/** node-postgres' own messages for a connection it lost or could not get (pg and pg-pool). */
const LOST_CONNECTION = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Connection ended unexpectedly/,
  /^terminating connection/,
];

type Inspectable = { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };

/** The error and what it wraps (Drizzle's query error → pg's error; AggregateError → each address tried). */
function* chain(error: unknown, depth = 0): Generator<Inspectable> {
  if (!error || typeof error !== 'object' || depth > 5) return;
  const current = error as Inspectable;
  yield current;
  if (Array.isArray(current.errors)) for (const inner of current.errors) yield* chain(inner, depth + 1);
  yield* chain(current.cause, depth + 1);
}

export function isDatabaseUnavailable(error: unknown): boolean {
  for (const current of chain(error)) {
    const code = typeof current.code === 'string' ? current.code : '';
    if (SOCKET_CODES.has(code) || UNAVAILABLE_STATES.test(code)) return true;
    const message = typeof current.message === 'string' ? current.message : '';
    if (LOST_CONNECTION.some((pattern) => pattern.test(message))) return true;
  }
  return false;
}

export function isTransactionCollision(error: unknown): boolean {
  const code = databaseError(error)?.code;
  return code !== undefined && COLLISION_STATES.has(code);
}

export type DatabaseError = { code: string; constraint?: string; column?: string };

/** PostgreSQL's own error under whatever wraps it (Drizzle's query error, a driver's): the first with a SQLSTATE. */
export function databaseError(error: unknown): DatabaseError | undefined {
  for (const current of chain(error)) {
    if (typeof current.code === 'string' && /^[0-9A-Z]{5}$/.test(current.code)) return current as DatabaseError;
  }
  return undefined;
}

/** A unique violation (23505), of `constraint` when one is named. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const found = databaseError(error);
  return found?.code === '23505' && (constraint === undefined || found.constraint === constraint);
}
