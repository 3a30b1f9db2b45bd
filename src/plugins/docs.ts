import swagger, { type SwaggerTransformObject } from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.ts';
import { INPUT_LIMITS } from '../lib/input-limits.ts';
import { documentConditional } from './conditional.ts';
import { documentMarkers, documentResponses, finishDocument, problemResponse } from './docs-responses.ts';
import { createTitleRegistry, hoistTitledSchemas } from './docs-schemas.ts';
import { shareResponses } from './docs-shared.ts';
import { TAGS } from './docs-tags.ts';
import { registerDocsUi } from './docs-ui.ts';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable error code.' }),
    request_id: Type.String(),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), code: Type.String(), message: Type.String() }), {
        maxItems: INPUT_LIMITS.problemErrors,
        description: `Every invalid field, on 422: missing and invalid ones first, unknown ones last; at most ${INPUT_LIMITS.problemErrors}.`,
      }),
    ),
    errors_truncated: Type.Optional(
      Type.Boolean({
        description: `Present (true) when more than ${INPUT_LIMITS.problemErrors} errors were found and \`errors\` holds the first ${INPUT_LIMITS.problemErrors}.`,
      }),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details.' },
);

export { problemResponse } from './docs-responses.ts';

/**
 * The OpenAPI 3.1 document is generated from the same route schemas that validate requests. Each route gets its
 * security requirement and the answers its policy and input imply (docs-responses.ts), so no route documents them
 * by hand.
 */
function documentRoute(route: RouteOptions): void {
  const policy = route.config?.policy;
  if (!policy || !route.schema) return;
  const schema = route.schema as Record<string, unknown> & { response?: Record<string, unknown> };
  const response = { ...(schema.response ?? {}) };
  documentResponses(route, response);
  route.schema = {
    ...documentConditional(route, schema, response, problemResponse),
    ...documentMarkers(route),
    response,
    security: policy === 'public' ? [] : [{ bearerAuth: [] }],
    ...(typeof policy === 'object' ? { 'x-permission': policy.permission } : {}),
  };
}

export async function registerDocs(app: FastifyInstance, config: Config): Promise<void> {
  app.addSchema(ProblemSchema);
  // Before documentRoute: a title given to two shapes fails the app's start, not the first read of the document.
  const titles = createTitleRegistry();
  app.addHook('onRoute', (route) => titles.checkRoute(route.schema as Record<string, unknown> | undefined));
  app.addHook('onReady', async () => {
    for (const schema of Object.values(app.getSchemas())) titles.check(schema);
  });
  app.addHook('onRoute', documentRoute);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Leadsy API',
        version: '1.0.0',
        contact: { name: 'Leadsy API reference', url: `${config.publicUrl}/docs` },
        // No license is granted by the repository (it has none): the lead sets the real one here.
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
        description:
          'Lead management for sales teams. Errors are RFC 9457 problem+json; lists use keyset cursors ' +
          '(`limit`, `cursor`, `meta.next_cursor`); resources of other companies answer 404.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT or API key',
            description:
              'A user JWT (from login), or a company API key `lsk_…` (POST /companies/{company_id}/api_keys): a key ' +
              'acts in its company and its descendants with its access; on routes for signed-in users (every ' +
              '`/users/…` route among them) it gets 403 `api_key_not_allowed`.',
          },
        },
      },
    },
    transformObject: (document) =>
      // Shared answers last: finishing adds the RateLimit-* headers that make them the same.
      shareResponses(
        finishDocument(hoistTitledSchemas('openapiObject' in document ? document.openapiObject : {}), TAGS),
      ) as ReturnType<SwaggerTransformObject>,
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`),
    },
  });
  await registerDocsUi(app);
}
