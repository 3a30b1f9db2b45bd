import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestContext } from '../helpers/app.ts';
import { roundRobinCompany } from '../helpers/factories.ts';
import { multipart } from '../helpers/multipart.ts';
import {
  alive,
  type Client,
  type Cluster,
  latency,
  load,
  type Outcome,
  probe,
  startCluster,
  tally,
  waitFor,
} from './cluster.ts';

/**
 * Issue 12, "many nodes, real faults": the scaled shape as real processes — 3 API processes (WORKER=off) and 2 job
 * workers on one PostgreSQL, one shared DATA_DIR (local storage on a shared volume) — under faults a production
 * cluster meets: API nodes SIGKILLed and restarted under load, PostgreSQL backends terminated under load, an import
 * beside API creations in the same company, workers SIGKILLed mid-import. Clients spread requests over the nodes
 * and retry elsewhere on a connection error or a 503, each lead carrying its own external_id (the idempotency key
 * a real integration sends), and afterwards the database must hold exactly what was answered: every 201 once, every
 * request that failed in flight at most once, round robin exact, and no 5xx but 503.
 */

const API_NODES = 3;
const WORKERS = 2;
const AGENTS = 3;
/** Clients at full speed, spread over the nodes. */
const CONCURRENCY = 8;
const NODE_KILLS = 5;
const TERMINATIONS = 6;
const IMPORT_ROWS = 10_000;
const CRASH_IMPORT_ROWS = 20_000;
const WORKER_KILLS = 2;
const JOB_LEASE = '4s';

let ctx: TestContext;
let cluster: Cluster;
let dataDir: string;

beforeAll(async () => {
  ctx = await buildTestApp();
  if (!ctx.databaseUrl) throw new Error('the chaos test needs DATABASE_URL');
  dataDir = mkdtempSync(join(tmpdir(), 'leadsy-chaos-'));
  cluster = await startCluster({
    databaseUrl: ctx.databaseUrl,
    jwtSecret: ctx.config.jwtSecret,
    // The in-process app signs the test users' tokens: the cluster must share its issuer, as nodes share theirs.
    publicUrl: ctx.config.publicUrl,
    apis: API_NODES,
    workers: WORKERS,
    env: {
      STORAGE_DRIVER: 'local',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      JOB_LEASE,
      WORKER_CONCURRENCY: '2',
      API_RATE_LIMIT: '1000000',
      AUTH_RATE_LIMIT: '100000',
      SHUTDOWN_GRACE_MS: '2000',
      DATABASE_POOL_MAX: '10',
    },
  });
  await cluster.start();
});

afterAll(async () => {
  await cluster?.stop();
  await ctx?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

type Team = Awaited<ReturnType<typeof team>>;

/** A company on a plan without a monthly limit, cycles on, a default round-robin cycle of AGENTS agents. */
async function team() {
  const { company, admin, agents } = await roundRobinCompany(ctx, AGENTS, { country: 'ES' });
  return { company, admin, agentIds: agents.map((agent) => agent.userAccessId) };
}

type Creation = { key: string; outcome: Outcome };

/** One logical lead, retried over the nodes under one external_id. */
async function createLead(client: Client, t: Team, key: string): Promise<Creation> {
  const outcome = await client.send('POST', `/api/v1/companies/${t.company.id}/leads`, {
    token: t.admin.token,
    body: { external_id: key, email: `${key}@chaos.example.com`, first_name: 'Chaos', last_name: key },
  });
  return { key, outcome };
}

const query = async <T extends Record<string, unknown>>(statement: ReturnType<typeof sql>) =>
  (await ctx.database.db.execute<T>(statement)).rows;

/**
 * Every 201 is in the database exactly once under its id; a 409 external_id_taken only after an attempt that may
 * have landed (and then the lead is there once); a request given up is there at most once; nothing else is there.
 */
async function exactlyOnce(t: Team, prefix: string, creations: Creation[]) {
  const rows = await query<{ key: string; n: number; id: number; created: number; assigned: number }>(sql`
    select l.external_id as key, count(*)::int as n, min(l.id)::int as id,
           (select count(*)::int from lead_activities a where a.lead_id = min(l.id) and a.kind = 'created') as created,
           (select count(*)::int from lead_activities a where a.lead_id = min(l.id) and a.kind = 'assigned') as assigned
    from leads l
    where l.company_id = ${t.company.id} and l.external_id like ${`${prefix}-%`} and l.deleted_at is null
    group by l.external_id`);
  const stored = new Map(rows.map((row) => [row.key, row]));
  const problems: string[] = [];
  const counts = { created: 0, landedEarlier: 0, givenUpPresent: 0, givenUpAbsent: 0 };
  const sent = new Set<string>();
  for (const { key, outcome } of creations) {
    sent.add(key);
    const row = stored.get(key);
    const trail = outcome.attempts.map((a) => `${a.node}:${a.status || a.error}`).join(' ');
    if (outcome.status === 201) {
      counts.created++;
      if (row?.n !== 1 || row.id !== outcome.body.lead?.id) problems.push(`201 ${key} stored ${JSON.stringify(row)}`);
    } else if (outcome.status === 409 && outcome.body.code === 'external_id_taken' && outcome.ambiguous) {
      counts.landedEarlier++;
      if (row?.n !== 1) problems.push(`409 after an ambiguous attempt, ${key} stored ${JSON.stringify(row)}`);
    } else if (outcome.status === 0 || outcome.status === 503) {
      if (row) counts.givenUpPresent++;
      else counts.givenUpAbsent++;
      if (row && row.n !== 1) problems.push(`given up ${key} stored ${row.n} times`);
    } else {
      problems.push(`${key}: ${outcome.status} ${JSON.stringify(outcome.body).slice(0, 300)} [${trail}]`);
    }
    if (row && (row.created !== 1 || row.assigned !== 1)) {
      problems.push(`${key}: ${row.created} 'created' and ${row.assigned} 'assigned' activities, not 1 and 1`);
    }
  }
  for (const key of stored.keys()) if (!sent.has(key)) problems.push(`${key} stored but never sent`);
  expect(problems.slice(0, 20), `${problems.length} problems`).toEqual([]);
  return { ...counts, stored: rows.length };
}

/** Every lead of the company is assigned to one of the cycle's agents, and no agent has 2 more than another. */
async function roundRobinExact(t: Team) {
  const rows = await query<{ assignee: number | null; n: number }>(sql`
    select assigned_user_access_id as assignee, count(*)::int as n
    from leads where company_id = ${t.company.id} and deleted_at is null group by 1 order by 1`);
  const byAgent = Object.fromEntries(rows.map((row) => [String(row.assignee), row.n]));
  expect(Object.keys(byAgent).sort(), `assignees ${JSON.stringify(byAgent)}`).toEqual(t.agentIds.map(String).sort());
  const values = Object.values(byAgent);
  expect(Math.max(...values) - Math.min(...values), `per agent ${JSON.stringify(byAgent)}`).toBeLessThanOrEqual(1);
  return values;
}

/**
 * Answers every attempt may get: 201, 409 (a retry of one that landed), 503 (problem+json with Retry-After and a
 * code saying why), and connection errors only where `connectionErrors` allows (nodes being killed). Never another
 * 5xx: a 500 from a deadlock or a dropped connection is the bug this test exists for.
 */
function onlyExpectedAnswers(outcomes: Outcome[], connectionErrors: boolean) {
  const bad: string[] = [];
  for (const outcome of outcomes)
    for (const attempt of outcome.attempts) {
      if (attempt.status === 0) {
        if (!connectionErrors) bad.push(`${attempt.node}: connection error ${attempt.error}`);
      } else if (attempt.status === 503) {
        if (
          !attempt.contentType?.startsWith('application/problem+json') ||
          !attempt.retryAfter ||
          !['database_unavailable', 'shutting_down', 'not_ready'].includes(attempt.code ?? '')
        ) {
          bad.push(`${attempt.node}: 503 ${attempt.code} ${attempt.contentType} retry-after=${attempt.retryAfter}`);
        }
      } else if (attempt.status >= 500) {
        bad.push(`${attempt.node}: ${attempt.status} ${attempt.code} after ${attempt.ms} ms`);
      }
    }
  const kinds = [...new Set(bad)];
  expect(kinds.slice(0, 20), `${bad.length} unexpected answers; all: ${JSON.stringify(tally(outcomes))}`).toEqual([]);
}

/** Every API node runs, never exited on its own since `since`, says /healthz 200 and /readyz 200 within 10 s. */
async function everyNodeHealthy(since: number) {
  const crashes = cluster.crashes(since);
  expect(
    crashes.map((c) => `${c.node} exited code=${c.code} signal=${c.signal}\n${c.output}`),
    'processes that died on their own',
  ).toEqual([]);
  for (const node of cluster.apis) {
    expect(alive(node), `${node.name} is running`).toBe(true);
    expect(await probe(node.port, '/healthz'), `${node.name} /healthz`).toBe(200);
    await waitFor(`${node.name} /readyz 200`, async () => (await probe(node.port, '/readyz')) === 200, 10_000);
  }
  for (const node of cluster.workers) expect(alive(node), `${node.name} is running`).toBe(true);
}

/**
 * Waits until `count()` has grown by `by` (the load made progress), `timeoutMs` passed, or a process died on its
 * own since `since` (then the case fails on that, at once, rather than waiting on a dead cluster).
 */
async function progress(count: () => number, by: number, since: number, timeoutMs = 20_000) {
  const from = count();
  await waitFor(
    `${by} more answers`,
    () => count() >= from + by || cluster.crashes(since).length > 0,
    timeoutMs,
    50,
  ).catch(() => {});
}

function csv(prefix: string, rows: number): Buffer {
  const lines = ['email,first_name,last_name,external_id'];
  for (let i = 1; i <= rows; i++) lines.push(`${prefix}.${i}@import.example.com,Row,${i},${prefix}-${i}`);
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** Uploads a CSV once (no retry: no fault is injected while it uploads) to the first API node. */
async function upload(t: Team, prefix: string, rows: number): Promise<number> {
  const body = await multipart({ file: { data: csv(prefix, rows), filename: `${prefix}.csv`, type: 'text/csv' } });
  const client = cluster.client({ deadlineMs: 0 });
  const outcome = await client.send('POST', `/api/v1/companies/${t.company.id}/imports`, {
    token: t.admin.token,
    raw: body,
  });
  expect(outcome.status, JSON.stringify(outcome.body)).toBe(202);
  return outcome.body.import_file.id as number;
}

type ImportState = {
  status: string;
  checkpoint: number;
  processed: number;
  imported: number;
  updated: number;
  duplicate: number;
  failed: number;
  locked_by: string | null;
  attempts: number;
  error: string | null;
};

async function importState(importId: number): Promise<ImportState> {
  const [row] = await query<ImportState>(sql`
    select f.status, f.checkpoint_row as checkpoint, f.processed_rows as processed, f.imported_rows as imported,
           f.updated_rows as updated, f.duplicate_rows as duplicate, f.failed_rows as failed, f.error_message as error,
           j.locked_by, j.attempts
    from import_files f left join jobs j on j.id = f.job_id where f.id = ${importId}`);
  return row!;
}

const finished = (state: ImportState) => ['completed', 'failed', 'canceled'].includes(state.status);

/** Polls the import until it ends (completed, failed or canceled); its last state. */
async function importEnd(importId: number, timeoutMs: number): Promise<ImportState> {
  let state = await importState(importId);
  await waitFor(
    `import ${importId} to finish`,
    async () => {
      state = await importState(importId);
      return finished(state);
    },
    timeoutMs,
    250,
  ).catch((error: Error) => {
    const logs = cluster.workers.map((node) => `${node.name}:\n${node.output.slice(-15).join('\n')}`).join('\n');
    throw new Error(`${error.message}; last state ${JSON.stringify(state)}\n${logs}`);
  });
  return state;
}

/** The import's leads: how many, how many distinct rows and external ids. */
async function importedLeads(importId: number) {
  const [row] = await query<{ leads: number; rows: number; keys: number }>(sql`
    select count(*)::int as leads, count(distinct import_row)::int as rows, count(distinct external_id)::int as keys
    from leads where import_id = ${importId}`);
  return row!;
}

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

describe('the scaled shape under faults (3 API processes, 2 workers, one PostgreSQL)', () => {
  it('creates every lead exactly once, round robin exact, while API nodes are SIGKILLed and restarted', async () => {
    const began = Date.now();
    await cluster.heal();
    const t = await team();
    const client = cluster.client();
    let answered = 0;
    let stopping = false;
    const running = load({
      concurrency: CONCURRENCY,
      until: () => stopping,
      work: async (n) => {
        const creation = await createLead(client, t, `kill-${n}`);
        answered++;
        return creation;
      },
    });
    let kills = 0;
    try {
      for (; kills < NODE_KILLS; kills++) {
        await progress(() => answered, 40, began);
        const node = cluster.apis[kills % API_NODES]!;
        await cluster.kill(node, 'SIGKILL');
        await cluster.restart(node);
      }
      await progress(() => answered, 40, began);
    } finally {
      stopping = true;
    }
    const creations = await running;
    const outcomes = creations.map((c) => c.outcome);
    onlyExpectedAnswers(outcomes, true);
    const counts = await exactlyOnce(t, 'kill', creations);
    const perAgent = await roundRobinExact(t);
    await everyNodeHealthy(began);
    console.log(
      `chaos 1 (node SIGKILL): ${creations.length} leads requested, ${kills} API kills+restarts, ` +
        `${counts.created} 201, ${counts.landedEarlier} 409-after-retry (landed earlier), ` +
        `${counts.givenUpPresent + counts.givenUpAbsent} given up (${counts.givenUpPresent} present); ` +
        `${counts.stored} stored, per agent ${perAgent.join('/')}; attempts ${JSON.stringify(tally(outcomes))}; ${latency(outcomes)}; ${seconds(began)} s`,
    );
  });

  it('keeps every API node alive and answering when PostgreSQL terminates their backends under load', async () => {
    const began = Date.now();
    await cluster.heal();
    const t = await team();
    const client = cluster.client();
    const admin = new pg.Client({ connectionString: ctx.databaseUrl, application_name: 'chaos-terminator' });
    await admin.connect();
    let answered = 0;
    let stopping = false;
    const running = load({
      concurrency: CONCURRENCY,
      until: () => stopping,
      work: async (n) => {
        const creation = await createLead(client, t, `term-${n}`);
        answered++;
        return creation;
      },
    });
    let terminated = 0;
    const database = new URL(ctx.databaseUrl!).pathname.slice(1);
    try {
      for (let i = 0; i < TERMINATIONS; i++) {
        await progress(() => answered, 40, began);
        const result = await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
           where datname = $1 and pid <> pg_backend_pid() and application_name like 'leadsy-%'`,
          [database],
        );
        terminated += result.rowCount ?? 0;
      }
      await progress(() => answered, 40, began);
    } finally {
      stopping = true;
      await admin.end();
    }
    const creations = await running;
    const outcomes = creations.map((c) => c.outcome);
    await everyNodeHealthy(began);
    onlyExpectedAnswers(outcomes, false);
    const counts = await exactlyOnce(t, 'term', creations);
    const perAgent = await roundRobinExact(t);
    expect(terminated, 'backends terminated').toBeGreaterThanOrEqual(TERMINATIONS);
    console.log(
      `chaos 2 (pg_terminate_backend): ${creations.length} leads requested, ${terminated} backends terminated in ` +
        `${TERMINATIONS} rounds, ${counts.created} 201, ${counts.landedEarlier} 409-after-retry, ` +
        `${counts.givenUpPresent + counts.givenUpAbsent} given up (${counts.givenUpPresent} present); ` +
        `${counts.stored} stored, per agent ${perAgent.join('/')}; attempts ${JSON.stringify(tally(outcomes))}; ${latency(outcomes)}; ${seconds(began)} s`,
    );
  });

  it('finishes an import exactly beside API creations at full speed in the same company', async () => {
    const began = Date.now();
    await cluster.heal();
    const t = await team();
    const client = cluster.client();
    let stopping = false;
    let answered = 0;
    const running = load({
      concurrency: CONCURRENCY,
      until: () => stopping,
      work: async (n) => {
        const creation = await createLead(client, t, `api-${n}`);
        answered++;
        return creation;
      },
    });
    let importId = 0;
    let state: ImportState | undefined;
    try {
      await progress(() => answered, 20, began);
      importId = await upload(t, 'imp', IMPORT_ROWS);
      state = await importEnd(importId, 240_000);
      // API creations keep going a little past the import's end.
      await progress(() => answered, 20, began);
    } finally {
      stopping = true;
    }
    const creations = await running;
    const outcomes = creations.map((c) => c.outcome);
    expect(state, JSON.stringify(state)).toMatchObject({
      status: 'completed',
      processed: IMPORT_ROWS,
      imported: IMPORT_ROWS,
      updated: 0,
      duplicate: 0,
      failed: 0,
    });
    expect(await importedLeads(importId)).toEqual({ leads: IMPORT_ROWS, rows: IMPORT_ROWS, keys: IMPORT_ROWS });
    onlyExpectedAnswers(outcomes, false);
    const counts = await exactlyOnce(t, 'api', creations);
    const [total] = await query<{ n: number }>(
      sql`select count(*)::int as n from leads where company_id = ${t.company.id} and deleted_at is null`,
    );
    expect(total!.n, 'leads = imported + created through the API').toBe(IMPORT_ROWS + counts.stored);
    const perAgent = await roundRobinExact(t);
    await everyNodeHealthy(began);
    console.log(
      `chaos 3 (import beside API): import of ${IMPORT_ROWS} rows ${state!.status}, ${state!.imported} imported; ` +
        `${creations.length} API creations alongside, ${counts.created} 201; ${total!.n} leads in the company, ` +
        `per agent ${perAgent.join('/')}; attempts ${JSON.stringify(tally(outcomes))}; ${latency(outcomes)}; ${seconds(began)} s`,
    );
  });

  it('completes an import exactly when the worker running it is SIGKILLed mid-file', async () => {
    const began = Date.now();
    await cluster.heal();
    const t = await team();
    const importId = await upload(t, 'crash', CRASH_IMPORT_ROWS);
    const killedAt: number[] = [];
    let state = await importState(importId);
    for (let k = 1; k <= WORKER_KILLS; k++) {
      // Kill once the checkpoint passes k/(KILLS+1) of the file: each worker dies with work done and work left.
      const target = Math.floor((CRASH_IMPORT_ROWS * k) / (WORKER_KILLS + 1));
      await waitFor(
        `import ${importId} past row ${target}`,
        async () => {
          state = await importState(importId);
          return finished(state) || (state.status === 'processing' && state.checkpoint >= target && !!state.locked_by);
        },
        120_000,
        25,
      );
      if (finished(state)) break;
      const pid = Number(state.locked_by!.split(':').at(-2));
      const worker = cluster.workers.find((node) => node.child?.pid === pid);
      expect(worker, `the worker holding the import (${state.locked_by})`).toBeDefined();
      await cluster.kill(worker!, 'SIGKILL');
      killedAt.push(state.checkpoint);
      await cluster.restart(worker!);
    }
    state = await importEnd(importId, 180_000);
    expect(killedAt.length, `workers killed mid-import (the import finished at ${JSON.stringify(state)})`).toBe(
      WORKER_KILLS,
    );
    expect(state, JSON.stringify(state)).toMatchObject({ status: 'completed', processed: CRASH_IMPORT_ROWS });
    expect(state.imported + state.updated + state.duplicate + state.failed, 'imported + rejected = rows').toBe(
      CRASH_IMPORT_ROWS,
    );
    expect(state.imported).toBe(CRASH_IMPORT_ROWS);
    expect(await importedLeads(importId)).toEqual({
      leads: CRASH_IMPORT_ROWS,
      rows: CRASH_IMPORT_ROWS,
      keys: CRASH_IMPORT_ROWS,
    });
    const perAgent = await roundRobinExact(t);
    await everyNodeHealthy(began);
    console.log(
      `chaos 4 (worker SIGKILL mid-import): ${CRASH_IMPORT_ROWS} rows, workers killed at checkpoints ` +
        `${killedAt.join(', ')}; ${state.status} after ${state.attempts} attempts, ${state.imported} imported, ` +
        `${state.duplicate + state.failed} rejected; per agent ${perAgent.join('/')}; ${seconds(began)} s`,
    );
  });
});
