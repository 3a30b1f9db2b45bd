import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/client.ts';
import { isDatabaseUnavailable } from '../db/faults.ts';
import type { Clock } from '../lib/clock.ts';
import { claim, complete, fail, failExhausted, type GiveUp, type Job, release, renewLease } from './queue.ts';

export type { Job } from './queue.ts';

export type JobContext = {
  workerId: string;
  /** Aborted when the lease is lost (another worker took the job over, or it was canceled) or the runner stops. */
  signal: AbortSignal;
  /** Extends the lease now (the runner also does it every leaseMs/3); false, and `signal` aborts, once it is lost. */
  renewLease(): Promise<boolean>;
};

export type JobHandler = (job: Job, context: JobContext) => Promise<void>;
/**
 * A kind's handler, and what to do when the queue gives one of its jobs up for good (attempts exhausted, or its
 * worker lost on the last attempt): called in the transaction that marks the job failed, so the feature's own
 * record (an import) cannot stay "processing" behind a failed job.
 */
export type JobKind = { run: JobHandler; onGiveUp?: GiveUp };
/** Per kind: a bare handler, or a handler with its give-up hook. */
export type JobHandlers = Record<string, JobHandler | JobKind>;

export type { GiveUp } from './queue.ts';

function kindOf(handlers: JobHandlers, kind: string): JobKind | undefined {
  const entry = handlers[kind];
  return typeof entry === 'function' ? { run: entry } : entry;
}

type LogFn = (obj: unknown, msg?: string) => void;
export type JobLogger = { info: LogFn; warn: LogFn; error: LogFn };

/**
 * The reason of an aborted `context.signal`: the worker is stopping (the job goes back to the queue for another
 * worker, its attempt not counted) or the lease was lost (another worker owns the job now, or it was canceled).
 */
export class JobInterruptedError extends Error {
  override name = 'JobInterruptedError';
  constructor(
    readonly interruption: 'stopping' | 'lease-lost',
    message: string,
  ) {
    super(message);
  }
}

/** Thrown by a handler when retrying cannot help (a corrupt file, a deleted company): the job fails at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

export type JobRunnerOptions = {
  /** Never a transaction: the runner's own statements commit on their own, and handlers open their own. */
  db: Db;
  /** Read at every claim, so kinds added to the object later are picked up. */
  handlers: JobHandlers;
  clock: Clock;
  logger: JobLogger;
  workerId?: string;
  concurrency?: number;
  pollMs?: number;
  leaseMs?: number;
  /** How long stop() waits for running handlers before giving up on them (their leases then run out). */
  stopTimeoutMs?: number;
  /** Told how each run ended and how long it took (the metrics of /metrics). */
  observe?: JobObserver;
};

/** `done`; `retry` (failed, queued again); `failed` (for good); `released` (handed back, attempt not counted). */
export type JobOutcome = 'done' | 'retry' | 'failed' | 'released';
export type JobObserver = (kind: string, outcome: JobOutcome, seconds: number) => void;

export type JobRunner = ReturnType<typeof createJobRunner>;

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** How often a job that lost the database tries to hand itself back. */
const DATABASE_RETRY_MS = 1_000;

type Running = { job: Job; controller: AbortController; stopping: boolean; done: Promise<void> };

/**
 * Polls the jobs table and runs claimed jobs with their kind's handler, up to `concurrency` at a time. Timers are
 * unref'd: the runner never keeps a process alive by itself (the HTTP server or the worker command does).
 */
export function createJobRunner(options: JobRunnerOptions) {
  const { db, handlers, clock, logger } = options;
  const observe = options.observe ?? (() => {});
  const workerId = options.workerId ?? defaultWorkerId();
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const pollMs = options.pollMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const running = new Map<number, Running>();
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let pollAgain = false;

  const giveUpOf = (kind: string) => kindOf(handlers, kind)?.onGiveUp;

  async function claimNext(): Promise<Job | undefined> {
    return claim(db, { workerId, kinds: Object.keys(handlers), leaseMs, now: clock.now() });
  }

  /** Keeps the lease while the handler runs; aborts the handler if renewals stop succeeding before it runs out. */
  function keepLease(entry: Running) {
    let leaseUntil = entry.job.leaseUntil?.getTime() ?? 0;
    let heartbeat: NodeJS.Timeout | undefined;
    let finished = false;
    const lost = (reason: string) => {
      if (finished || entry.controller.signal.aborted) return;
      logger.warn({ jobId: entry.job.id, kind: entry.job.kind, workerId }, reason);
      entry.controller.abort(new JobInterruptedError('lease-lost', reason));
    };
    const renew = async (): Promise<boolean> => {
      // While stopping, the lease is still kept: the handler is winding down and must not be taken over meanwhile.
      if (finished || (entry.controller.signal.aborted && !entry.stopping)) return false;
      const now = clock.now();
      try {
        if (await renewLease(db, entry.job.id, workerId, { leaseMs, now })) {
          leaseUntil = now.getTime() + leaseMs;
          return true;
        }
        lost('job lease lost: taken over by another worker or canceled');
        return false;
      } catch (error) {
        // A database blip: carry on while the lease still holds; past it, another worker may have the job.
        logger.error({ err: error, jobId: entry.job.id }, 'job lease renewal failed');
        if (clock.now().getTime() < leaseUntil) return true;
        lost('job lease expired while it could not be renewed');
        return false;
      }
    };
    const schedule = () => {
      heartbeat = setTimeout(async () => {
        if (await renew()) schedule();
      }, leaseMs / 3).unref();
    };
    schedule();
    return {
      renew,
      /** When the lease runs out unless renewed (ms since the epoch, on `clock`). */
      until: () => leaseUntil,
      stop: () => {
        finished = true;
        clearTimeout(heartbeat);
      },
    };
  }

  /** Runs one claimed job to its end: done, retried, failed, or released when stopped. Never throws. */
  async function execute(entry: Running): Promise<void> {
    const { job, controller } = entry;
    const lease = keepLease(entry);
    const context: JobContext = { workerId, signal: controller.signal, renewLease: lease.renew };
    const log = { jobId: job.id, kind: job.kind, attempt: job.attempts, workerId };
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let failure: { error: unknown } | undefined;
    try {
      const handler = kindOf(handlers, job.kind)?.run;
      if (!handler) throw new PermanentJobError(`No handler for job kind "${job.kind}".`);
      await handler(job, context);
    } catch (error) {
      failure = { error };
    } finally {
      lease.stop();
    }
    if (failure) {
      const outcome = await settleFailure(entry, failure.error, log, lease.until());
      if (outcome) observe(job.kind, outcome, seconds());
      return;
    }
    try {
      if (await complete(db, job.id, workerId, clock.now())) {
        logger.info(log, 'job done');
        observe(job.kind, 'done', seconds());
      } else logger.warn(log, 'job finished after its lease was lost; its completion was not recorded');
    } catch (error) {
      // The lease will run out and the job run again: handlers are written to be safe to repeat.
      logger.error({ ...log, err: error }, 'could not record the job completion');
    }
  }

  /** Records a failed run; answers how it ended, or undefined when nothing could be recorded. */
  async function settleFailure(
    entry: Running,
    error: unknown,
    log: Record<string, unknown>,
    leaseUntil: number,
  ): Promise<JobOutcome | undefined> {
    const permanent = error instanceof PermanentJobError;
    if (!permanent && isDatabaseUnavailable(error)) {
      // The database went away under the job: not the job's fault, so its attempt is not counted. It goes back to
      // the queue as soon as the database answers, within what is left of the lease; past that, the lease runs out
      // and the next claim retries it (resuming from its checkpoint, for an import).
      if (await releaseWhenReachable(entry, leaseUntil)) {
        logger.warn({ ...log, err: error }, 'job released: the database was unavailable');
        return 'released';
      }
      return undefined;
    }
    const now = clock.now();
    try {
      if (entry.stopping && !permanent) {
        if (await release(db, entry.job.id, workerId, now)) {
          logger.info(log, 'job released: the worker is stopping');
          return 'released';
        }
        return undefined;
      }
      const message = error instanceof Error ? error.message : String(error);
      const giveUp = kindOf(handlers, entry.job.kind)?.onGiveUp;
      const status = await fail(db, entry.job.id, workerId, message, { retryable: !permanent, now, giveUp });
      if (status === 'queued') {
        logger.warn({ ...log, err: error }, 'job failed; it will be retried');
        return 'retry';
      }
      if (status === 'failed') {
        logger.error({ ...log, err: error }, 'job failed');
        return 'failed';
      }
      logger.warn({ ...log, err: error }, 'job failed after its lease was lost');
    } catch (dbError) {
      // The lease will run out and another claim retries the job.
      logger.error({ ...log, err: dbError }, 'could not record the job failure');
    }
    return undefined;
  }

  async function releaseWhenReachable(entry: Running, until: number): Promise<boolean> {
    while (clock.now().getTime() < until && !entry.stopping) {
      try {
        return await release(db, entry.job.id, workerId, clock.now());
      } catch (error) {
        if (!isDatabaseUnavailable(error)) {
          logger.error({ jobId: entry.job.id, err: error }, 'could not release the job');
          return false;
        }
        await sleep(DATABASE_RETRY_MS);
      }
    }
    return false;
  }

  function launch(job: Job): Running {
    const entry: Running = { job, controller: new AbortController(), stopping: false, done: Promise.resolve() };
    entry.done = execute(entry).finally(() => {
      running.delete(job.id);
      if (started) wake();
    });
    running.set(job.id, entry);
    return entry;
  }

  /** Claims while there is a free slot and work to do, then sleeps for pollMs (or until notify()). */
  function poll(): Promise<void> {
    if (polling) {
      pollAgain = true;
      return polling;
    }
    polling = fillSlots().finally(() => {
      polling = undefined;
      if (started) {
        clearTimeout(timer);
        timer = setTimeout(wake, pollMs).unref();
      }
    });
    return polling;
  }

  async function fillSlots(): Promise<void> {
    try {
      do {
        pollAgain = false;
        await failExhausted(db, clock.now(), giveUpOf);
        while (started && running.size < concurrency) {
          const job = await claimNext();
          if (!job) break;
          launch(job);
        }
      } while (pollAgain && started);
    } catch (error) {
      logger.error({ err: error, workerId }, 'job polling failed');
    }
  }

  function wake() {
    clearTimeout(timer);
    void poll();
  }

  return {
    workerId,
    start(): void {
      if (started) return;
      started = true;
      logger.info({ workerId, kinds: Object.keys(handlers), concurrency }, 'job worker started');
      wake();
    },
    /** Work was just enqueued: look now rather than at the next poll. */
    notify(): void {
      if (started) wake();
    },
    /**
     * Stops claiming, aborts running handlers' signals (they should stop at their next safe point) and waits for
     * them, at most stopTimeoutMs. A handler that ends by throwing is released for another worker, not failed; one
     * still running at the deadline has its job released anyway, so another worker starts it at once instead of
     * after the lease (handlers are safe to repeat, and the process is about to end).
     */
    async stop(timeoutMs: number = stopTimeoutMs): Promise<void> {
      started = false;
      clearTimeout(timer);
      // A claim in flight may still launch a job: wait for it, so that job is stopped with the others.
      await polling;
      for (const entry of running.values()) {
        entry.stopping = true;
        entry.controller.abort(new JobInterruptedError('stopping', 'The job worker is stopping.'));
      }
      let timeout: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        Promise.all([...running.values()].map((entry) => entry.done)).then(() => true),
        new Promise<false>((resolve) => {
          timeout = setTimeout(() => resolve(false), timeoutMs).unref();
        }),
      ]);
      clearTimeout(timeout);
      if (waited) {
        logger.info({ workerId }, 'job worker stopped');
        return;
      }
      const handedBack: number[] = [];
      for (const entry of running.values()) {
        try {
          if (await release(db, entry.job.id, workerId, clock.now())) handedBack.push(entry.job.id);
        } catch (error) {
          // Its lease runs out and another worker claims it then.
          logger.error({ err: error, jobId: entry.job.id, workerId }, 'could not release the job');
        }
      }
      logger.warn(
        { workerId, jobs: [...running.keys()], released: handedBack },
        'job worker stopped with jobs still running; released them',
      );
    },
    /** Claims and runs one job if one is due; answers it (for tests and one-shot commands). */
    async runOnce(): Promise<Job | undefined> {
      await failExhausted(db, clock.now(), giveUpOf).catch((error: unknown) => {
        logger.error({ err: error, workerId }, 'could not give up exhausted jobs');
      });
      const job = await claimNext();
      if (!job) return undefined;
      await launch(job).done;
      return job;
    },
    /** Ids of the jobs running now. */
    running(): number[] {
      return [...running.keys()];
    },
  };
}
