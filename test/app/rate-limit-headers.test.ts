import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type Response, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam } from '../helpers/factories.ts';
import {
  BODIES,
  type Fixtures,
  fixtures,
  listOperations,
  type QueryOf,
  requestFor,
  type Team,
} from '../helpers/route-fixtures.ts';

/**
 * API.md: "Every response of an authenticated route carries the RateLimit-* headers of the caller's budget" —
 * successes and refusals alike (401 before the caller is known, 403, 404, 409, 412, 422, replays), checked over the
 * route table (the OpenAPI document generated from every route).
 */
let ctx: TestContext;
let team: Team;
let values: Fixtures;
beforeAll(async () => {
  ctx = await buildTestApp({ WEBHOOK_ALLOW_PRIVATE: 'true' });
  ({ team, values } = await fixtures(ctx));
  values.access_id = await accessId(ctx, 'agent');
});

/** What the shared fixtures leave to each matrix: the routes of the signed-in user. */
const QUERIES: Record<string, QueryOf> = {
  findUserByEmail: () => ({ email: team.agent.email }),
  listInvitationsByEmail: () => ({ email: team.agent.email }),
};
const bodies = { ...BODIES, createCompany: () => ({ name: 'Rate-limited company' }) };
afterAll(() => ctx.close());

const HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'];
const missing = (response: Response) => HEADERS.filter((name) => response.headers[name] === undefined);

describe('RateLimit-* on every answer of an authenticated route', () => {
  it('without a token (401), as an outsider (403/404/2xx), with an unknown query parameter (422)', async () => {
    const operations = (await listOperations(ctx)).filter((operation) => !operation.public);
    expect(operations.length).toBeGreaterThan(50);
    const failures: string[] = [];
    const seen = new Set<number>();
    for (const operation of operations) {
      const request = await requestFor(ctx, operation, values, failures, { bodies, queries: QUERIES });
      const method = operation.method as 'GET';
      const send = (url: string, token?: string) =>
        call(ctx.app, method, url, {
          ...(token ? { token } : {}),
          ...(request.body === undefined ? {} : { body: request.body }),
          ...(request.headers ? { headers: request.headers } : {}),
        });
      const unknownQuery = `${request.url}${request.url.includes('?') ? '&' : '?'}no_such_parameter=1`;
      const answers: [string, Response][] = [
        ['no token', await send(request.url)],
        ['outsider', await send(request.url, team.outsider.token)],
        ['unknown query', await send(unknownQuery, team.outsider.token)],
      ];
      for (const [who, response] of answers) {
        seen.add(response.statusCode);
        const absent = missing(response);
        if (absent.length > 0) {
          failures.push(`${operation.operationId} (${who}, ${response.statusCode}): no ${absent.join(', ')}`);
        }
      }
      expect(answers[0]![1].statusCode, operation.operationId).toBe(401);
      expect(answers[2]![1].statusCode, operation.operationId).toBe(422);
    }
    expect(failures).toEqual([]);
    expect([...seen]).toEqual(expect.arrayContaining([401, 403, 404, 422]));
  });

  it('on 409, 412 and idempotent replays too, per user', async () => {
    const leads = `/api/v1/companies/${team.company.id}/leads`;
    const key = randomUUID();
    const body = { email: 'ratelimit.replay@example.com' };
    const headers = { 'idempotency-key': key };
    const first = await call(ctx.app, 'POST', leads, { token: team.admin.token, body, headers });
    const replay = await call(ctx.app, 'POST', leads, { token: team.admin.token, body, headers });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(missing(replay)).toEqual([]);
    expect(Number(replay.headers['ratelimit-remaining'])).toBe(Number(first.headers['ratelimit-remaining']) - 1);
    const external = { email: 'ratelimit.conflict@example.com', external_id: `x-${key}` };
    await call(ctx.app, 'POST', leads, { token: team.admin.token, body: external });
    const conflict = await call(ctx.app, 'POST', leads, { token: team.admin.token, body: external });
    expect(conflict.statusCode).toBe(409);
    expect(missing(conflict)).toEqual([]);
    const stale = await call(ctx.app, 'PATCH', `${leads}/${first.body_json.lead.id}`, {
      token: team.admin.token,
      body: { first_name: 'Changed' },
      headers: { 'if-match': '"stale"' },
    });
    expect(stale.statusCode).toBe(412);
    expect(missing(stale)).toEqual([]);
  });
});

describe('HEAD and OPTIONS', () => {
  it('HEAD answers what GET answers, without the body, RateLimit-* included; OPTIONS needs no token', async () => {
    const url = `/api/v1/companies/${team.company.id}/leads/${values.lead_id}`;
    const get = await call(ctx.app, 'GET', url, { token: team.admin.token });
    const head = await call(ctx.app, 'HEAD', url, { token: team.admin.token });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers.etag).toBe(get.headers.etag);
    expect(missing(head)).toEqual([]);
    const anonymous = await call(ctx.app, 'HEAD', url);
    expect(anonymous.statusCode).toBe(401);
    expect(missing(anonymous)).toEqual([]);
    const hidden = await call(ctx.app, 'HEAD', url, { token: team.outsider.token });
    expect(hidden.statusCode).toBe(404);
    expect(missing(hidden)).toEqual([]);
    // A preflight carries no credentials (Fetch): it is answered without authentication, whatever the path.
    const preflight = await call(ctx.app, 'OPTIONS', url, {
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PATCH' },
    });
    expect(preflight.statusCode).toBe(204);
  });
});

describe('the budget of a caller not yet known', () => {
  it('401s are charged to the client address: once its budget is spent the answer is 429', async () => {
    const limited = await buildTestApp({ API_RATE_LIMIT: '3' });
    try {
      const other = await companyWithTeam(limited);
      const url = `/api/v1/companies/${other.company.id}/leads`;
      const statuses: number[] = [];
      const remaining: (string | undefined)[] = [];
      for (let i = 0; i < 4; i++) {
        const response = await call(limited.app, 'GET', url, { token: 'not.a.token' });
        statuses.push(response.statusCode);
        remaining.push(response.headers['ratelimit-remaining'] as string | undefined);
        expect(response.headers['content-type']).toContain('application/problem+json');
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect(remaining).toEqual(['2', '1', '0', '0']);
      // A signed-in caller has a budget of their own, untouched by that address's (the admin created the company).
      const signedIn = await call(limited.app, 'GET', url, { token: other.admin.token });
      expect(signedIn.statusCode).toBe(200);
      expect(signedIn.headers['ratelimit-remaining']).toBe('1');
    } finally {
      await limited.close();
    }
  });
});
