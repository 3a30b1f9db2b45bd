import { and, asc, eq, gte, inArray, lt, lte, or, sql } from 'drizzle-orm';
import type { Db, Executor, Tx } from '../db/client.ts';
import { jobs } from '../db/schema/index.ts';

export type Job = typeof jobs.$inferSelect;

export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_CAP_MS = 5 * 60_000;
const ERROR_MAX = 2_000;
// Literals rather than parameters, so the planner matches the partial indexes (WHERE status = 'queued' / 'running').
const QUEUED = sql`${jobs.status} = 'queued'`;
const RUNNING = sql`${jobs.status} = 'running'`;

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries of jobs that failed
 * together (a database blip) spread out instead of all coming back at the same instant.
 */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const exponential = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** Adds a job. Takes the caller's transaction, so a job exists exactly when the rows it works on were committed. */
export async function enqueue(
  db: Executor,
  job: { kind: string; payload?: Record<string, unknown>; runAt?: Date; maxAttempts?: number },
): Promise<number> {
  const [row] = await db
    .insert(jobs)
    .values({ kind: job.kind, payload: job.payload ?? {}, runAt: job.runAt, maxAttempts: job.maxAttempts })
    .returning({ id: jobs.id });
  return row!.id;
}

/**
 * Claims one due job of the given kinds, in one statement: a queued job whose time has come, or a running one whose
 * lease ran out (its worker died) and that has attempts left. SKIP LOCKED lets any number of workers poll at once
 * without waiting on each other or taking the same row; the re-check of the WHERE clause after a concurrent update
 * (READ COMMITTED) skips a row another worker claimed a moment ago.
 */
export async function claim(
  db: Executor,
  options: { workerId: string; kinds: readonly string[]; leaseMs: number; now: Date },
): Promise<Job | undefined> {
  if (options.kinds.length === 0) return undefined;
  const { now } = options;
  const due = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        inArray(jobs.kind, [...options.kinds]),
        or(
          and(QUEUED, lte(jobs.runAt, now)),
          and(RUNNING, lt(jobs.leaseUntil, now), lt(jobs.attempts, jobs.maxAttempts)),
        ),
      ),
    )
    .orderBy(asc(jobs.runAt), asc(jobs.id))
    .limit(1)
    .for('update', { skipLocked: true });
  const [row] = await db
    .update(jobs)
    .set({
      status: 'running',
      lockedBy: options.workerId,
      leaseUntil: new Date(now.getTime() + options.leaseMs),
      attempts: sql`${jobs.attempts} + 1`,
      updatedAt: now,
    })
    .where(eq(jobs.id, due))
    .returning();
  return row;
}

/**
 * Called when the queue gives a job up for good (failed with no attempt left, or its worker lost on the last
 * attempt), inside the transaction that marks it failed: whatever the job was working on ends with it, or neither
 * changes. `job` is the row as failed (its `lastError` is the reason).
 */
export type GiveUp = (tx: Tx, job: Job, now: Date) => Promise<void>;

export const LOST_ON_LAST_ATTEMPT = 'The worker running the job stopped responding on its last attempt.';

/**
 * Running jobs whose worker died on their last attempt: `claim` leaves them alone, so they are closed here as
 * failed rather than staying `running` forever, each with its kind's give-up hook in the same transaction.
 */
export async function failExhausted(
  db: Db,
  now: Date,
  giveUp: (kind: string) => GiveUp | undefined = () => undefined,
): Promise<number> {
  const lost = and(RUNNING, lt(jobs.leaseUntil, now), gte(jobs.attempts, jobs.maxAttempts));
  // Every poll asks: one indexed read, and a transaction per job only when there is something to give up, so one
  // job whose hook fails does not hold back the others.
  const candidates = await db.select({ id: jobs.id }).from(jobs).where(lost).limit(100);
  let failed = 0;
  const errors: unknown[] = [];
  for (const { id } of candidates) {
    try {
      failed += await db.transaction(async (tx) => {
        const [row] = await tx
          .update(jobs)
          .set({ status: 'failed', lastError: LOST_ON_LAST_ATTEMPT, leaseUntil: null, updatedAt: now })
          .where(and(eq(jobs.id, id), lost))
          .returning();
        if (row) await giveUp(row.kind)?.(tx, row, now);
        return row ? 1 : 0;
      });
    } catch (error) {
      errors.push(error);
    }
  }
  // The jobs whose hook failed stay as they were, and the next poll tries again.
  if (errors.length > 0) throw new AggregateError(errors, `could not give up ${errors.length} job(s)`);
  return failed;
}

const owned = (id: number, workerId: string) =>
  and(eq(jobs.id, id), eq(jobs.status, 'running'), eq(jobs.lockedBy, workerId));

/** Extends the lease. False when the job is no longer this worker's (taken over after expiry, or canceled). */
export async function renewLease(
  db: Executor,
  id: number,
  workerId: string,
  options: { leaseMs: number; now: Date },
): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ leaseUntil: new Date(options.now.getTime() + options.leaseMs), updatedAt: options.now })
    .where(owned(id, workerId))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

/** Marks the job done. False when the lease was lost: another worker owns the job now and its result stands. */
export async function complete(db: Executor, id: number, workerId: string, now: Date = new Date()): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ status: 'done', leaseUntil: null, lastError: null, updatedAt: now })
    .where(owned(id, workerId))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

/**
 * Records a failure: back to `queued` after a backoff when it is retryable and attempts remain, else `failed`.
 * Answers the new status, or undefined when the lease was lost (nothing changed). Attempts cannot change while
 * this worker owns the job, so reading them first and updating under the same ownership check is race-free.
 */
export async function fail(
  db: Db,
  id: number,
  workerId: string,
  error: string,
  options: { retryable: boolean; now: Date; giveUp?: GiveUp | undefined },
): Promise<'queued' | 'failed' | undefined> {
  return db.transaction((tx) => failIn(tx, id, workerId, error, options));
}

async function failIn(
  db: Tx,
  id: number,
  workerId: string,
  error: string,
  options: { retryable: boolean; now: Date; giveUp?: GiveUp | undefined },
): Promise<'queued' | 'failed' | undefined> {
  const [job] = await db
    .select({ attempts: jobs.attempts, maxAttempts: jobs.maxAttempts })
    .from(jobs)
    .where(owned(id, workerId));
  if (!job) return undefined;
  const retry = options.retryable && job.attempts < job.maxAttempts;
  const lastError = error.slice(0, ERROR_MAX);
  const [row] = await db
    .update(jobs)
    .set(
      retry
        ? {
            status: 'queued',
            runAt: new Date(options.now.getTime() + backoffMs(job.attempts)),
            lockedBy: null,
            leaseUntil: null,
            lastError,
            updatedAt: options.now,
          }
        : { status: 'failed', leaseUntil: null, lastError, updatedAt: options.now },
    )
    .where(owned(id, workerId))
    .returning();
  if (row?.status === 'failed') await options.giveUp?.(db, row, options.now);
  return row?.status as 'queued' | 'failed' | undefined;
}

/**
 * Gives a job back without counting the attempt: the worker is shutting down and the handler stopped early, so
 * another worker can start it at once instead of waiting for the lease to run out.
 */
export async function release(db: Executor, id: number, workerId: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({
      status: 'queued',
      runAt: now,
      lockedBy: null,
      leaseUntil: null,
      attempts: sql`greatest(${jobs.attempts} - 1, 0)`,
      updatedAt: now,
    })
    .where(owned(id, workerId))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

/**
 * Cancels a queued or running job. A running job's worker learns it at its next lease renewal (the renewal fails
 * and the handler's signal aborts). False when the job had already ended.
 */
export async function cancel(db: Executor, id: number, now: Date = new Date()): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ status: 'canceled', leaseUntil: null, updatedAt: now })
    .where(and(eq(jobs.id, id), inArray(jobs.status, ['queued', 'running'])))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

export async function findJob(db: Executor, id: number): Promise<Job | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
  return row;
}

export type QueueStats = { kind: string; status: 'queued' | 'running'; count: number; oldestRunAt: Date | null }[];

/**
 * The queue's depth for /metrics: waiting and running jobs per kind, and the oldest waiting job's due time. Only the
 * rows the partial indexes hold are counted, so the cost follows the backlog, not the history of done jobs.
 */
export async function queueStats(db: Executor): Promise<QueueStats> {
  const rows = await db
    .select({
      kind: jobs.kind,
      status: jobs.status,
      count: sql<number>`count(*)::int`,
      oldestRunAt: sql<Date | null>`min(${jobs.runAt})`,
    })
    .from(jobs)
    .where(or(QUEUED, RUNNING))
    .groupBy(jobs.kind, jobs.status);
  return rows.map((row) => ({
    kind: row.kind,
    status: row.status as 'queued' | 'running',
    count: Number(row.count),
    oldestRunAt: row.oldestRunAt === null ? null : new Date(row.oldestRunAt),
  }));
}
