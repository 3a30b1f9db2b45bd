import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { createUser, PASSWORD, uniqueEmail } from '../helpers/factories.ts';
import { servedDocument } from '../helpers/openapi.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp({ CORS_ORIGINS: 'https://app.leadsy.test', BODY_LIMIT_BYTES: '2048' });
});
afterAll(() => ctx.close());

const PROBLEM_KEYS = ['type', 'title', 'status', 'detail', 'code', 'request_id'];

describe('problem+json', () => {
  it('answers unknown routes with a 404 problem', async () => {
    const response = await call(ctx.app, 'GET', '/api/v1/nothing-here');
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Object.keys(response.body_json)).toEqual(PROBLEM_KEYS);
    expect(response.body_json.request_id).toBe(response.headers['x-request-id']);
  });

  it('answers malformed JSON with 400, an unsupported type with 415 and an oversize body with 413', async () => {
    const malformed = await call(ctx.app, 'POST', '/api/v1/users', {
      body: '{"first_name":',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['content-type']).toMatch(/^application\/problem\+json/);
    const xml = await call(ctx.app, 'POST', '/api/v1/users', {
      body: '<user/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(xml.statusCode).toBe(415);
    const big = await call(ctx.app, 'POST', '/api/v1/users', {
      body: { first_name: 'x'.repeat(4096), last_name: 'y', email: uniqueEmail(), password: 'longenough' },
    });
    expect(big.statusCode).toBe(413);
    for (const response of [xml, big]) {
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Object.keys(response.body_json)).toEqual(PROBLEM_KEYS);
    }
  });

  it('lists every invalid field of a 422 with its code', async () => {
    const response = await call(ctx.app, 'POST', '/api/v1/users', { body: { email: 42, extra: true } });
    expect(response.statusCode).toBe(422);
    expect(response.body_json).toMatchObject({ status: 422, code: 'validation_failed' });
    const byField = Object.fromEntries(
      response.body_json.errors.map((e: { field: string; code: string }) => [e.field, e.code]),
    );
    expect(byField).toMatchObject({
      first_name: 'required',
      last_name: 'required',
      password: 'required',
      email: 'type',
      extra: 'unknown_field',
    });
  });

  it('refuses a NUL character in a body or a query with its field, never a 500', async () => {
    const user = await createUser(ctx);
    const body = await call(ctx.app, 'PATCH', `/api/v1/users/${user.id}`, {
      token: user.token,
      body: { first_name: 'An\u0000a' },
    });
    expect(body.statusCode).toBe(422);
    expect(body.body_json.errors).toEqual([
      { field: 'first_name', code: 'invalid_character', message: 'contains a NUL character' },
    ]);
    const query = await call(ctx.app, 'GET', '/api/v1/users?q=a%00b', { token: user.token });
    expect(query.statusCode).toBe(422);
    expect(query.body_json.errors[0]).toMatchObject({ field: 'q', code: 'invalid_character' });
  });
});

describe('headers', () => {
  it('echoes a well-formed x-request-id and replaces a malformed one', async () => {
    const echoed = await call(ctx.app, 'GET', '/healthz', { headers: { 'x-request-id': 'trace-123.abc' } });
    expect(echoed.headers['x-request-id']).toBe('trace-123.abc');
    const replaced = await call(ctx.app, 'GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const fresh = await call(ctx.app, 'GET', '/healthz');
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers', async () => {
    const response = await call(ctx.app, 'GET', '/healthz');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBeDefined();
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response.headers['strict-transport-security']).toBeDefined();
  });

  it('forbids caching every answer whose route did not choose otherwise', async () => {
    const user = await createUser(ctx);
    const authenticated = await call(ctx.app, 'GET', '/api/v1/users/validate_jwt', { token: user.token });
    expect(authenticated.statusCode).toBe(200);
    const login = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: { email: user.email, password: PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    // Public catalogs too: one rule for the whole API is easier to trust than a list of exceptions.
    const catalog = await call(ctx.app, 'GET', '/api/v1/memberships');
    const problem = await call(ctx.app, 'GET', '/api/v1/invitations/not-a-real-code/acept');
    const unauthorized = await call(ctx.app, 'GET', '/api/v1/users/validate_jwt');
    for (const response of [authenticated, login, catalog, problem, unauthorized]) {
      expect(response.headers['cache-control'], response.raw.req.url).toBe('no-store');
    }
  });

  it('allows the configured CORS origins only', async () => {
    const allowed = await call(ctx.app, 'OPTIONS', '/api/v1/users/login', {
      headers: { origin: 'https://app.leadsy.test', 'access-control-request-method': 'POST' },
    });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.leadsy.test');
    const denied = await call(ctx.app, 'OPTIONS', '/api/v1/users/login', {
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' },
    });
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    // An OPTIONS without CORS headers is no error (it was a plain-text 400 outside problem+json).
    const bare = await call(ctx.app, 'OPTIONS', '/api/v1/stages');
    expect(bare.statusCode).toBe(204);
    expect(bare.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('probes and docs', () => {
  it('reports health, readiness and metrics (open while METRICS_TOKEN is unset)', async () => {
    expect((await call(ctx.app, 'GET', '/healthz')).body_json).toEqual({ status: 'ok' });
    expect((await call(ctx.app, 'GET', '/readyz')).body_json).toEqual({ status: 'ready' });
    const metrics = await call(ctx.app, 'GET', '/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('http_request_duration_seconds');
  });

  it('closes /metrics with METRICS_TOKEN: 401 problem without it or with another, 200 with it', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const closed = await buildTestApp({ METRICS_TOKEN: token });
    try {
      const metrics = (authorization?: string) =>
        call(closed.app, 'GET', '/metrics', { headers: authorization ? { authorization } : {} });
      for (const refused of [
        await metrics(),
        await metrics(`Bearer ${token}x`),
        await metrics(`Bearer ${token.slice(0, -1)}`),
        await metrics(token),
        await metrics(`Basic ${token}`),
      ]) {
        expect(refused.statusCode).toBe(401);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(refused.headers['www-authenticate']).toBe('Bearer');
        expect(refused.body_json.code).toBe('unauthorized');
        expect(refused.body).not.toContain('http_request_duration_seconds');
      }
      const allowed = await metrics(`Bearer ${token}`);
      expect(allowed.statusCode).toBe(200);
      expect(allowed.body).toContain('http_request_duration_seconds');
    } finally {
      await closed.close();
    }
  });

  it('documents how /metrics is closed', async () => {
    const document = await servedDocument(ctx.app);
    const operation = document.paths['/metrics'].get;
    expect(operation.description).toContain('METRICS_TOKEN');
    expect(operation.responses['401']).toBeDefined();
  });

  it('serves the interactive reference at /docs', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toContain('swagger');
  });
});

describe('rate limits', () => {
  it('limits the authentication routes per client with RateLimit headers and a 429 problem', async () => {
    const limited = await buildTestApp({ AUTH_RATE_LIMIT: '3' });
    try {
      const user = await createUser(limited).catch(() => undefined);
      const body = { email: user?.email ?? uniqueEmail(), password: 'wrong password' };
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await call(limited.app, 'POST', '/api/v1/users/login', { body }));
      const last = answers.at(-1)!;
      expect(answers[0]!.headers['ratelimit-limit']).toBe('3');
      expect(last.statusCode).toBe(429);
      expect(last.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(last.body_json.code).toBe('rate_limited');
      expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
      expect(last.headers['ratelimit-remaining']).toBe('0');
    } finally {
      await limited.close();
    }
  });
});
