import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/client.ts';
import { queueStats } from '../jobs/queue.ts';
import type { JobObserver } from '../jobs/runner.ts';
import type { Clock } from '../lib/clock.ts';
import { unauthorized } from '../lib/errors.ts';
import { problemResponse } from './docs.ts';

// From src/plugins or dist/plugins alike, the package is two folders up.
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
const BEARER = /^Bearer (\S+)$/;

/**
 * With METRICS_TOKEN set, a scraper proves it holds it. Digests of equal length compared in constant time, so
 * neither the token's content nor its length leaks through response times.
 */
function metricsGuard(token: string) {
  const expected = digest(token);
  return async (request: FastifyRequest) => {
    const presented = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      throw unauthorized('A valid metrics token is required.');
    }
  };
}

const DESCRIPTION =
  'For Prometheus. Open unless the server sets `METRICS_TOKEN`; then it wants `Authorization: Bearer ' +
  '<METRICS_TOKEN>` (the configured secret, not a user JWT) and answers 401 problem+json without it.';

/**
 * Prometheus metrics at /metrics: request durations by route template, rate-limit refusals, the database pool, the
 * job queue (depth and age from the database, so every worker's backlog shows; run outcomes and durations of the
 * jobs this process ran: mail, imports, webhooks…), build info, and the process defaults. Answers `observeJob`
 * for this process's job runner.
 */
export function registerMetrics(
  app: FastifyInstance,
  options: { token: string | undefined; database: Database; clock: Clock },
): { observeJob: JobObserver } {
  // A registry per app, so several apps in one process (the tests) never collide.
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const rateLimited = new Counter({
    name: 'leadsy_rate_limited_total',
    help: 'Requests refused with 429 by a rate limit, by route template',
    labelNames: ['route'],
    registers,
  });
  new Gauge({
    name: 'leadsy_build_info',
    help: 'The running build: always 1, its labels say which',
    labelNames: ['version', 'node_version'],
    registers,
  }).set({ version: VERSION, node_version: process.version }, 1);
  const pool = new Gauge({
    name: 'leadsy_db_pool_connections',
    help: 'Database pool connections of this process by state (total, idle, waiting requests, max); PostgreSQL only',
    labelNames: ['state'],
    registers,
  });
  const databaseUp = new Gauge({
    name: 'leadsy_database_up',
    help: "1 if the database answered the last scrape's queue query, else 0",
    registers,
  });
  const jobsWaiting = new Gauge({
    name: 'leadsy_jobs_waiting',
    help: 'Queued jobs by kind (due now or scheduled for a retry), over all workers',
    labelNames: ['kind'],
    registers,
  });
  const jobsRunning = new Gauge({
    name: 'leadsy_jobs_running',
    help: 'Jobs held by a worker by kind, over all workers',
    labelNames: ['kind'],
    registers,
  });
  const oldestWaiting = new Gauge({
    name: 'leadsy_jobs_oldest_waiting_seconds',
    help: 'How long the oldest due job of each kind has been waiting (0: none overdue)',
    labelNames: ['kind'],
    registers,
  });
  const jobRuns = new Counter({
    name: 'leadsy_jobs_total',
    help: 'Job runs of this process by kind and outcome (done, retry, failed, released); kind="mail" counts mail sent',
    labelNames: ['kind', 'outcome'],
    registers,
  });
  const jobDuration = new Histogram({
    name: 'leadsy_job_duration_seconds',
    help: 'Job run duration by kind, whatever the outcome',
    labelNames: ['kind'],
    buckets: [0.01, 0.05, 0.25, 1, 5, 30, 120, 600],
    registers,
  });

  /** Read at each scrape; a database that does not answer shows as leadsy_database_up 0, not as a failed scrape. */
  async function refresh() {
    const stats = options.database.poolStats?.();
    if (stats) for (const [state, value] of Object.entries(stats)) pool.set({ state }, value);
    try {
      const rows = await queueStats(options.database.db);
      const now = options.clock.now().getTime();
      for (const gauge of [jobsWaiting, jobsRunning, oldestWaiting]) gauge.reset();
      for (const row of rows) {
        (row.status === 'queued' ? jobsWaiting : jobsRunning).set({ kind: row.kind }, row.count);
        if (row.status === 'queued' && row.oldestRunAt) {
          oldestWaiting.set({ kind: row.kind }, Math.max(0, (now - row.oldestRunAt.getTime()) / 1000));
        }
      }
      databaseUp.set(1);
    } catch {
      databaseUp.set(0);
    }
  }

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status_code: reply.statusCode }, reply.elapsedTime / 1000);
    if (reply.statusCode === 429) rateLimited.inc({ route });
  });
  app.get(
    '/metrics',
    {
      // Public to the JWT policies: a scraper holds no user account. METRICS_TOKEN is checked here instead.
      config: { policy: 'public' },
      ...(options.token ? { onRequest: metricsGuard(options.token) } : {}),
      schema: {
        operationId: 'getMetrics',
        tags: ['System'],
        summary: 'Prometheus metrics',
        description: DESCRIPTION,
        produces: ['text/plain'],
        response: {
          200: { type: 'string', description: 'Prometheus text exposition format' },
          401: problemResponse('METRICS_TOKEN is set and the request does not carry it.'),
        },
      },
    },
    async (_request, reply) => {
      await refresh();
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
  return {
    observeJob(kind, outcome, seconds) {
      jobRuns.inc({ kind, outcome });
      jobDuration.observe({ kind }, seconds);
    },
  };
}
