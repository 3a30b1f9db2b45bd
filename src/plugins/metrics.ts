import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/client.ts';
import type { QueueStats } from '../jobs/queue.ts';
import type { JobObserver } from '../jobs/runner.ts';
import type { Clock } from '../lib/clock.ts';
import { unauthorized } from '../lib/errors.ts';
import type { Telemetry, WebhookBacklog } from '../lib/telemetry.ts';
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
function bearerMatches(token: string) {
  const expected = digest(token);
  return (authorization: string | undefined) => {
    const presented = BEARER.exec(authorization ?? '')?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}

function metricsGuard(token: string) {
  const matches = bearerMatches(token);
  return async (request: FastifyRequest) => {
    if (!matches(request.headers.authorization)) throw unauthorized('A valid metrics token is required.');
  };
}

const DESCRIPTION =
  'For Prometheus. Open unless the server sets `METRICS_TOKEN`; then it wants `Authorization: Bearer ' +
  '<METRICS_TOKEN>` (the configured secret, not a user JWT) and answers 401 problem+json without it.';

/** What /metrics reads from the database at each scrape; the composition root passes the queries. */
export type MetricsReaders = {
  queue(): Promise<QueueStats>;
  webhooks(): Promise<WebhookBacklog>;
};

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The process's Prometheus registry: request durations by route template, rate-limit refusals, the database pool,
 * the job queue (depth and age from the database, so every worker's backlog shows; run outcomes and durations of
 * the jobs this process ran: mail, imports, webhooks…), import rows by outcome, webhook attempts and backlog, build
 * info, and the process defaults. Built before the services, which report through its `telemetry`.
 */
export function createMetrics(options: { database: Database; clock: Clock; read: MetricsReaders }) {
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
    help: "1 if the database answered the last scrape's queries, else 0",
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
  const importRows = new Counter({
    name: 'leadsy_import_rows_total',
    help: 'Import rows committed by this process by outcome (imported, updated, duplicate, failed); rows/s: rate()',
    labelNames: ['outcome'],
    registers,
  });
  const importBatches = new Histogram({
    name: 'leadsy_import_batch_duration_seconds',
    help: 'Time to write one import batch (up to 1,000 rows) in its transaction, commit included',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const webhookAttempts = new Counter({
    name: 'leadsy_webhook_attempts_total',
    help: 'Webhook delivery attempts of this process by outcome (succeeded: a 2xx; failed: anything else)',
    labelNames: ['outcome'],
    registers,
  });
  const webhookAttemptDuration = new Histogram({
    name: 'leadsy_webhook_attempt_duration_seconds',
    help: 'How long receivers took to answer a delivery attempt (or to fail it)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const webhookEndpoints = new Gauge({
    name: 'leadsy_webhook_endpoints',
    help: 'Webhook endpoints of every company by state (enabled, disabled)',
    labelNames: ['state'],
    registers,
  });
  const webhookPending = new Gauge({
    name: 'leadsy_webhook_deliveries_pending',
    help: 'Deliveries waiting for an attempt or a retry, over every endpoint',
    registers,
  });
  const webhookOldestPending = new Gauge({
    name: 'leadsy_webhook_oldest_pending_seconds',
    help: 'Age of the oldest pending delivery (0: none)',
    registers,
  });
  const webhookBehind = new Gauge({
    name: 'leadsy_webhook_events_behind',
    help: 'Events that enabled endpoints have not yet examined (turned into deliveries or skipped)',
    registers,
  });

  function showQueue(rows: QueueStats, now: number) {
    for (const gauge of [jobsWaiting, jobsRunning, oldestWaiting]) gauge.reset();
    for (const row of rows) {
      (row.status === 'queued' ? jobsWaiting : jobsRunning).set({ kind: row.kind }, row.count);
      if (row.status === 'queued' && row.oldestRunAt) {
        oldestWaiting.set({ kind: row.kind }, Math.max(0, (now - row.oldestRunAt.getTime()) / 1000));
      }
    }
  }

  function showWebhooks(backlog: WebhookBacklog, now: number) {
    webhookEndpoints.set({ state: 'enabled' }, backlog.enabled);
    webhookEndpoints.set({ state: 'disabled' }, backlog.disabled);
    webhookPending.set(backlog.pending);
    webhookOldestPending.set(
      backlog.oldestPendingAt ? Math.max(0, (now - backlog.oldestPendingAt.getTime()) / 1000) : 0,
    );
    webhookBehind.set(backlog.eventsBehind);
  }

  /** Read at each scrape; a database that does not answer shows as leadsy_database_up 0, not as a failed scrape. */
  async function refresh() {
    const stats = options.database.poolStats?.();
    if (stats) for (const [state, value] of Object.entries(stats)) pool.set({ state }, value);
    try {
      const [queue, webhooks] = await Promise.all([options.read.queue(), options.read.webhooks()]);
      const now = options.clock.now().getTime();
      showQueue(queue, now);
      showWebhooks(webhooks, now);
      databaseUp.set(1);
    } catch {
      databaseUp.set(0);
    }
  }

  const telemetry: Telemetry = {
    importBatch(rows, seconds) {
      for (const [outcome, count] of Object.entries(rows)) if (count > 0) importRows.inc({ outcome }, count);
      importBatches.observe(seconds);
    },
    webhookAttempt(outcome, seconds) {
      webhookAttempts.inc({ outcome });
      webhookAttemptDuration.observe(seconds);
    },
  };
  const observeJob: JobObserver = (kind, outcome, seconds) => {
    jobRuns.inc({ kind, outcome });
    jobDuration.observe({ kind }, seconds);
  };
  return {
    telemetry,
    observeJob,
    /** Records one answered request (its route template) for the request metrics. */
    request(method: string, route: string, statusCode: number, seconds: number) {
      duration.observe({ method, route, status_code: statusCode }, seconds);
      if (statusCode === 429) rateLimited.inc({ route });
    },
    /** The exposition text, read fresh. */
    async scrape(): Promise<{ contentType: string; text: string }> {
      await refresh();
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}

/** Serves the metrics at /metrics, and records every request's duration. */
export function registerMetrics(app: FastifyInstance, options: { token: string | undefined; metrics: Metrics }): void {
  const { metrics } = options;
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
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
      const { contentType, text } = await metrics.scrape();
      return reply.type(contentType).send(text);
    },
  );
}

/**
 * A `worker` process has no API: with WORKER_METRICS_PORT it serves its own /metrics (its import rows, webhook
 * attempts and job runs exist only in its memory), behind METRICS_TOKEN as the API's are. Answers the bound port.
 */
export async function serveMetrics(
  metrics: Metrics,
  options: { port: number; host: string; token: string | undefined },
): Promise<{ port: number; close(): Promise<void> }> {
  const matches = options.token ? bearerMatches(options.token) : () => true;
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    const refuse = (status: number, title: string) => {
      response.writeHead(status, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({ type: 'about:blank', title, status }));
    };
    if (path !== '/metrics' || request.method !== 'GET') return refuse(404, 'Not Found');
    if (!matches(request.headers.authorization)) return refuse(401, 'A valid metrics token is required.');
    metrics.scrape().then(
      ({ contentType, text }) => {
        response.writeHead(200, { 'content-type': contentType });
        response.end(text);
      },
      () => refuse(500, 'Internal Server Error'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
