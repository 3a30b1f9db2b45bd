import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../db/client.ts';
import { migrationsApplied } from '../../db/migrate.ts';
import { AppError } from '../../lib/errors.ts';
import { problemResponse } from '../../plugins/docs.ts';
import { ping } from './system.repository.ts';

const Status = Type.Object(
  { status: Type.Enum(['ok', 'ready']) },
  { title: 'Health', description: 'A probe that passed.', examples: [{ status: 'ok' }] },
);
const OpenApiDocument = Type.Object(
  {},
  { additionalProperties: true, title: 'OpenApiDocument', description: 'An OpenAPI 3.1 document: this one.' },
);

/** Probes and the machine-readable API description; none of them needs a token. */
export const systemRoutes: FastifyPluginAsyncTypebox<{ database: Database }> = async (app, { database }) => {
  app.get(
    '/healthz',
    {
      config: { policy: 'public' },
      schema: {
        operationId: 'getHealth',
        tags: ['System'],
        summary: 'The process is up',
        description: 'A liveness probe: answers as long as the process serves requests; it reads nothing else.',
        response: { 200: Status },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { policy: 'public' },
      schema: {
        operationId: 'getReadiness',
        tags: ['System'],
        summary: 'The database answers and every migration is applied',
        description:
          'A readiness probe for load balancers: 200 when this process can serve (the database answers and its ' +
          'schema is current), 503 otherwise, and while the server shuts down.',
        response: {
          200: Status,
          503: problemResponse('`not_ready`: the database does not answer, or a migration is not applied yet.'),
        },
      },
    },
    async (request) => {
      const ready = await ping(database.db)
        .then(() => migrationsApplied(database))
        .catch((error: unknown) => {
          request.log.warn({ err: error }, 'readiness check failed');
          return false;
        });
      if (!ready) throw new AppError(503, 'not_ready', 'Service Unavailable', 'The database is not ready.');
      return { status: 'ready' as const };
    },
  );

  app.get(
    '/openapi.json',
    {
      config: { policy: 'public' },
      schema: {
        operationId: 'getOpenApi',
        tags: ['System'],
        summary: 'This API as an OpenAPI 3.1 document',
        description:
          'Generated from the schemas that validate the requests: what /docs shows, and what the SDK is generated ' +
          'from. Also at /docs/json.',
        response: { 200: OpenApiDocument },
      },
    },
    async () => app.swagger(),
  );
};
