import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/client.ts';
import { claim, enqueue, findJob } from '../../src/jobs/queue.ts';
import {
  createJobRunner,
  type JobContext,
  type JobHandlers,
  JobInterruptedError,
  type JobLogger,
  PermanentJobError,
} from '../../src/jobs/runner.ts';
import { buildTestApp, type TestContext } from '../helpers/app.ts';
import { CLI, start, stop } from '../helpers/processes.ts';

let ctx: TestContext;
let db: Db;
beforeAll(async () => {
  ctx = await buildTestApp();
  db = ctx.database.db;
});
afterAll(() => ctx.close());

const silent: JobLogger = { info() {}, warn() {}, error() {} };

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Lets pending callbacks and promise continuations run, without waiting for any amount of time. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

function runner(handlers: JobHandlers, options: { workerId?: string; leaseMs?: number; concurrency?: number } = {}) {
  // A long poll interval: the tests drive the runner through start(), notify() and runOnce(), never through time.
  return createJobRunner({ db, handlers, clock: ctx.clock, logger: silent, pollMs: 60_000, ...options });
}

describe('job runner', () => {
  it('runs a due job with its handler and marks it done', async () => {
    const seen: unknown[] = [];
    const jobs = runner({
      'r-echo': async (job, context) => {
        seen.push(job.payload, context.workerId, context.signal.aborted);
      },
    });
    expect(await jobs.runOnce()).toBeUndefined();
    const id = await enqueue(db, { kind: 'r-echo', payload: { hello: 'world' } });
    expect(await jobs.runOnce()).toMatchObject({ id });
    expect(seen).toEqual([{ hello: 'world' }, jobs.workerId, false]);
    expect(await findJob(db, id)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('retries a throwing handler with backoff, then fails the job after max_attempts', async () => {
    let calls = 0;
    const jobs = runner({
      'r-flaky': async () => {
        calls += 1;
        throw new Error(`database blip ${calls}`);
      },
    });
    const id = await enqueue(db, { kind: 'r-flaky', maxAttempts: 2 });
    await jobs.runOnce();
    const retried = await findJob(db, id);
    expect(retried).toMatchObject({ status: 'queued', attempts: 1, lastError: 'database blip 1' });
    expect(await jobs.runOnce()).toBeUndefined();

    ctx.clock.advance(retried!.runAt.getTime() - ctx.clock.now().getTime() + 1);
    await jobs.runOnce();
    expect(await findJob(db, id)).toMatchObject({ status: 'failed', attempts: 2, lastError: 'database blip 2' });
    expect(calls).toBe(2);
  });

  it('fails the job at once on a PermanentJobError', async () => {
    const jobs = runner({
      'r-permanent': async () => {
        throw new PermanentJobError('The file is not a spreadsheet.');
      },
    });
    const id = await enqueue(db, { kind: 'r-permanent' });
    await jobs.runOnce();
    expect(await findJob(db, id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'The file is not a spreadsheet.',
    });
  });

  it('aborts the handler when another worker took over its expired lease, and does not record its result', async () => {
    const started = deferred();
    const proceed = deferred();
    let renewed: boolean | undefined;
    let aborted: unknown;
    const jobs = runner(
      {
        'r-lost': async (_job, context) => {
          started.resolve();
          await proceed.promise;
          renewed = await context.renewLease();
          aborted = context.signal.reason;
        },
      },
      // A lease long enough that the heartbeat (at a third of it, in real time) cannot renew it during the test.
      { workerId: 'slow', leaseMs: 60_000 },
    );
    const id = await enqueue(db, { kind: 'r-lost' });
    const run = jobs.runOnce();
    await started.promise;
    ctx.clock.advance(60_001);
    const takeover = await claim(db, { workerId: 'fast', kinds: ['r-lost'], leaseMs: 30_000, now: ctx.clock.now() });
    expect(takeover).toMatchObject({ id, attempts: 2 });
    proceed.resolve();
    await run;
    expect(renewed).toBe(false);
    expect(aborted).toBeInstanceOf(JobInterruptedError);
    expect(aborted).toMatchObject({ interruption: 'lease-lost' });
    expect(await findJob(db, id)).toMatchObject({ status: 'running', lockedBy: 'fast' });
  });

  it('renews the lease on its own while a handler runs', async () => {
    const leaseMs = 300;
    const jobs = runner(
      {
        'r-heartbeat': async (job) => {
          // Waits until the runner's heartbeat (every leaseMs/3) has moved the lease past the claim's.
          for (;;) {
            const current = await findJob(db, job.id);
            if (current!.leaseUntil!.getTime() > job.leaseUntil!.getTime()) return;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        },
      },
      { leaseMs },
    );
    const id = await enqueue(db, { kind: 'r-heartbeat' });
    await jobs.runOnce();
    expect(await findJob(db, id)).toMatchObject({ status: 'done' });
  });

  it('starts handlers on notify() and runs up to `concurrency` of them at once', async () => {
    const bothRunning = deferred();
    const finish = deferred();
    let active = 0;
    let peak = 0;
    const jobs = runner(
      {
        'r-parallel': async () => {
          active += 1;
          peak = Math.max(peak, active);
          if (active === 2) bothRunning.resolve();
          await finish.promise;
          active -= 1;
        },
      },
      { concurrency: 2 },
    );
    jobs.start();
    const ids = [await enqueue(db, { kind: 'r-parallel' }), await enqueue(db, { kind: 'r-parallel' })];
    ids.push(await enqueue(db, { kind: 'r-parallel' }));
    jobs.notify();
    await bothRunning.promise;
    expect(jobs.running()).toHaveLength(2);
    finish.resolve();
    // The third job starts as soon as a slot frees up; all three end done.
    for (;;) {
      const statuses = await Promise.all(ids.map(async (id) => (await findJob(db, id))!.status));
      if (statuses.every((status) => status === 'done')) break;
      await turn();
    }
    await jobs.stop();
    expect(peak).toBe(2);
  });

  it('stop() aborts the signal and waits for the running handler to finish', async () => {
    const started = deferred<JobContext>();
    const finish = deferred();
    const order: string[] = [];
    const jobs = runner({
      'r-graceful': async (_job, context) => {
        started.resolve(context);
        await finish.promise;
        order.push('handler finished');
      },
    });
    const id = await enqueue(db, { kind: 'r-graceful' });
    jobs.start();
    const context = await started.promise;
    const stopped = jobs.stop().then(() => order.push('stopped'));
    for (let i = 0; i < 5; i += 1) await turn();
    expect(context.signal.reason).toMatchObject({ interruption: 'stopping' });
    expect(order).toEqual([]);
    finish.resolve();
    await stopped;
    expect(order).toEqual(['handler finished', 'stopped']);
    expect(await findJob(db, id)).toMatchObject({ status: 'done' });
  });

  it('gives back, without counting the attempt, a job whose handler stopped because the runner is stopping', async () => {
    const started = deferred();
    const jobs = runner({
      'r-interrupted': async (_job, context) => {
        started.resolve();
        await new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => reject(context.signal.reason));
        });
      },
    });
    const id = await enqueue(db, { kind: 'r-interrupted' });
    jobs.start();
    await started.promise;
    await jobs.stop();
    expect(await findJob(db, id)).toMatchObject({ status: 'queued', attempts: 0, lockedBy: null });
  });
});

describe('where the worker runs', () => {
  it('is off in test apps, on by default, and WORKER must be on or off', () => {
    expect(ctx.config.worker).toBe('off');
    expect(loadConfig({})).toMatchObject({ worker: 'on', workerConcurrency: 2, jobLeaseMs: 30_000 });
    expect(loadConfig({ WORKER: 'off', JOB_LEASE: '2m' })).toMatchObject({ worker: 'off', jobLeaseMs: 120_000 });
    expect(() => loadConfig({ WORKER: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig({ WORKER: 'maybe' })).toThrow(/WORKER must be on or off/);
  });

  it('runs in the API process with WORKER=on, and stops with it', async () => {
    const ran = deferred<number>();
    const id = await enqueue(db, { kind: 'r-embedded' });
    const app = await buildApp({
      config: { ...ctx.config, worker: 'on' },
      database: ctx.database,
      clock: ctx.clock,
      logger: false,
      jobHandlers: { 'r-embedded': async (job) => ran.resolve(job.id) },
    });
    expect(await ran.promise).toBe(id);
    await app.close();
    expect(await findJob(db, id)).toMatchObject({ status: 'done' });
  });

  it('the worker command starts on an embedded DATA_DIR, serves its metrics, and exits 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadsy-worker-'));
    const token = 'worker-scraper-secret-0123456789';
    try {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        WORKER_METRICS_PORT: '0',
        METRICS_TOKEN: token,
        HOST: '127.0.0.1',
      };
      delete env.DATABASE_URL;
      delete env.WORKER;
      const child = start(CLI, ['worker'], env);
      let output = '';
      const started = deferred();
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Leadsy worker started')) started.resolve();
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await Promise.race([started.promise, exited]);
      expect(output).toContain('worker started');
      // Its own /metrics (a worker has no API), behind the same token as the API's.
      const startLine = JSON.parse(output.split('\n').find((line) => line.includes('Leadsy worker started'))!);
      const url = `http://127.0.0.1:${startLine.metricsPort}/metrics`;
      expect((await fetch(url)).status).toBe(401);
      const scraped = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(scraped.status).toBe(200);
      const text = await scraped.text();
      expect(text).toMatch(/^leadsy_build_info\{/m);
      expect(text).toMatch(/^leadsy_database_up 1$/m);
      stop(child, 'SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('job worker stopped');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
