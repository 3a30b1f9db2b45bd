import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Database } from '../../db/client.ts';
import { migrationsApplied } from '../../db/migrate.ts';
import { AppError } from '../../lib/errors.ts';
import { ping } from './system.repository.ts';

const Status = Type.Object({ status: Type.String() });

/** Probes and the machine-readable API description; none of them needs a token. */
export const systemRoutes: FastifyPluginAsyncTypebox<{ database: Database }> = async (app, { database }) => {
  app.get(
    '/healthz',
    {
      config: { policy: 'public' },
      schema: { operationId: 'getHealth', tags: ['System'], summary: 'The process is up', response: { 200: Status } },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { policy: 'public' },
      schema: {
        operationId: 'getReadiness',
        tags: ['System'],
        summary: 'The database answers and every migration is applied',
        response: { 200: Status },
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
      return { status: 'ready' };
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
        response: { 200: Type.Object({}, { additionalProperties: true }) },
      },
    },
    async () => app.swagger(),
  );
};
