import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { createUser } from '../helpers/factories.ts';
import { servedDocument } from '../helpers/openapi.ts';

let ctx: TestContext;
let document: Json;
beforeAll(async () => {
  ctx = await buildTestApp();
  document = await servedDocument(ctx.app);
});
afterAll(() => ctx.close());

/** The routes of the API itself: the docs UI's static files are the only routes not of ours. */
const apiRoutes = () =>
  ctx.app.routeTable.filter((route) => !route.url.startsWith('/docs') && !['HEAD', 'OPTIONS'].includes(route.method));

const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

/** Writes that take no body (lib/schema.ts noBody): the document shows none. */
const TAKES_NO_BODY = new Set(['POST /api/v1/appointments/feed']);

describe('every route', () => {
  it('declares its authorization policy', () => {
    const routes = apiRoutes();
    expect(routes.length).toBeGreaterThan(15);
    const missing = routes.filter((route) => route.policy === undefined).map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
  });

  it('is in the OpenAPI 3.1 document with operationId, tags, summary, security and schemas', () => {
    expect(document.openapi).toBe('3.1.0');
    const problems: string[] = [];
    const operationIds = new Set<string>();
    for (const route of apiRoutes()) {
      const operation = document.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
      const name = `${route.method} ${route.url}`;
      if (!operation) {
        problems.push(`${name}: missing from the document`);
        continue;
      }
      if (!operation.operationId) problems.push(`${name}: no operationId`);
      if (operationIds.has(operation.operationId)) problems.push(`${name}: duplicate operationId`);
      operationIds.add(operation.operationId);
      if (!operation.tags?.length) problems.push(`${name}: no tags`);
      if (!operation.summary) problems.push(`${name}: no summary`);
      if (!Array.isArray(operation.security)) problems.push(`${name}: no security`);
      const expectsToken = route.policy !== 'public';
      if (expectsToken !== operation.security?.length > 0) problems.push(`${name}: security does not match policy`);
      const success = Object.keys(operation.responses ?? {}).filter((code) => /^2/.test(code));
      if (success.length === 0) problems.push(`${name}: no success response`);
      if (!operation.responses?.['500']) problems.push(`${name}: no 500 response`);
      if (['POST', 'PUT', 'PATCH'].includes(route.method) && !operation.requestBody && !TAKES_NO_BODY.has(name)) {
        problems.push(`${name}: no request body schema`);
      }
      if (route.url.includes(':') && !operation.parameters?.some((p: Json) => p.in === 'path')) {
        problems.push(`${name}: no path parameter schema`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('documents problem+json errors and bearer security', () => {
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const seed = document.paths['/api/v1/users/{user_id}/user_access'].post;
    // 409: another request with the same Idempotency-Key still running (every authenticated POST); 400, 413 and
    // 415: a body that cannot be read; 429: every authenticated route is limited; 503: the database away.
    expect(Object.keys(seed.responses).sort()).toEqual(
      ['201', '400', '401', '403', '404', '409', '413', '415', '422', '429', '500', '503'].sort(),
    );
    expect(seed.responses['404'].content['application/problem+json']).toBeDefined();
  });

  it('refuses an unknown query parameter with a 422 naming it (query strings are closed like bodies)', async () => {
    // Platform staff pass every policy; validation runs before the handler, so no route needs real ids.
    const staff = await createUser(ctx, { superadmin: true });
    const sample: Record<string, string> = { owner: 'users', code: 'some-code', key: 'k' };
    const problems: string[] = [];
    // Body routes validate their body first; the same closed query schema is checked for them in hostile-input.
    for (const route of apiRoutes().filter((r) => ['GET', 'DELETE'].includes(r.method))) {
      const path = route.url.replace(/:(\w+)/g, (_, name: string) => sample[name] ?? '1');
      const response = await call(ctx.app, route.method as 'GET' | 'DELETE', `${path}?zz_unknown=1`, {
        token: staff.token,
      });
      const named = response.body_json.errors?.some(
        (e: Json) => e.field === 'zz_unknown' && e.code === 'unknown_field',
      );
      if (response.statusCode !== 422 || !named) problems.push(`${route.method} ${route.url}: ${response.statusCode}`);
    }
    expect(problems).toEqual([]);
  });
});
