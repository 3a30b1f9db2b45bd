import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { connectPostgres } from '../../src/db/client.ts';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { roundRobinCompany } from '../helpers/factories.ts';
import { runJobs } from '../helpers/jobs.ts';
import { multipart } from '../helpers/multipart.ts';

const SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

describe('a database that cannot be reached', () => {
  // Nothing listens on port 1: every connection is refused at once, as when PostgreSQL is stopped or restarting.
  const database = connectPostgres('postgres://postgres@127.0.0.1:1/leadsy', { max: 2 });
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      WORKER: 'off',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/leadsy',
      JWT_SECRET: SECRET,
      PUBLIC_URL: 'http://leadsy.test',
    });
    app = await buildApp({ config: { ...config, jwtSecret: SECRET }, database, logger: false });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await database.close();
  });

  it('answers 503 problem+json with Retry-After, on public and signed-in routes alike', async () => {
    const login = await call(app, 'POST', '/api/v1/users/login', {
      body: { email: 'someone@example.com', password: 'correct horse battery staple' },
    });
    expect(login.statusCode).toBe(503);
    expect(login.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(login.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
    expect(login.body_json).toMatchObject({ status: 503, code: 'database_unavailable' });
    expect(login.body_json.request_id).toBe(login.headers['x-request-id']);

    const invalid = await app.inject({ method: 'POST', url: '/api/v1/users/login', payload: {} });
    expect(invalid.statusCode).toBe(422);
  });

  it('says not ready on /readyz while /healthz, the process, stays up', async () => {
    const ready = await call(app, 'GET', '/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.body_json.code).toBe('not_ready');
    expect((await call(app, 'GET', '/healthz')).statusCode).toBe(200);
  });
});

describe('an import beside API creations in the same company', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await buildTestApp();
  });
  afterAll(() => ctx.close());

  it('both finish, nothing fails, and every lead is counted once and assigned in exact rotation', async () => {
    // Cycles on and no monthly limit: the shape that deadlocked (rotations then usage vs usage then rotations).
    const { admin, company } = await roundRobinCompany(ctx, 3);

    const ROWS = 3_000;
    const csv = ['email', ...Array.from({ length: ROWS }, (_, i) => `imported${i}@example.com`)].join('\n');
    const form = await multipart({ file: { data: Buffer.from(csv), filename: 'leads.csv', type: 'text/csv' } });
    const upload = await call(ctx.app, 'POST', `/api/v1/companies/${company.id}/imports`, {
      token: admin.token,
      ...form,
    });
    expect(upload.statusCode, upload.body).toBe(202);

    const API = 150;
    const statuses: number[] = [];
    const creations = (async () => {
      // Four clients at once, as fast as they are answered, for as long as the import runs.
      await Promise.all(
        Array.from({ length: 4 }, async (_, client) => {
          for (let i = client; i < API; i += 4) {
            const created = await call(ctx.app, 'POST', `/api/v1/companies/${company.id}/leads`, {
              token: admin.token,
              body: { email: `api${i}@example.com` },
            });
            statuses.push(created.statusCode);
          }
        }),
      );
    })();
    await Promise.all([runJobs(ctx), creations]);

    expect(statuses.filter((status) => status !== 201)).toEqual([]);
    const result = await call(
      ctx.app,
      'GET',
      `/api/v1/companies/${company.id}/imports/${upload.body_json.import_file.id}`,
      { token: admin.token },
    );
    expect(result.body_json.import_file).toMatchObject({ status: 'completed', imported_rows: ROWS, failed_rows: 0 });

    const counts = await ctx.database.db.execute<{ total: number; distinct_emails: number; per_agent: number[] }>(sql`
      select count(*)::int as total, count(distinct email)::int as distinct_emails,
        (select array_agg(n order by n) from (select count(*)::int as n from leads
          where company_id = ${company.id} group by assigned_user_access_id) t) as per_agent
      from leads where company_id = ${company.id}`);
    const row = counts.rows[0]!;
    expect(row.total).toBe(ROWS + API);
    expect(row.distinct_emails).toBe(ROWS + API);
    // Round robin over import rows and API creations alike: 1,050 each.
    expect(row.per_agent).toEqual([1_050, 1_050, 1_050]);
  });
});
