import type { ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner } from '../../src/jobs/runner.ts';
import { createStorage, type Storage } from '../../src/lib/storage/index.ts';
import { IMPORT_JOB } from '../../src/modules/imports/import.job.ts';
import { createServices } from '../../src/services.ts';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { companyWithTeam } from '../helpers/factories.ts';
import { multipart } from '../helpers/multipart.ts';
import { CLI, start } from '../helpers/processes.ts';

/**
 * Crash safety of imports: a worker dies at random points of a 10,000-row import and another resumes it, many
 * times. On PostgreSQL the worker is a real `worker` process killed with SIGKILL; on the embedded database (one
 * process) the run is cut by a file stream that breaks at a random byte. Either way every import must end with
 * exactly its rows as leads, each once.
 */
const ROWS = 10_000;
const KILLS = 20;

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp({ JOB_LEASE: '2s' });
});
afterAll(() => ctx.close());

/**
 * Rows unique within the run and across runs, with valid Spanish mobile numbers for any run: the run used to be a
 * digit of its own, and a tenth run (the faster imports finish between kills more often, so runs add up) made every
 * phone one digit too long, every row rejected.
 */
function csv(run: number): Buffer {
  const lines = ['email,phone,first_name'];
  for (let i = 1; i <= ROWS; i++)
    lines.push(`run${run}.${i}@example.com,+346${String(run * ROWS + i).padStart(8, '0')},Row ${i}`);
  return Buffer.from(`${lines.join('\n')}\n`);
}

async function startImport(team: Awaited<ReturnType<typeof companyWithTeam>>, run: number): Promise<number> {
  const body = await multipart({ file: { data: csv(run), filename: `run${run}.csv`, type: 'text/csv' } });
  const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/imports`, {
    token: team.admin.token,
    ...body,
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.body_json.import_file.id;
}

async function outcome(importId: number) {
  const result = await ctx.database.db.execute<{
    leads: number;
    emails: number;
    rows: number;
    status: string;
    imported: number;
  }>(sql`
    select (select count(*)::int from leads where import_id = ${importId}) as leads,
           (select count(distinct email)::int from leads where import_id = ${importId}) as emails,
           (select count(distinct import_row)::int from leads where import_id = ${importId}) as rows,
           status, imported_rows as imported
    from import_files where id = ${importId}`);
  return result.rows[0]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startWorker(): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: ctx.databaseUrl,
    JWT_SECRET: ctx.config.jwtSecret,
    PUBLIC_URL: ctx.config.publicUrl,
    DATA_DIR: ctx.config.dataDir,
    JOB_LEASE: '2s',
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: 'silent',
  };
  return start(CLI, ['worker'], env, 'ignore');
}

/** A storage whose file streams break after a random number of bytes, like a worker dying mid-file. */
function breaking(storage: Storage, random: () => number): Storage {
  return {
    ...storage,
    async get(key) {
      const object = await storage.get(key);
      if (!object) return object;
      const cut = Math.floor(random() * object.size);
      async function* cutAt(source: AsyncIterable<Buffer>) {
        let sent = 0;
        for await (const chunk of source) {
          if (sent + chunk.length > cut) throw new Error(`worker died at byte ${cut}`);
          sent += chunk.length;
          yield chunk;
        }
      }
      return { ...object, body: Readable.from(cutAt(object.body)) };
    },
  };
}

describe('import crash safety', () => {
  it(`ends every import with exactly its rows after ${KILLS} crashes`, { timeout: 600_000 }, async () => {
    const team = await companyWithTeam(ctx);
    let crashes = 0;
    let run = 0;
    while (crashes < KILLS) {
      const importId = await startImport(team, ++run);
      crashes += ctx.databaseUrl ? await killRepeatedly(importId) : await breakRepeatedly(importId);
      const result = await outcome(importId);
      expect(result).toEqual({ leads: ROWS, emails: ROWS, rows: ROWS, status: 'completed', imported: ROWS });
    }
    expect(crashes).toBeGreaterThanOrEqual(KILLS);
  });
});

/**
 * PostgreSQL: real worker processes, each killed with SIGKILL at a random point of the file (once the import's
 * checkpoint passes a random row, plus a random delay into the next batch), until a sixth one finishes the import.
 */
async function killRepeatedly(importId: number): Promise<number> {
  let kills = 0;
  while (kills < 6) {
    const target = Math.floor(Math.random() * (ROWS - 1000));
    const worker = startWorker();
    for (let i = 0; i < 1200 && (await checkpoint(importId)) < target; i++) await sleep(50);
    await sleep(Math.random() * 400);
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    if ((await outcome(importId)).status === 'completed') return kills;
    kills++;
    // The dead worker's lease (2 s) has to run out before the next one can take the job over.
    await sleep(2100);
  }
  const last = startWorker();
  for (let i = 0; i < 1200 && (await outcome(importId)).status !== 'completed'; i++) await sleep(100);
  last.kill('SIGTERM');
  await new Promise((resolve) => last.once('exit', resolve));
  return kills;
}

async function checkpoint(importId: number): Promise<number> {
  const result = await ctx.database.db.execute<{ row: number }>(
    sql`select checkpoint_row as row from import_files where id = ${importId}`,
  );
  return Number(result.rows[0]?.row ?? 0);
}

/** Embedded database: the same job, cut at random bytes of its file, retried until it completes. */
async function breakRepeatedly(importId: number): Promise<number> {
  const storage = createStorage(ctx.config);
  const quiet = { info: () => {}, warn: () => {}, error: () => {} };
  let breaks = 0;
  for (let attempt = 0; attempt < 40; attempt++) {
    const healthy = breaks >= 8;
    // The worker's own job handlers, over a storage that breaks the file's stream at a random byte.
    const { jobs } = createServices({
      config: ctx.config,
      database: ctx.database,
      clock: ctx.clock,
      storage: healthy ? storage : breaking(storage, Math.random),
      log: quiet,
    });
    const runner = createJobRunner({
      db: ctx.database.db,
      handlers: { [IMPORT_JOB]: jobs[IMPORT_JOB]! },
      clock: ctx.clock,
      logger: quiet,
    });
    await runner.runOnce();
    if ((await outcome(importId)).status === 'completed') return breaks;
    breaks++;
    // The failed attempt was queued again with a backoff: move the clock past it.
    ctx.clock.advance(10 * 60_000);
  }
  throw new Error('the import never completed');
}
