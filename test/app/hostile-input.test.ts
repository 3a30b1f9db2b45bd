import { connect, type Socket } from 'node:net';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_LIMITS, schemaValueBound } from '../../src/lib/input-limits.ts';
import { nulPaths } from '../../src/lib/text.ts';
import { CreateTerritoriesBody } from '../../src/modules/territories/territories.schemas.ts';
import { registerErrorHandling } from '../../src/plugins/errors.ts';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createUser, PASSWORD } from '../helpers/factories.ts';

// Issue 11, "what was found" 1 to 6: each reproduction, and what must hold instead.

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

const PROBLEM = /^application\/problem\+json/;
const json = { 'content-type': 'application/json' };
const cursorOf = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');

describe('JSON bodies are bounded in depth and size before they are parsed', () => {
  it('refuses 2,000 nested arrays on login with a 400 problem, not a 500 (repro 1)', async () => {
    const response = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: `${'['.repeat(2000)}${']'.repeat(2000)}`,
      headers: json,
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(PROBLEM);
    expect(response.body_json.code).toBe('body_too_deep');
  });

  it('takes a body nested exactly as deep as allowed to validation, and refuses one level more', async () => {
    const nested = (depth: number) => `{"email":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    const atLimit = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: nested(INPUT_LIMITS.jsonDepth),
      headers: json,
    });
    expect(atLimit.statusCode).toBe(422);
    const over = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: nested(INPUT_LIMITS.jsonDepth + 1),
      headers: json,
    });
    expect(over.statusCode).toBe(400);
    expect(over.body_json.code).toBe('body_too_deep');
    // Brackets inside strings are text, not nesting.
    const inString = await call(ctx.app, 'POST', '/api/v1/users/login', {
      body: JSON.stringify({ email: '['.repeat(5000), password: '{'.repeat(100) }),
      headers: json,
    });
    expect(inString.statusCode).not.toBe(400);
  });

  it('refuses 60,000 unknown keys on login before validating them (repro 4)', async () => {
    const keys = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, 1]));
    const response = await call(ctx.app, 'POST', '/api/v1/users/login', { body: keys });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(PROBLEM);
    expect(response.body_json.code).toBe('body_too_many_values');
    expect(response.body.length).toBeLessThan(1000);
  });

  it('lets a bulk body through up to what its schema allows, over the default', async () => {
    expect(schemaValueBound(CreateTerritoriesBody)).toBeGreaterThan(INPUT_LIMITS.jsonValues);
    const team = await companyWithTeam(ctx);
    const territories = Array.from({ length: 25 }, (_, i) => ({
      name: `T${i}`,
      postal_codes: Array.from({ length: 450 }, (_, n) => `${i}-${n}`),
      user_access_ids: [team.agent.userAccessId],
    }));
    const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/territories`, {
      token: team.admin.token,
      body: { territories },
    });
    expect(response.body_json.code).not.toBe('body_too_many_values');
    expect(response.statusCode).toBeLessThan(500);
  });

  it('finds a NUL in a value nested far deeper than the call stack would allow, without recursion', () => {
    let value: unknown = 'a\u0000b';
    for (let i = 0; i < 20_000; i++) value = [value];
    expect(nulPaths(value)).toEqual([Array.from({ length: 20_000 }, () => '0').join('.')]);
    expect(nulPaths({ a: [{ 'k\u0000': 1 }, 'ok'], b: 'x\u0000' })).toEqual(['a.0.k\uFFFD', 'b']);
  });
});

describe('error lists are bounded', () => {
  it('lists missing fields first and at most 50 entries, flagging the cut', async () => {
    const keys = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 1]));
    const response = await call(ctx.app, 'POST', '/api/v1/users/login', { body: keys });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors).toHaveLength(INPUT_LIMITS.problemErrors);
    expect(response.body_json.errors_truncated).toBe(true);
    expect(response.body_json.errors.slice(0, 2)).toEqual([
      expect.objectContaining({ field: 'email', code: 'required' }),
      expect.objectContaining({ field: 'password', code: 'required' }),
    ]);
    expect(response.body.length).toBeLessThan(10_000);
    const few = await call(ctx.app, 'POST', '/api/v1/users/login', { body: { email: 'a@b.co' } });
    expect(few.body_json.errors_truncated).toBeUndefined();
  });

  it('documents errors_truncated in the Problem schema', async () => {
    const document = (await call(ctx.app, 'GET', '/openapi.json')).body_json;
    const problem = document.components.schemas.Problem;
    expect(problem.properties.errors_truncated).toMatchObject({ type: 'boolean' });
  });
});

describe('cursors are typed values', () => {
  it('refuses crafted cursors on leads, unassigned leads and appointments with 422 invalid_cursor (repro 2)', async () => {
    const team = await companyWithTeam(ctx);
    const base = `/api/v1/companies/${team.company.id}/leads`;
    const crafted = [
      ['2020-01-01 00:00:00+25', 1],
      ['2020-01-01 00:00:00 Mars/Olympus', 1],
      ['2020-02-30T00:00:00Z', 1],
      ['2020-01-01T24:00:00Z', 1],
      ['0000-01-01T00:00:00Z', 1],
      ['+275760-09-13T00:00:00Z', 1],
      ['2020-01-01T00:00:00Z', 0],
      ['2020-01-01T00:00:00Z', 2 ** 53],
      ['2020-01-01T00:00:00Z', 1.5],
      ['2020-01-01T00:00:00Z', '1'],
      ['2020-01-01T00:00:00Z'],
      [1, 1],
    ];
    for (const path of [base, `${base}/unassigned`, '/api/v1/appointments']) {
      for (const values of crafted) {
        const response = await call(ctx.app, 'GET', `${path}?cursor=${cursorOf(values)}`, {
          token: team.admin.token,
        });
        expect(response.statusCode, `${path} ${JSON.stringify(values)}`).toBe(422);
        expect(response.body_json.errors).toEqual([
          expect.objectContaining({ field: 'cursor', code: 'invalid_cursor' }),
        ]);
      }
    }
    const text = `/api/v1/companies/${team.company.id}/users`;
    for (const values of [
      ['a\u0000', 'b', 1],
      ['x'.repeat(300), 'b', 1],
      ['\ud800', 'b', 1],
    ]) {
      const response = await call(ctx.app, 'GET', `${text}?cursor=${cursorOf(values)}`, { token: team.admin.token });
      expect(response.statusCode, JSON.stringify(values)).toBe(422);
    }
  });

  it('issues ISO 8601 UTC cursors with microseconds and follows them', async () => {
    const team = await companyWithTeam(ctx);
    const base = `/api/v1/companies/${team.company.id}/leads`;
    for (const email of ['a@x.test', 'b@x.test', 'c@x.test']) {
      expect((await call(ctx.app, 'POST', base, { token: team.admin.token, body: { email } })).statusCode).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(ctx.app, 'GET', `${base}?limit=1${cursor ? `&cursor=${cursor}` : ''}`, {
        token: team.admin.token,
      });
      seen.push(...page.body_json.leads.map((lead: { email: string }) => lead.email));
      cursor = page.body_json.meta.next_cursor as string | null;
      if (cursor) {
        const [time] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [string, number];
        expect(time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      }
    } while (cursor);
    expect(seen).toEqual(['c@x.test', 'b@x.test', 'a@x.test']);
  });

  it('maps any PostgreSQL data exception (class 22) to a 422, as a last line of defence', async () => {
    const app = Fastify();
    registerErrorHandling(app);
    app.get('/zone', async () => {
      throw Object.assign(new Error('time zone displacement out of range'), { code: '22009' });
    });
    app.get('/param', async () => {
      throw Object.assign(new Error('invalid parameter value'), { code: '22023' });
    });
    try {
      for (const url of ['/zone', '/param']) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode).toBe(422);
        expect(response.headers['content-type']).toMatch(PROBLEM);
        expect(response.json().code).toBe('validation_failed');
      }
    } finally {
      await app.close();
    }
  });
});

describe('errors Fastify and Node answer themselves are problem+json too (repro 3)', () => {
  it('answers a path parameter over 256 characters with a 414 problem', async () => {
    const user = await createUser(ctx);
    const response = await call(ctx.app, 'GET', `/api/v1/users/${'1'.repeat(300)}`, { token: user.token });
    expect(response.statusCode).toBe(414);
    expect(response.headers['content-type']).toMatch(PROBLEM);
    expect(response.body_json.code).toBe('uri_too_long');
    expect(response.body_json.request_id).toBe(response.headers['x-request-id']);
  });

  it('answers a wrong method on an existing path with 405 and Allow; unknown paths stay 404', async () => {
    const document = await call(ctx.app, 'POST', '/openapi.json');
    expect(document.statusCode).toBe(405);
    expect(document.headers.allow).toBe('GET, HEAD');
    expect(document.headers['content-type']).toMatch(PROBLEM);
    expect(document.body_json.code).toBe('method_not_allowed');
    expect(document.body_json.request_id).toBe(document.headers['x-request-id']);
    // GET /users/login is GET /users/:user_id, which exists (and wants a token).
    expect((await call(ctx.app, 'GET', '/api/v1/users/login')).statusCode).toBe(401);
    const lead = await call(ctx.app, 'POST', '/api/v1/companies/1/leads/2');
    expect(lead.statusCode).toBe(405);
    expect(lead.headers.allow).toBe('GET, HEAD, PUT, PATCH, DELETE');
    const health = await call(ctx.app, 'DELETE', '/healthz');
    expect(health.headers.allow).toBe('GET, HEAD');
    const unknown = await call(ctx.app, 'DELETE', '/api/v1/nothing-here');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body_json.code).toBe('route_not_found');
  });

  describe('over a real socket', () => {
    let origin: { port: number };
    beforeAll(async () => {
      await ctx.app.listen({ port: 0, host: '127.0.0.1' });
      origin = ctx.app.server.address() as { port: number };
    });

    it('answers headers over the size limit with a 431 problem', async () => {
      const answer = await exchange(origin.port, [
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      ]);
      expect(answer.text).toMatch(/^HTTP\/1\.1 431 /);
      expect(answer.text).toMatch(/content-type: application\/problem\+json/i);
      expect(problemOf(answer.text)).toMatchObject({ status: 431, code: 'headers_too_large' });
    });

    it('answers a request Node cannot parse with a 400 problem', async () => {
      const answer = await exchange(origin.port, ['NOT HTTP AT ALL\r\n\r\n']);
      expect(answer.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(problemOf(answer.text)).toMatchObject({ status: 400, code: 'bad_request' });
    });
  });
});

describe('timeouts', () => {
  it('cuts a trickled body at REQUEST_TIMEOUT_MS with a 408 problem (repro 5)', async () => {
    const timeoutMs = 1000;
    const slow = await buildTestApp({ REQUEST_TIMEOUT_MS: String(timeoutMs) });
    try {
      await slow.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = slow.app.server.address() as { port: number };
      const head = 'POST /api/v1/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';
      // One byte every 50 ms keeps the socket busy (its idle timeout never fires): only the request timeout cuts.
      const answer = await exchange(port, [`${head}Content-Length: 10000\r\n\r\n{"email":"`], { trickleMs: 50 });
      expect(answer.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(problemOf(answer.text)).toMatchObject({ status: 408, code: 'request_timeout' });
      expect(answer.elapsedMs).toBeGreaterThanOrEqual(timeoutMs - 50);
      // Node checks its request deadlines every 100 ms here (a tenth of the timeout); generous for a loaded machine.
      expect(answer.elapsedMs).toBeLessThan(timeoutMs + 4000);
    } finally {
      await slow.close();
    }
  });
});

describe('query strings are validated like bodies (repro 6)', () => {
  it('refuses an unknown query parameter with a 422 naming it', async () => {
    const team = await companyWithTeam(ctx);
    const response = await call(ctx.app, 'GET', `/api/v1/companies/${team.company.id}/leads?stageid=3`, {
      token: team.admin.token,
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors).toEqual([
      { field: 'stageid', code: 'unknown_field', message: 'is not a known field' },
    ]);
    const mixed = await call(ctx.app, 'GET', `/api/v1/companies/${team.company.id}/leads?stageid=3&limit=0`, {
      token: team.admin.token,
    });
    expect(mixed.body_json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['limit', 'stageid']);
    const login = await call(ctx.app, 'POST', '/api/v1/users/login?next=/home', {
      body: { email: team.admin.email, password: PASSWORD },
    });
    expect(login.statusCode).toBe(422);
    expect(login.body_json.errors[0]).toMatchObject({ field: 'next', code: 'unknown_field' });
    const feed = await call(ctx.app, 'GET', `/api/v1/appointments.ics?token=${'a'.repeat(43)}&x=1`);
    expect(feed.statusCode).toBe(422);
    expect(feed.body_json.errors).toEqual([expect.objectContaining({ field: 'x', code: 'unknown_field' })]);
  });

  it('leaves the docs UI alone', async () => {
    const docs = await ctx.app.inject({ method: 'GET', url: '/docs/?url=x' });
    expect(docs.statusCode).toBe(200);
  });

  it('lists missing required fields together with unknown ones in one 422', async () => {
    const team = await companyWithTeam(ctx);
    const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/leads`, {
      token: team.admin.token,
      body: { first_name: 'Ana', bogus: true },
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors).toEqual([
      { field: 'email', code: 'contact_required', message: 'a lead needs an email or a phone (or both)' },
      { field: 'bogus', code: 'unknown_field', message: 'is not a known field' },
    ]);
  });
});

/** The problem JSON of a raw HTTP answer. */
function problemOf(text: string) {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
}

/**
 * Writes `chunks` to a fresh connection, then (with `trickleMs`) one more byte every so often, and resolves with
 * everything the server answered once it closes the connection. Bounded: fails after 15 s.
 */
function exchange(
  port: number,
  chunks: string[],
  options: { trickleMs?: number } = {},
): Promise<{ text: string; elapsedMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    let trickle: NodeJS.Timeout | undefined;
    const limit = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection in 15 s; it answered: ${text.slice(0, 200)}`));
    }, 15_000);
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (text += data));
    socket.on('error', () => {}); // a reset after the answer is the server closing; the text says what came
    socket.on('close', () => {
      clearTimeout(limit);
      clearInterval(trickle);
      resolve({ text, elapsedMs: performance.now() - started });
    });
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
      if (options.trickleMs) {
        trickle = setInterval(() => {
          if (socket.writable) socket.write('a');
        }, options.trickleMs);
      }
    });
  });
}
