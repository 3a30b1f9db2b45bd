import { randomInt } from 'node:crypto';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../src/db/schema/index.ts';
import { createTokenService } from '../../src/lib/tokens.ts';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, PASSWORD } from '../helpers/factories.ts';
import { BODIES, fixtures, type Team, UPLOADS } from '../helpers/route-fixtures.ts';
import {
  type Caller,
  type FuzzEnv,
  type FuzzOperation,
  type FuzzRequest,
  operationsOf,
  requestArbitrary,
  weightOf,
} from './requests.ts';
import type { Ids } from './values.ts';

/**
 * Requests generated from /openapi.json (issue 11): every operation, with its path ids (company A's fixtures or
 * not ids at all), query (valid, wrong, garbage cursors, unknown parameters), body (the valid one mutated: types,
 * sizes, nesting, unicode, NUL, prototype keys, numbers, unknown fields; or raw text the parser must refuse) or
 * file (random bytes), from every kind of caller. Whatever the input: never a 5xx (but a 501 or 503 that the
 * operation documents: OIDC sign-in where it is not configured), every error problem+json, the server healthy after.
 *
 * FUZZ_RUNS requests per run (2,000 by default; `npm run fuzz` runs 10,000), FUZZ_SEED replays a run: the same
 * seed and runs send the same requests in the same order (FUZZ_SEED=random: a new seed, printed). Operations that
 * delete run in a second phase, so that the fixtures the others point at live through the first. To look closer:
 * FUZZ_VERBOSE=1 prints the statuses of each operation, FUZZ_TRACE=<operationId> every request of one operation.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED =
  process.env.FUZZ_SEED === undefined
    ? 11
    : process.env.FUZZ_SEED === 'random'
      ? randomInt(2 ** 31)
      : Number(process.env.FUZZ_SEED);
/** Tokens are minted again this often: a generated request may deactivate a fixture user or end its sessions. */
const REFRESH_EVERY = 100;
const ROLES = ['admin', 'manager', 'agent', 'outsider'] as const;

type Failure = { index: number; request: FuzzRequest; status: number; contentType: string; body: string; why: string };

let ctx: TestContext;
let team: Team;
let env: FuzzEnv;
let operations: FuzzOperation[];
const tokens: Record<string, string> = {};
/** Time spent in the app (inject), as opposed to generating requests. */
let serverMs = 0;

describe(`OpenAPI fuzz (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`, () => {
  beforeAll(async () => {
    ctx = await buildTestApp();
    const built = await fixtures(ctx);
    team = built.team;
    operations = operationsOf((await call(ctx.app, 'GET', '/openapi.json')).body_json);
    env = await fuzzEnv(ctx, team, built.values);
    await refreshTokens();
  });
  afterAll(() => ctx?.close());

  it(
    `${RUNS} generated requests: no 5xx, every error problem+json, the server healthy after`,
    async () => {
      const started = Date.now();
      const failures: Failure[] = [];
      const statuses = new Map<number, number>();
      const seen = new Set<string>();
      const byOperation = new Map<string, Record<number, number>>();
      let index = 0;
      const declared = new Map(operations.map((operation) => [operation.operationId, operation.serverStatuses]));
      const send = async (request: FuzzRequest) => {
        if (index % REFRESH_EVERY === 0) await refreshTokens();
        const { status, failure } = await check(request, index++, declared.get(request.operationId) ?? []);
        if (failure) failures.push(failure);
        seen.add(request.operationId);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (process.env.FUZZ_VERBOSE) {
          const counts = byOperation.get(request.operationId) ?? {};
          counts[status] = (counts[status] ?? 0) + 1;
          byOperation.set(request.operationId, counts);
        }
      };
      // Phase 1 every operation but deletes, phase 2 the deletes: each gets its share of the runs.
      const deletes = operations.filter((operation) => operation.method === 'DELETE');
      const others = operations.filter((operation) => operation.method !== 'DELETE');
      const share = (list: FuzzOperation[]) => list.reduce((sum, operation) => sum + weightOf(operation), 0);
      const deleteRuns = Math.max(deletes.length, Math.round((RUNS * share(deletes)) / share(operations)));
      for (const [phase, list, runs] of [
        [0, others, RUNS - deleteRuns],
        [1, deletes, deleteRuns],
      ] as const) {
        const arbitrary = fc.oneof(
          ...list.map((operation) => ({ weight: weightOf(operation), arbitrary: requestArbitrary(operation, env) })),
        );
        await fc.assert(
          fc.asyncProperty(arbitrary, async (request) => {
            await send(request);
          }),
          { numRuns: runs, seed: SEED + phase, endOnFailure: true },
        );
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(
        `fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}: ${index} requests in ${seconds} s ` +
          `(${(serverMs / 1000).toFixed(1)} s in the app) on ${ctx.database.kind}, ` +
          `${seen.size}/${operations.length} operations, ${failures.length} failures; statuses ` +
          JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b))),
      );
      for (const [operationId, counts] of byOperation) console.log(`  ${operationId} ${JSON.stringify(counts)}`);
      expect([...seen].sort()).toEqual(operations.map((operation) => operation.operationId).sort());
      await healthyAfter();
      expect(failures.length, report(failures)).toBe(0);
    },
    Math.max(300_000, RUNS * 150),
  );
});

/** What the generators need: ids for every path parameter, a valid body per route, forged tokens. */
async function fuzzEnv(ctx: TestContext, team: Team, values: Record<string, number | string>): Promise<FuzzEnv> {
  const avatar = (await call(ctx.app, 'GET', `/api/v1/users/${team.agent.id}`, { token: team.admin.token })).body_json
    .user.avatar_route as string;
  const [owner, key] = avatar.split('/').slice(-2);
  const ids: Ids = {
    ...values,
    access_id: await accessId(ctx, 'agent'),
    legal_term_id: (await call(ctx.app, 'GET', '/api/v1/legal_terms/current')).body_json.legal_terms[0].id,
    membership_id: (await call(ctx.app, 'GET', '/api/v1/memberships')).body_json.memberships[0].id,
    owner: owner!,
    key: key!,
    // For the query parameters of that name (find_by_email, invitations by email, the calendar feed).
    email: team.agent.email,
    token: (await call(ctx.app, 'POST', '/api/v1/appointments/feed', { token: team.agent.token })).body_json.feed.token,
  };
  const bodies: Record<string, unknown> = {};
  for (const [operationId, body] of Object.entries(BODIES)) bodies[operationId] = await body(values, ctx);
  bodies.login = { email: team.agent.email, password: PASSWORD };
  const uploads: FuzzEnv['uploads'] = {};
  for (const [operationId, upload] of Object.entries(UPLOADS)) uploads[operationId] = await upload();
  const secret = new TextEncoder().encode(ctx.config.jwtSecret);
  const forge = (claims: Record<string, unknown>, subject: string, options: { iat?: number; exp?: number } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject)
      .setIssuer(ctx.config.publicUrl)
      .setAudience('leadsy-api')
      .setIssuedAt(options.iat ?? now)
      .setExpirationTime(options.exp ?? now + 600)
      .sign(secret);
  };
  const forgedTokens = await Promise.all([
    forge({ ver: 0 }, '0'),
    forge({ ver: 0 }, '-1'),
    forge({ ver: 0 }, '2147483648'),
    forge({ ver: 0 }, '99999999999999999999'),
    forge({ ver: 0 }, '1e3'),
    forge({ ver: 0 }, 'abc'),
    forge({ ver: 1e308 }, String(team.admin.id)),
    forge({ ver: -1 }, String(team.admin.id)),
    forge({ ver: 2 ** 31 }, String(team.admin.id)),
    forge({ ver: '0' }, String(team.admin.id)),
    forge({ ver: 0 }, String(team.admin.id), { iat: 2 ** 40 }),
    forge({ ver: 0 }, String(team.admin.id), { exp: 1 }),
  ]);
  return { ids, bodies, uploads, forgedTokens };
}

/** Fixture users back to active, with a fresh token each: the fuzz may deactivate them or end their sessions. */
async function refreshTokens() {
  const signer = createTokenService({
    secret: ctx.config.jwtSecret,
    issuer: ctx.config.publicUrl,
    ttlSeconds: ctx.config.jwtTtlSeconds,
    clock: ctx.clock,
  });
  for (const role of ROLES) {
    const [row] = await ctx.database.db
      .update(users)
      .set({ status: 'active' })
      .where(eq(users.id, team[role].id))
      .returning({ tokenVersion: users.tokenVersion });
    tokens[role] = (await signer.sign(team[role].id, row!.tokenVersion)).token;
  }
}

function authorization(caller: Caller, request: FuzzRequest): Record<string, string> {
  if (caller === 'none') return {};
  if (caller === 'garbage') return { authorization: request.authorization ?? 'Bearer x' };
  return { authorization: `Bearer ${tokens[caller]}` };
}

/** Sends one request; a failure when it answers 5xx, or an error that is not problem+json with its members. */
async function check(
  request: FuzzRequest,
  index: number,
  serverStatuses: number[],
): Promise<{ status: number; failure?: Failure }> {
  let response: Awaited<ReturnType<TestContext['app']['inject']>>;
  try {
    const sent = performance.now();
    response = await ctx.app.inject({
      method: request.method as 'GET',
      // The event stream stays open until its client leaves: the fuzz reads it as a catch-up read, which ends (a
      // second `follow` drawn by the generator is a 422, which ends too).
      url:
        request.operationId === 'streamCompanyEvents'
          ? `${request.url}${request.url.includes('?') ? '&' : '?'}follow=false`
          : request.url,
      headers: { ...request.headers, ...authorization(request.caller, request) },
      ...(request.payload === undefined ? {} : { payload: request.payload }),
    });
    serverMs += performance.now() - sent;
  } catch (error) {
    return {
      status: 0,
      failure: { index, request, status: 0, contentType: '', body: String(error), why: 'inject threw' },
    };
  }
  const status = response.statusCode;
  if (process.env.FUZZ_TRACE === request.operationId) {
    console.log(
      `#${index} ${request.method} ${request.url.slice(0, 300)} ${request.caller} → ${status} ${response.body.slice(0, 300)}`,
    );
  }
  const contentType = String(response.headers['content-type'] ?? '');
  const failure = (why: string) => ({
    status,
    failure: { index, request, status, contentType, body: response.body, why },
  });
  if (status >= 500 && !serverStatuses.includes(status)) return failure('5xx');
  if (status < 400) return { status };
  if (!contentType.startsWith('application/problem+json')) return failure('not problem+json');
  if (request.method === 'HEAD') return { status };
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    return failure('problem body is not JSON');
  }
  const complete =
    typeof problem.type === 'string' &&
    typeof problem.title === 'string' &&
    problem.status === status &&
    typeof problem.code === 'string' &&
    problem.code !== '';
  return complete ? { status } : failure('problem without type, title, status or code');
}

/** After everything: probes answer, a new user can sign in, and a lead can be created and read. */
async function healthyAfter() {
  expect((await call(ctx.app, 'GET', '/healthz')).statusCode).toBe(200);
  expect((await call(ctx.app, 'GET', '/readyz')).statusCode).toBe(200);
  const fresh = await companyWithTeam(ctx);
  const created = await call(ctx.app, 'POST', `/api/v1/companies/${fresh.company.id}/leads`, {
    token: fresh.admin.token,
    body: { email: 'after.fuzz@example.com' },
  });
  expect(created.statusCode, created.body).toBe(201);
  const read = await call(ctx.app, 'GET', `/api/v1/companies/${fresh.company.id}/leads/${created.body_json.lead.id}`, {
    token: fresh.admin.token,
  });
  expect(read.statusCode, read.body).toBe(200);
  expect(read.body_json.lead.email).toBe('after.fuzz@example.com');
}

const excerpt = (value: string | Buffer | undefined, max = 300) => {
  const text = value === undefined ? '' : Buffer.isBuffer(value) ? value.toString('latin1') : value;
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);
};

/** One line per kind of failure (operation, status, why, code), with the first request that showed it. */
function report(failures: Failure[]): string {
  const kinds = new Map<string, { first: Failure; count: number }>();
  for (const failure of failures) {
    const code = /"code":"([^"]*)"/.exec(failure.body)?.[1] ?? '';
    const kind = `${failure.request.operationId} ${failure.status} ${failure.why} ${code}`;
    const known = kinds.get(kind);
    if (known) known.count++;
    else kinds.set(kind, { first: failure, count: 1 });
  }
  const lines = [...kinds.entries()].map(([kind, { first, count }]) => {
    const { request } = first;
    return (
      `  ${kind} ×${count} — #${first.index} ${request.method} ${excerpt(request.url, 200)} as ${request.caller}` +
      `${request.authorization ? ` (${excerpt(request.authorization, 60)})` : ''}` +
      ` headers ${JSON.stringify(request.headers)} body ${excerpt(request.payload)}` +
      ` → ${first.contentType} ${excerpt(first.body, 200)}`
    );
  });
  return `${failures.length} failing requests, ${kinds.size} kinds. Replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npx vitest run test/fuzz\n${lines.join('\n')}`;
}
