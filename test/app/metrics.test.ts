import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, uniqueEmail } from '../helpers/factories.ts';
import { multipart } from '../helpers/multipart.ts';
import { type Receiver, startReceiver } from '../modules/webhooks-helpers.ts';

/**
 * What an operator scrapes: the pool, the queue (depth and age across workers, outcomes of this process's runs),
 * rate-limit refusals and the build, next to request durations; and request log lines that say who and where.
 * The app runs its own worker (WORKER=on), as `npm start` does.
 */
let ctx: TestContext;
const lines: string[] = [];
beforeAll(async () => {
  ctx = await buildTestApp({ WORKER: 'on', API_RATE_LIMIT: '3', WEBHOOK_ALLOW_PRIVATE: 'true' }, { logLines: lines });
});
afterAll(async () => {
  await receiver?.close();
  await ctx.close();
});
let receiver: Receiver | undefined;

const scrape = async () => (await call(ctx.app, 'GET', '/metrics')).body;

/** The value of one sample (`name{labels}`), or undefined if the scrape lacks it. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until(check: (text: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = await scrape();
    if (check(text)) return text;
    if (Date.now() > deadline) throw new Error(`metrics never showed ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('/metrics', () => {
  it('shows the build, the database and the queue', async () => {
    const text = await scrape();
    expect(text).toMatch(/^leadsy_build_info\{version="\d+\.\d+\.\d+",node_version="v\d+[^"]*"\} 1$/m);
    expect(sample(text, 'leadsy_database_up')).toBe(1);
    if (ctx.databaseUrl) {
      const max = sample(text, 'leadsy_db_pool_connections{state="max"}') ?? 0;
      expect(max).toBeGreaterThan(0);
      expect(sample(text, 'leadsy_db_pool_connections{state="total"}')).toBeLessThanOrEqual(max);
      expect(sample(text, 'leadsy_db_pool_connections{state="waiting"}')).toBe(0);
    }

    // A job no worker here handles waits in the queue: its depth and age show, whichever process queued it.
    await ctx.database.db.insert(jobs).values({ kind: 'metrics.probe', runAt: new Date(Date.now() - 60_000) });
    const queued = await scrape();
    expect(sample(queued, 'leadsy_jobs_waiting{kind="metrics.probe"}')).toBe(1);
    expect(sample(queued, 'leadsy_jobs_oldest_waiting_seconds{kind="metrics.probe"}')).toBeGreaterThanOrEqual(59);
  });

  it('counts the mail this process sent, as job runs of kind mail', async () => {
    const before = sample(await scrape(), 'leadsy_jobs_total{kind="mail",outcome="done"}') ?? 0;
    const body = {
      first_name: 'Mia',
      last_name: 'Tricks',
      email: uniqueEmail('metrics'),
      password: 'a fine passphrase',
    };
    expect((await call(ctx.app, 'POST', '/api/v1/users', { body })).statusCode).toBe(201);
    const text = await until(
      (t) => (sample(t, 'leadsy_jobs_total{kind="mail",outcome="done"}') ?? 0) > before,
      'the verification mail sent',
    );
    expect(text).toContain('leadsy_job_duration_seconds_count{kind="mail"}');
  });

  it('counts import rows by outcome and webhook attempts, and shows the webhook backlog', async () => {
    const team = await companyWithTeam(ctx);
    receiver = await startReceiver(() => ({ status: 204 }));
    const hooked = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/webhooks`, {
      token: team.admin.token,
      body: { url: receiver.url, events: ['lead.created'] },
    });
    expect(hooked.statusCode, hooked.body).toBe(201);
    const before = await scrape();
    const rows = (outcome: string, text: string) => sample(text, `leadsy_import_rows_total{outcome="${outcome}"}`) ?? 0;
    const attempts = (text: string) => sample(text, 'leadsy_webhook_attempts_total{outcome="succeeded"}') ?? 0;
    expect(sample(before, 'leadsy_webhook_endpoints{state="enabled"}')).toBeGreaterThanOrEqual(1);

    // Three leads and a row with no way to reach the person (failed); the app's own worker runs the import.
    const csv = 'first_name,email\nAna,ana@example.com\nBo,bo@example.com\nCy,cy@example.com\nDee,\n';
    const upload = await multipart({ file: { data: Buffer.from(csv), filename: 'leads.csv', type: 'text/csv' } });
    const sent = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/imports`, {
      token: team.admin.token,
      ...upload,
    });
    expect(sent.statusCode, sent.body).toBe(202);
    const text = await until(
      (t) => rows('imported', t) >= rows('imported', before) + 3 && attempts(t) >= attempts(before) + 3,
      'the import rows and their deliveries',
    );
    expect(rows('failed', text)).toBe(rows('failed', before) + 1);
    expect(text).toMatch(/^leadsy_import_batch_duration_seconds_count \d+$/m);
    expect(text).toMatch(/^leadsy_webhook_attempt_duration_seconds_count \d+$/m);
    expect(receiver.received).toHaveLength(3);
    for (const gauge of ['leadsy_webhook_deliveries_pending', 'leadsy_webhook_events_behind']) {
      expect(sample(text, gauge), gauge).toBeGreaterThanOrEqual(0);
    }
  });

  it('counts rate-limit refusals by route, and logs who asked in which company', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const url = `/api/v1/companies/${company.id}/leads`;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await call(ctx.app, 'GET', url, { token: admin.token })).statusCode);
    expect(statuses).toContain(429);
    const refused = statuses.filter((status) => status === 429).length;
    expect(sample(await scrape(), 'leadsy_rate_limited_total{route="/api/v1/companies/:company_id/leads"}')).toBe(
      refused,
    );

    const completed = lines
      .map((line) => JSON.parse(line) as Json)
      .filter((entry) => entry.msg === 'request completed' && entry.res?.statusCode === 200 && entry.res?.company_id);
    expect(completed.some((e) => e.res.user_id === admin.id && e.res.company_id === company.id)).toBe(true);
  });
});
