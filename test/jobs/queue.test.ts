import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.ts';
import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  backoffMs,
  cancel,
  claim,
  complete,
  enqueue,
  fail,
  failExhausted,
  findJob,
  type Job,
  release,
  renewLease,
} from '../../src/jobs/queue.ts';
import { buildTestApp, type TestContext } from '../helpers/app.ts';

let ctx: TestContext;
let db: Db;
beforeAll(async () => {
  ctx = await buildTestApp();
  db = ctx.database.db;
});
afterAll(() => ctx.close());

const LEASE = 30_000;
// Each test uses kinds of its own, so tests sharing this file's database never claim each other's jobs.
const take = (kind: string, workerId = 'w1', leaseMs = LEASE) =>
  claim(db, { workerId, kinds: [kind], leaseMs, now: ctx.clock.now() });

describe('job queue', () => {
  it('enqueues, claims once, and completes', async () => {
    const id = await enqueue(db, { kind: 'q-basic', payload: { importFileId: 7 } });
    const before = ctx.clock.now().getTime();
    const job = await take('q-basic');
    expect(job).toMatchObject({ id, kind: 'q-basic', payload: { importFileId: 7 }, status: 'running' });
    expect(job).toMatchObject({ attempts: 1, maxAttempts: 5, lockedBy: 'w1' });
    expect(job!.leaseUntil!.getTime()).toBeGreaterThanOrEqual(before + LEASE);
    expect(await take('q-basic', 'w2')).toBeUndefined();

    expect(await complete(db, id, 'w1')).toBe(true);
    expect(await findJob(db, id)).toMatchObject({ status: 'done', leaseUntil: null });
    expect(await complete(db, id, 'w1')).toBe(false);
    expect(await take('q-basic')).toBeUndefined();
  });

  it("enqueues inside the caller's transaction: a rollback leaves no job", async () => {
    let id = 0;
    await expect(
      db.transaction(async (tx) => {
        id = await enqueue(tx, { kind: 'q-tx' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(id).toBeGreaterThan(0);
    expect(await findJob(db, id)).toBeUndefined();
    expect(await take('q-tx')).toBeUndefined();
  });

  it('claims only the kinds asked for, and only once run_at has come', async () => {
    const later = await enqueue(db, { kind: 'q-later', runAt: new Date(ctx.clock.now().getTime() + 60_000) });
    await enqueue(db, { kind: 'q-other' });
    expect(await claim(db, { workerId: 'w1', kinds: [], leaseMs: LEASE, now: ctx.clock.now() })).toBeUndefined();
    expect(await take('q-later')).toBeUndefined();
    ctx.clock.advance(60_001);
    expect(await take('q-later')).toMatchObject({ id: later });
  });

  it('claims due jobs oldest first', async () => {
    const now = ctx.clock.now().getTime();
    const second = await enqueue(db, { kind: 'q-order', runAt: new Date(now - 1_000) });
    const first = await enqueue(db, { kind: 'q-order', runAt: new Date(now - 2_000) });
    expect((await take('q-order'))?.id).toBe(first);
    expect((await take('q-order'))?.id).toBe(second);
  });

  it('never gives one job to two workers claiming at once, each on its own connection', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 40; i += 1) ids.push(await enqueue(db, { kind: 'q-race' }));
    const workers = Array.from({ length: 8 }, (_, n) => `racer-${n}`);
    // withSession: a dedicated pooled connection per worker on PostgreSQL (PGlite is one connection anyway).
    const claimed = await Promise.all(
      workers.map((workerId) =>
        ctx.database.withSession(async (session) => {
          const mine: Job[] = [];
          for (;;) {
            const job = await claim(session, { workerId, kinds: ['q-race'], leaseMs: LEASE, now: ctx.clock.now() });
            if (!job) return mine;
            mine.push(job);
          }
        }),
      ),
    );
    const all = claimed.flat();
    expect(all.map((job) => job.id).sort((a, b) => a - b)).toEqual(ids);
    for (const [n, jobs] of claimed.entries()) {
      for (const job of jobs) expect(await findJob(db, job.id)).toMatchObject({ lockedBy: workers[n], attempts: 1 });
    }
  });

  it("gives a job whose lease ran out to another worker; the first one's renewal then fails", async () => {
    const id = await enqueue(db, { kind: 'q-lease' });
    await take('q-lease', 'w1', 1_000);
    expect(await take('q-lease', 'w2', 1_000)).toBeUndefined();
    expect(await renewLease(db, id, 'w1', { leaseMs: 1_000, now: ctx.clock.now() })).toBe(true);

    ctx.clock.advance(1_001);
    const reclaimed = await take('q-lease', 'w2', 1_000);
    expect(reclaimed).toMatchObject({ id, status: 'running', lockedBy: 'w2', attempts: 2 });

    expect(await renewLease(db, id, 'w1', { leaseMs: 1_000, now: ctx.clock.now() })).toBe(false);
    expect(await complete(db, id, 'w1')).toBe(false);
    expect(await fail(db, id, 'w1', 'late', { retryable: true, now: ctx.clock.now() })).toBeUndefined();
    expect(await release(db, id, 'w1', ctx.clock.now())).toBe(false);
    expect(await findJob(db, id)).toMatchObject({ status: 'running', lockedBy: 'w2' });
    expect(await renewLease(db, id, 'w2', { leaseMs: 1_000, now: ctx.clock.now() })).toBe(true);
    expect(await complete(db, id, 'w2')).toBe(true);
  });

  it('retries a failed job after a growing backoff, then fails it after max_attempts', async () => {
    const id = await enqueue(db, { kind: 'q-retry', maxAttempts: 3 });
    for (const attempt of [1, 2]) {
      const job = await take('q-retry');
      expect(job).toMatchObject({ id, attempts: attempt });
      const now = ctx.clock.now();
      expect(await fail(db, id, 'w1', `boom ${attempt}`, { retryable: true, now })).toBe('queued');
      const queued = await findJob(db, id);
      expect(queued).toMatchObject({ status: 'queued', lockedBy: null, lastError: `boom ${attempt}` });
      const delay = queued!.runAt.getTime() - now.getTime();
      const exponential = BACKOFF_BASE_MS * 2 ** (attempt - 1);
      expect(delay).toBeGreaterThanOrEqual(exponential / 2);
      expect(delay).toBeLessThanOrEqual(exponential);
      expect(await take('q-retry')).toBeUndefined();
      ctx.clock.advance(delay);
    }
    await take('q-retry');
    expect(await fail(db, id, 'w1', 'boom 3', { retryable: true, now: ctx.clock.now() })).toBe('failed');
    expect(await findJob(db, id)).toMatchObject({ status: 'failed', attempts: 3, lastError: 'boom 3' });
    ctx.clock.advance(BACKOFF_CAP_MS);
    expect(await take('q-retry')).toBeUndefined();
  });

  it('fails a job at once when the error is not retryable', async () => {
    const id = await enqueue(db, { kind: 'q-permanent' });
    await take('q-permanent');
    expect(await fail(db, id, 'w1', 'corrupt file', { retryable: false, now: ctx.clock.now() })).toBe('failed');
    expect(await findJob(db, id)).toMatchObject({ status: 'failed', attempts: 1, lastError: 'corrupt file' });
  });

  it('fails a job whose worker died on its last attempt instead of running it again', async () => {
    const id = await enqueue(db, { kind: 'q-exhausted', maxAttempts: 1 });
    await take('q-exhausted', 'w1', 1_000);
    ctx.clock.advance(1_001);
    expect(await take('q-exhausted', 'w2')).toBeUndefined();
    expect(await failExhausted(db, ctx.clock.now())).toBeGreaterThanOrEqual(1);
    const job = await findJob(db, id);
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job!.lastError).toMatch(/stopped responding/);
  });

  it('releases a job without counting the attempt', async () => {
    const id = await enqueue(db, { kind: 'q-release' });
    await take('q-release');
    expect(await release(db, id, 'w1', ctx.clock.now())).toBe(true);
    expect(await findJob(db, id)).toMatchObject({ status: 'queued', attempts: 0, lockedBy: null, leaseUntil: null });
    expect(await take('q-release', 'w2')).toMatchObject({ id, attempts: 1, lockedBy: 'w2' });
  });

  it('cancels queued and running jobs; a running job loses its lease', async () => {
    const queued = await enqueue(db, { kind: 'q-cancel' });
    expect(await cancel(db, queued)).toBe(true);
    expect(await take('q-cancel')).toBeUndefined();

    const running = await enqueue(db, { kind: 'q-cancel' });
    await take('q-cancel');
    expect(await cancel(db, running)).toBe(true);
    expect(await renewLease(db, running, 'w1', { leaseMs: LEASE, now: ctx.clock.now() })).toBe(false);
    expect(await complete(db, running, 'w1')).toBe(false);
    expect(await findJob(db, running)).toMatchObject({ status: 'canceled' });

    expect(await cancel(db, running)).toBe(false);
  });
});

describe('backoff', () => {
  it('doubles from the base, jittered within half of it, capped', () => {
    expect(backoffMs(1, () => 0)).toBe(BACKOFF_BASE_MS / 2);
    expect(backoffMs(1, () => 1)).toBe(BACKOFF_BASE_MS);
    expect(backoffMs(3, () => 1)).toBe(BACKOFF_BASE_MS * 4);
    expect(backoffMs(30, () => 1)).toBe(BACKOFF_CAP_MS);
    expect(backoffMs(30, () => 0)).toBe(BACKOFF_CAP_MS / 2);
  });
});
