import type { FastifyInstance } from 'fastify';
import { AppError } from '../lib/errors.ts';

/**
 * While the app closes (SIGTERM/SIGINT in serve(), or app.close()), requests that still arrive on open connections
 * answer problem+json 503 with their request id and `Retry-After`, instead of Fastify's own JSON
 * (`return503OnClosing: false` in app.ts). Answers given meanwhile close their connection, so a load balancer's
 * keep-alive connections end and it moves to other nodes; /readyz says 503 too.
 */
export function registerDraining(app: FastifyInstance): void {
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!draining) return;
    reply.header('connection', 'close');
    throw new AppError(
      503,
      'shutting_down',
      'Service Unavailable',
      'This server is shutting down; retry the request.',
      undefined,
      { 'retry-after': '1' },
    );
  });
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
  });
}
