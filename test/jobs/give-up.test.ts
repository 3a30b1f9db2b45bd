import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.ts';
import { claim, enqueue, findJob } from '../../src/jobs/queue.ts';
import { createJobRunner, type JobHandlers, type JobLogger } from '../../src/jobs/runner.ts';
import { IMPORT_JOB } from '../../src/modules/imports/import.job.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam } from '../helpers/factories.ts';
import { runJobs } from '../helpers/jobs.ts';
import { multipart } from '../helpers/multipart.ts';

/**
 * Issue 12, repro 3: an import whose job ran out of attempts (its worker killed at every claim) stayed `processing`
 * forever, with no error and no finish time, and DELETE answered 200 without changing it. The queue now calls the
 * kind's give-up hook in the transaction that fails the job, and a cancel works in every state.
 */
let ctx: TestContext;
let db: Db;
beforeAll(async () => {
  ctx = await buildTestApp({ JOB_LEASE: '5s' });
  db = ctx.database.db;
});
afterAll(() => ctx.close());

const silent: JobLogger = { info() {}, warn() {}, error() {} };
type Team = Awaited<ReturnType<typeof companyWithTeam>>;

async function upload(t: Team, rows = 3): Promise<Json> {
  const csv = `email\n${Array.from({ length: rows }, (_, i) => `row${i}.${t.company.id}@example.com`).join('\n')}\n`;
  const body = await multipart({ file: { data: Buffer.from(csv), filename: 'leads.csv', type: 'text/csv' } });
  const response = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/imports`, {
    token: t.admin.token,
    ...body,
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.body_json.import_file;
}

async function jobOf(importId: number): Promise<number> {
  const result = await db.execute<{ job_id: number }>(sql`select job_id from import_files where id = ${importId}`);
  return Number(result.rows[0]!.job_id);
}

const show = async (t: Team, id: number) =>
  (await call(ctx.app, 'GET', `/api/v1/companies/${t.company.id}/imports/${id}`, { token: t.admin.token })).body_json
    .import_file as Json;

const cancel = (t: Team, id: number) =>
  call(ctx.app, 'DELETE', `/api/v1/companies/${t.company.id}/imports/${id}`, { token: t.admin.token });

/** A worker claims the import's job and dies at once, as the import handler's first step had marked it running. */
async function claimAndDie(importId: number) {
  const job = await claim(db, { workerId: 'doomed', kinds: [IMPORT_JOB], leaseMs: 5_000, now: ctx.clock.now() });
  expect(job?.id).toBe(await jobOf(importId));
  await db.execute(
    sql`update import_files set status = 'processing', started_at = coalesce(started_at, now()) where id = ${importId}`,
  );
  ctx.clock.advance(5_001);
}

const lastAttempt = async (importId: number) =>
  db.execute(sql`update jobs set attempts = max_attempts - 1 where id = ${await jobOf(importId)}`);

describe('a job given up reaches its import', () => {
  it('ends the import failed, with the reason and a finish time, when its worker dies on the last attempt', async () => {
    const t = await companyWithTeam(ctx);
    const created = await upload(t);
    await lastAttempt(created.id);
    await claimAndDie(created.id);
    // Any worker's next poll gives the job up.
    await runJobs(ctx);

    const job = await findJob(db, await jobOf(created.id));
    expect(job).toMatchObject({ status: 'failed' });
    const ended = await show(t, created.id);
    expect(ended).toMatchObject({ status: 'failed', imported_rows: 0 });
    expect(ended.error_message).toMatch(/given up after 25 attempts .*stopped responding/);
    expect(ended.finished_at).not.toBeNull();
    // Finished: the cancel says so and changes nothing.
    const refused = await cancel(t, created.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.body_json.code).toBe('import_finished');
    expect((await show(t, created.id)).status).toBe('failed');
  });

  it('ends it canceled instead when a cancel was waiting for the lost worker’s next batch', async () => {
    const t = await companyWithTeam(ctx);
    const created = await upload(t);
    await lastAttempt(created.id);
    const job = await claim(db, { workerId: 'doomed', kinds: [IMPORT_JOB], leaseMs: 5_000, now: ctx.clock.now() });
    await db.execute(sql`update import_files set status = 'processing' where id = ${created.id}`);
    const asked = await cancel(t, created.id);
    expect(asked.statusCode).toBe(200);
    expect(asked.body_json.import_file).toMatchObject({ status: 'processing', cancel_requested: true });
    ctx.clock.advance(5_001);
    await runJobs(ctx);
    expect(await findJob(db, job!.id)).toMatchObject({ status: 'failed' });
    const ended = await show(t, created.id);
    expect(ended).toMatchObject({ status: 'canceled', cancel_requested: true, error_message: null });
    expect(ended.finished_at).not.toBeNull();
  });
});

describe('cancel, in every state', () => {
  it('pending: canceled at once, its job with it', async () => {
    const t = await companyWithTeam(ctx);
    const created = await upload(t);
    const response = await cancel(t, created.id);
    expect(response.statusCode).toBe(200);
    expect(response.body_json.import_file).toMatchObject({ status: 'canceled', cancel_requested: true });
    expect(response.body_json.import_file.finished_at).not.toBeNull();
    expect(await findJob(db, await jobOf(created.id))).toMatchObject({ status: 'canceled' });
    // Canceled: 200, unchanged.
    const again = await cancel(t, created.id);
    expect(again.statusCode).toBe(200);
    expect(again.body_json.import_file).toEqual(response.body_json.import_file);
  });

  it('processing while its job waits for a retry: canceled at once', async () => {
    const t = await companyWithTeam(ctx);
    const created = await upload(t);
    await claimAndDie(created.id);
    // The lease ran out; the job is due again but no worker has claimed it yet.
    await db.execute(
      sql`update jobs set status = 'queued', locked_by = null, lease_until = null where id = ${await jobOf(created.id)}`,
    );
    const response = await cancel(t, created.id);
    expect(response.body_json.import_file).toMatchObject({ status: 'canceled' });
    expect(await findJob(db, await jobOf(created.id))).toMatchObject({ status: 'canceled' });
    await runJobs(ctx);
    expect((await show(t, created.id)).imported_rows).toBe(0);
  });

  it('processing behind a job that already ended (the state repro 3 left behind): canceled at once', async () => {
    const t = await companyWithTeam(ctx);
    const created = await upload(t);
    await claimAndDie(created.id);
    await db.execute(sql`update jobs set status = 'failed', lease_until = null where id = ${await jobOf(created.id)}`);
    const response = await cancel(t, created.id);
    expect(response.statusCode).toBe(200);
    expect(response.body_json.import_file).toMatchObject({ status: 'canceled' });
    expect(response.body_json.import_file.finished_at).not.toBeNull();
  });

  it('completed: 409, unchanged', async () => {
    const t = await companyWithTeam(ctx);
    const created = await upload(t);
    await runJobs(ctx);
    expect((await show(t, created.id)).status).toBe('completed');
    expect((await cancel(t, created.id)).statusCode).toBe(409);
    expect((await show(t, created.id)).status).toBe('completed');
  });
});

describe('the give-up hook of the runner', () => {
  function runner(handlers: JobHandlers) {
    return createJobRunner({ db, handlers, clock: ctx.clock, logger: silent, pollMs: 60_000 });
  }

  it('is called with the failed job when the last attempt throws, in the transaction that fails it', async () => {
    const seen: Json[] = [];
    const jobs = runner({
      'g-last': {
        run: async () => {
          throw new Error('the remote end is gone');
        },
        onGiveUp: async (tx, job, now) => {
          const inside = await tx.execute<{ status: string }>(sql`select status from jobs where id = ${job.id}`);
          seen.push({ status: job.status, lastError: job.lastError, visible: inside.rows[0]!.status, now });
        },
      },
    });
    const id = await enqueue(db, { kind: 'g-last', maxAttempts: 1 });
    await jobs.runOnce();
    expect(seen).toEqual([
      { status: 'failed', lastError: 'the remote end is gone', visible: 'failed', now: expect.any(Date) },
    ]);
    expect(await findJob(db, id)).toMatchObject({ status: 'failed' });
  });

  it('is not called while attempts remain', async () => {
    let calls = 0;
    const jobs = runner({
      'g-retry': {
        run: async () => {
          throw new Error('blip');
        },
        onGiveUp: async () => {
          calls += 1;
        },
      },
    });
    const id = await enqueue(db, { kind: 'g-retry', maxAttempts: 2 });
    await jobs.runOnce();
    expect(await findJob(db, id)).toMatchObject({ status: 'queued' });
    expect(calls).toBe(0);
  });

  it('a hook that fails leaves the job as it was: neither the job nor its record changes alone', async () => {
    const jobs = runner({
      'g-broken': {
        run: async () => {
          throw new Error('first failure');
        },
        onGiveUp: async () => {
          throw new Error('the hook broke');
        },
      },
    });
    const id = await enqueue(db, { kind: 'g-broken', maxAttempts: 1 });
    await jobs.runOnce();
    // Not failed: its lease runs out and the next poll tries to give it up again.
    expect(await findJob(db, id)).toMatchObject({ status: 'running' });
    ctx.clock.advance(60_000);
    await jobs.runOnce();
    expect(await findJob(db, id)).toMatchObject({ status: 'running' });
  });
});

describe('a file its worker cannot see (issue 12, repro 5)', () => {
  it('fails the import with what to fix, and the job too (not `done`)', async () => {
    const t = await companyWithTeam(ctx);
    const created = await upload(t);
    // As a worker on another node sees it without a shared volume: the key points at nothing.
    await db.execute(sql`update import_files set file_key = 'imports/elsewhere.csv' where id = ${created.id}`);
    await runJobs(ctx);
    const shown = await show(t, created.id);
    expect(shown.status).toBe('failed');
    expect(shown.error_message).toMatch(/not in storage where this worker looks.*STORAGE_DRIVER=s3/s);
    expect(shown.finished_at).toEqual(expect.any(String));
    expect(await findJob(db, await jobOf(created.id))).toMatchObject({ status: 'failed', attempts: 1 });
  });
});
