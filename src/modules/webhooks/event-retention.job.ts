import type { Db } from '../../db/client.ts';
import type { JobHandler } from '../../jobs/runner.ts';
import type { Clock } from '../../lib/clock.ts';
import { ensureSingletonJob, pruneEvents } from './webhooks.repository.ts';

export const EVENT_RETENTION_JOB = 'events.prune';
const DAY_MS = 86_400_000;
const BATCH = 5_000;

/**
 * Queues the retention job unless it is queued or running already (safe from any number of processes starting at
 * once: an advisory lock orders them). Called when an API process with a worker starts and when a webhook is made.
 */
export async function ensureRetentionJob(db: Db, clock: Clock): Promise<void> {
  await db.transaction((tx) => ensureSingletonJob(tx, EVENT_RETENTION_JOB, clock.now()));
}

/**
 * Once a day: deletes the events older than EVENT_RETENTION that no pending delivery still needs, with their
 * deliveries and attempts, in batches (short transactions), then queues its next run a day later.
 */
export function createEventRetentionJob(deps: { db: Db; clock: Clock; retentionMs: number }): JobHandler {
  const { db, clock } = deps;
  return async (job, context) => {
    const before = new Date(clock.now().getTime() - deps.retentionMs);
    while (!context.signal.aborted && (await pruneEvents(db, before, BATCH)) === BATCH) {
      await context.renewLease();
    }
    if (context.signal.aborted) throw context.signal.reason;
    await db.transaction((tx) =>
      ensureSingletonJob(tx, EVENT_RETENTION_JOB, new Date(clock.now().getTime() + DAY_MS), job.id),
    );
  };
}
