import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { unauthorized } from '../lib/errors.ts';
import { problemResponse } from './docs.ts';

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

/** Prometheus metrics at /metrics: request durations by route template, plus the process defaults. */
export function registerMetrics(app: FastifyInstance, options: { token: string | undefined }): void {
  // A registry per app, so several apps in one process (the tests) never collide.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: reply.statusCode },
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
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
}
