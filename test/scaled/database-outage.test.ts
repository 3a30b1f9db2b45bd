import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../src/db/client.ts';
import { companies, cycleMembers, cycles, memberships, subscriptions, users } from '../../src/db/schema/index.ts';
import { prepareDatabase } from '../../src/db/setup.ts';
import { hashPassword } from '../../src/lib/passwords.ts';
import { multipart } from '../helpers/multipart.ts';
import { type Cluster, type Outcome, probe, startCluster, tally, waitFor } from './cluster.ts';
import { throwawayPostgres } from './throwaway-postgres.ts';

/**
 * Issue 12, repro 1 and 7: PostgreSQL crashed and stopped under load, on a cluster of the test's own. The API and
 * the worker must live through it, answer 503 problem+json with Retry-After (never 500, never a hang) while it is
 * gone, say not ready, and carry on by themselves when it is back; the import resumes and ends exact.
 */
const SECRET = 'outage-test-secret-that-is-long-enough-0123456789';
const PASSWORD = 'correct horse battery staple';
const ROWS = 20_000;

let pg: Awaited<ReturnType<typeof throwawayPostgres>>;
let cluster: Cluster;
const dataDir = mkdtempSync(join(tmpdir(), 'leadsy-outage-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

beforeAll(async () => {
  pg = await throwawayPostgres();
  const admin = connectPostgres(pg.url(), { max: 1 });
  await admin.db.execute(sql`create database leadsy`);
  await admin.close();
  const database = connectPostgres(pg.url('leadsy'), { max: 2 });
  await prepareDatabase(database);
  await database.close();
  cluster = await startCluster({
    databaseUrl: pg.url('leadsy'),
    jwtSecret: SECRET,
    publicUrl: 'http://leadsy.test',
    apis: 1,
    workers: 1,
    // A short lease: a job whose worker lost the database is handed back, or taken over, in seconds.
    env: { DATA_DIR: dataDir, STORAGE_DRIVER: 'local', JOB_LEASE: '5s', LOG_LEVEL: 'warn', AUTH_RATE_LIMIT: '1000' },
  });
  await cluster.start();
});

/** A company on a plan without limits, cycles on, a default cycle of three agents; its admin's token. */
async function company() {
  const database = connectPostgres(pg.url('leadsy'), { max: 1 });
  try {
    const hash = await hashPassword(PASSWORD);
    const people = await database.db
      .insert(users)
      .values(
        ['admin', 'a1', 'a2', 'a3'].map((name) => ({
          firstName: name,
          lastName: 'Outage',
          email: `${name}@outage.example.com`,
          passwordHash: hash,
        })),
      )
      .returning({ id: users.id, email: users.email });
    const client = cluster.client();
    const login = await client.send('POST', '/api/v1/users/login', {
      body: { email: people[0]!.email, password: PASSWORD },
    });
    const token = login.body.token as string;
    const created = await client.send('POST', '/api/v1/companies', { token, body: { name: 'Outage Inc' } });
    const companyId = created.body.company.id as number;
    const [plan] = await database.db.select().from(memberships).where(sql`${memberships.code} = 'enterprise'`);
    const now = new Date();
    await database.db.insert(subscriptions).values({
      companyId,
      membershipId: plan!.id,
      status: 'active',
      currentPeriodStart: now,
      currentPeriodEnd: new Date(now.getTime() + 365 * 86_400_000),
    });
    await database.db.update(companies).set({ cyclesEnabled: true }).where(sql`${companies.id} = ${companyId}`);
    const agentAccess = await database.db.execute<{ id: number }>(sql`
      insert into user_accesses (user_id, company_id, access_id)
      select u.id, ${companyId}, a.id from users u, accesses a
      where u.email like 'a_@outage.example.com' and a.code = 'agent' order by u.id returning id`);
    const [cycle] = await database.db
      .insert(cycles)
      .values({ companyId, name: 'Everyone', isDefault: true })
      .returning();
    await database.db.insert(cycleMembers).values(
      agentAccess.rows.map((row, position) => ({
        cycleId: cycle!.id,
        companyId,
        userAccessId: Number(row.id),
        position,
      })),
    );
    return { companyId, token };
  } finally {
    await database.close();
  }
}

describe('PostgreSQL crashing and stopping under load', () => {
  it('no process dies, answers are 201 or 503 + Retry-After, and everything ends exact once it is back', async () => {
    const { companyId, token } = await company();
    const client = cluster.client({ deadlineMs: 120_000 });
    const csv = ['email', ...Array.from({ length: ROWS }, (_, i) => `row${i}@import.example.com`)].join('\n');
    const form = await multipart({ file: { data: Buffer.from(csv), filename: 'leads.csv', type: 'text/csv' } });
    const upload = await client.send('POST', `/api/v1/companies/${companyId}/imports`, { token, raw: form });
    expect(upload.status, JSON.stringify(upload.body)).toBe(202);
    const importId = upload.body.import_file.id as number;
    const importState = async () =>
      (await client.send('GET', `/api/v1/companies/${companyId}/imports/${importId}`, { token })).body.import_file;

    // Clients create leads through the whole run, each with its own external_id to be found afterwards.
    let stopLoad = false;
    const outcomes: { externalId: string; outcome: Outcome }[] = [];
    let sent = 0;
    const load = Promise.all(
      Array.from({ length: 3 }, async () => {
        while (!stopLoad) {
          const externalId = `api-${sent++}`;
          const outcome = await client.send('POST', `/api/v1/companies/${companyId}/leads`, {
            token,
            body: { email: `${externalId}@api.example.com`, external_id: externalId },
          });
          outcomes.push({ externalId, outcome });
        }
      }),
    );

    const api = cluster.apis[0]!;
    const outages: { kind: string; firstAnswerMs: number; readyz: number; healthz: number }[] = [];
    for (const kind of ['crash', 'stop'] as const) {
      // Mid-import: wait until rows are being written, then take the database away for a few seconds.
      const before = Number((await importState()).processed_rows);
      await waitFor('the import to write rows', async () => Number((await importState()).processed_rows) > before);
      if (kind === 'crash') await pg.crash();
      else await pg.stop();
      // While it is gone: a quick 503 problem+json with Retry-After, not a hang or a 500.
      const began = Date.now();
      const response = await fetch(`http://127.0.0.1:${api.port}/api/v1/companies/${companyId}/leads`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(15_000),
      });
      const firstAnswerMs = Date.now() - began;
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await response.json()) as { code: string }).code).toBe('database_unavailable');
      const readyz = await probe(api.port, '/readyz', 10_000);
      const healthz = await probe(api.port, '/healthz');
      outages.push({ kind, firstAnswerMs, readyz, healthz });
      expect(readyz).toBe(503);
      expect(healthz).toBe(200);
      // An outage of a few seconds that the load meets (its requests retry on the 503s), then the database is back.
      await waitFor('three seconds of outage', () => Date.now() - began > 3_000);
      await pg.start();
      await waitFor('the API to be ready again', async () => (await probe(api.port, '/readyz')) === 200, 60_000);
    }

    await waitFor('the import to complete', async () => (await importState()).status === 'completed', 240_000, 500);
    stopLoad = true;
    await load;

    const final = await importState();
    expect(final).toMatchObject({ status: 'completed', imported_rows: ROWS, processed_rows: ROWS, failed_rows: 0 });
    // No process died on its own: the only exits are none at all.
    expect(cluster.crashes()).toEqual([]);

    const attempts = tally(outcomes.map(({ outcome }) => outcome));
    const unexpected = Object.keys(attempts).filter((status) => status !== '201' && status !== '503');
    expect(unexpected, JSON.stringify(attempts)).toEqual([]);
    for (const { outcome } of outcomes) {
      for (const attempt of outcome.attempts.filter((a) => a.status === 503)) {
        expect(attempt.contentType).toMatch(/^application\/problem\+json/);
        expect(Number(attempt.retryAfter)).toBeGreaterThan(0);
      }
    }

    // Exactly once: every 201 is there once; a request that met the outage is there at most once.
    const database = connectPostgres(pg.url('leadsy'), { max: 1 });
    try {
      const rows = await database.db.execute<{ external_id: string; n: number }>(sql`
        select external_id, count(*)::int as n from leads
        where company_id = ${companyId} and external_id like 'api-%' group by external_id`);
      const seen = new Map(rows.rows.map((row) => [row.external_id, Number(row.n)]));
      const created = outcomes.filter(({ outcome }) => outcome.status === 201);
      for (const { externalId } of created) expect(seen.get(externalId), externalId).toBe(1);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      const imported = await database.db.execute<{ n: number; rows: number }>(sql`
        select count(*)::int as n, count(distinct import_row)::int as rows from leads
        where company_id = ${companyId} and import_id = ${importId}`);
      expect(imported.rows[0]).toEqual({ n: ROWS, rows: ROWS });
      // Round robin stayed exact over everything assigned, API and import alike.
      const perAgent = await database.db.execute<{ n: number }>(sql`
        select count(*)::int as n from leads where company_id = ${companyId} group by assigned_user_access_id`);
      const counts = perAgent.rows.map((row) => Number(row.n));
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      console.log(
        `outage: ${JSON.stringify(outages)}; ${created.length} leads created through the API (${outcomes.length} ` +
          `requests), attempts ${JSON.stringify(attempts)}; import ${ROWS} rows exact; per agent ${counts.join('/')}`,
      );
    } finally {
      await database.close();
    }
  });
});

describe('collisions', () => {
  it('a deadlock between two transactions is retried: both commit, neither fails', async () => {
    await pg.ensureRunning();
    const database = connectPostgres(pg.url('leadsy'), { max: 4 });
    try {
      await database.db.execute(sql`create table collide (id int primary key, n int not null)`);
      await database.db.execute(sql`insert into collide values (1, 0), (2, 0)`);
      // Each locks its first row, waits until the other has too, then wants the other's: a deadlock, once.
      let locked = 0;
      const bothLocked = () => waitFor('both first locks', () => locked >= 2, 10_000, 5);
      const attempts = [0, 0];
      const run = (index: number, first: number, second: number) =>
        database.db.transaction(async (tx) => {
          attempts[index]!++;
          await tx.execute(sql`update collide set n = n + 1 where id = ${first}`);
          if (attempts[index] === 1) {
            locked++;
            await bothLocked();
          }
          await tx.execute(sql`update collide set n = n + 1 where id = ${second}`);
        });
      await Promise.all([run(0, 1, 2), run(1, 2, 1)]);
      expect(attempts[0]! + attempts[1]!).toBe(3);
      const rows = await database.db.execute<{ n: number }>(sql`select n from collide order by id`);
      expect(rows.rows.map((row) => Number(row.n))).toEqual([2, 2]);
    } finally {
      await database.close();
    }
  });
});
