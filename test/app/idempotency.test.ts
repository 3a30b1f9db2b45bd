import { randomUUID } from 'node:crypto';
import { and, count, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.ts';
import { idempotencyKeys, leads } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, PASSWORD } from '../helpers/factories.ts';
import { multipart } from '../helpers/multipart.ts';
import { servedDocument } from '../helpers/openapi.ts';
import { listOperations } from '../helpers/route-fixtures.ts';

/**
 * Idempotency-Key on POSTs (API.md "Integrations"; src/plugins/idempotency.ts), through the real app and database:
 * replay, refusal of another request with the key, concurrency, scope per principal, expiry, what is stored.
 */
let ctx: TestContext;
let team: Awaited<ReturnType<typeof companyWithTeam>>;
beforeAll(async () => {
  ctx = await buildTestApp();
  team = await companyWithTeam(ctx);
});
afterAll(() => ctx.close());

const leadsUrl = () => `/api/v1/companies/${team.company.id}/leads`;
const postLead = (key: string | undefined, body: Json, token = team.admin.token) =>
  call(ctx.app, 'POST', leadsUrl(), { token, body, headers: key === undefined ? {} : { 'idempotency-key': key } });

async function leadsWithEmail(email: string): Promise<number> {
  const [row] = await ctx.database.db
    .select({ n: count() })
    .from(leads)
    .where(and(eq(leads.email, email), isNull(leads.deletedAt)));
  return row!.n;
}

/** Time moved past JWT_TTL: the admin signs in again (their token expired with it). */
async function signInAgain() {
  const login = await call(ctx.app, 'POST', '/api/v1/users/login', {
    body: { email: team.admin.email, password: PASSWORD },
  });
  expect(login.statusCode).toBe(200);
  team.admin.token = login.body_json.token;
}

const uniqueLeadEmail = () => `idem.${randomUUID().slice(0, 8)}@example.com`;

describe('replay', () => {
  it('the same key and body replays the first answer (status, body, Location) without running it again', async () => {
    const key = randomUUID();
    const email = uniqueLeadEmail();
    const first = await postLead(key, { email, first_name: 'Ana' });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await postLead(key, { first_name: 'Ana', email });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.headers['ratelimit-limit']).toBeDefined();
    expect(await leadsWithEmail(email)).toBe(1);
  });

  it('without the header every POST runs', async () => {
    const email = uniqueLeadEmail();
    expect((await postLead(undefined, { email })).statusCode).toBe(201);
    expect((await postLead(undefined, { email })).statusCode).toBe(201);
    expect(await leadsWithEmail(email)).toBe(2);
  });

  it('the same key on another body, path or query: 422 idempotency_key_reused, nothing created', async () => {
    const key = randomUUID();
    expect((await postLead(key, { email: uniqueLeadEmail() })).statusCode).toBe(201);
    const email = uniqueLeadEmail();
    const reused = await postLead(key, { email });
    expect(reused.statusCode).toBe(422);
    expect(reused.body_json.code).toBe('idempotency_key_reused');
    expect(reused.body_json.errors[0].field).toBe('idempotency-key');
    expect(await leadsWithEmail(email)).toBe(0);
    const elsewhere = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/sources`, {
      token: team.admin.token,
      body: { name: 'Idempotent source' },
      headers: { 'idempotency-key': key },
    });
    expect(elsewhere.statusCode).toBe(422);
    expect(elsewhere.body_json.code).toBe('idempotency_key_reused');
  });

  it('a key over 255 characters, empty, or with spaces or non-ASCII characters: 422 naming the header', async () => {
    for (const key of ['k'.repeat(256), 'with space', 'clé', '']) {
      const response = await postLead(key, { email: uniqueLeadEmail() });
      expect(response.statusCode, key).toBe(422);
      expect(
        response.body_json.errors.map((e: Json) => e.field),
        key,
      ).toContain('idempotency-key');
    }
    expect((await postLead('k'.repeat(255), { email: uniqueLeadEmail() })).statusCode).toBe(201);
  });

  it('20 concurrent identical POSTs create one lead; the others replay it or get 409 with Retry-After', async () => {
    const key = randomUUID();
    const email = uniqueLeadEmail();
    const responses = await Promise.all(Array.from({ length: 20 }, () => postLead(key, { email })));
    const ran = responses.filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined);
    expect(ran).toHaveLength(1);
    for (const response of responses) {
      if (response.statusCode === 201) {
        expect(response.body).toBe(ran[0]!.body);
      } else {
        expect(response.statusCode).toBe(409);
        expect(response.body_json.code).toBe('idempotency_key_in_use');
        expect(response.headers['retry-after']).toBe('1');
      }
    }
    expect(await leadsWithEmail(email)).toBe(1);
    // Once the first has finished, a retry replays it.
    const retry = await postLead(key, { email });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toBe(ran[0]!.body);
  });

  it('safe across processes: two app instances on one database, 10 concurrent POSTs each, one lead', async () => {
    // A second API process: its own services and memory, the same database (as with several nodes).
    const other = await buildApp({ config: ctx.config, database: ctx.database, clock: ctx.clock, logger: false });
    try {
      const key = randomUUID();
      const email = uniqueLeadEmail();
      const send = (app: App) =>
        call(app, 'POST', leadsUrl(), {
          token: team.admin.token,
          body: { email },
          headers: { 'idempotency-key': key },
        });
      const responses = await Promise.all(
        [ctx.app, other].flatMap((app) => Array.from({ length: 10 }, () => send(app))),
      );
      const ran = responses.filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined);
      expect(ran).toHaveLength(1);
      expect(responses.every((r) => r.statusCode === 201 || r.statusCode === 409)).toBe(true);
      expect(await leadsWithEmail(email)).toBe(1);
      const replayed = await send(other);
      expect(replayed.headers['idempotent-replayed']).toBe('true');
      expect(replayed.body).toBe(ran[0]!.body);
    } finally {
      await other.close();
    }
  });

  it('keys are per principal: another user sending the same key runs their own request', async () => {
    const key = randomUUID();
    const email = uniqueLeadEmail();
    expect((await postLead(key, { email })).statusCode).toBe(201);
    const theirs = await postLead(key, { email }, team.manager.token);
    expect(theirs.statusCode).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(await leadsWithEmail(email)).toBe(2);
    // And another body under the same key is theirs to use.
    const outsider = await call(ctx.app, 'POST', `/api/v1/companies/${team.otherCompany.id}/leads`, {
      token: team.outsider.token,
      body: { email: uniqueLeadEmail() },
      headers: { 'idempotency-key': key },
    });
    expect(outsider.statusCode).toBe(201);
  });

  it('an API key is a principal of its own (`key:<id>`), apart from the admin who created it', async () => {
    const created = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/api_keys`, {
      token: team.admin.token,
      body: { name: 'Form intake', access_id: await accessId(ctx, 'manager') },
    });
    expect(created.statusCode).toBe(201);
    const key = randomUUID();
    const email = uniqueLeadEmail();
    expect((await postLead(key, { email })).statusCode).toBe(201);
    const byKey = await postLead(key, { email }, created.body_json.secret);
    expect(byKey.statusCode).toBe(201);
    expect(byKey.headers['idempotent-replayed']).toBeUndefined();
    expect((await postLead(key, { email }, created.body_json.secret)).headers['idempotent-replayed']).toBe('true');
    expect(await leadsWithEmail(email)).toBe(2);
    const [row] = await ctx.database.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.key, key), eq(idempotencyKeys.caller, `key:${created.body_json.api_key.id}`)));
    expect(row?.status).toBe(201);
  });
});

describe('what is stored', () => {
  it('a 4xx answer is stored and replayed, even once the request would now succeed', async () => {
    const key = randomUUID();
    const externalId = `ext-${randomUUID()}`;
    const existing = await postLead(undefined, { email: uniqueLeadEmail(), external_id: externalId });
    expect(existing.statusCode).toBe(201);
    const body = { email: uniqueLeadEmail(), external_id: externalId };
    const taken = await postLead(key, body);
    expect(taken.statusCode).toBe(409);
    expect(taken.body_json.code).toBe('external_id_taken');
    const deleted = await call(ctx.app, 'DELETE', `${leadsUrl()}/${existing.body_json.lead.id}`, {
      token: team.admin.token,
    });
    expect(deleted.statusCode).toBe(204);
    const replayed = await postLead(key, body);
    expect(replayed.statusCode).toBe(409);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body).toBe(taken.body); // the first request's request_id included
    expect(await leadsWithEmail(body.email)).toBe(0);
  });

  it('a request refused by validation claims nothing: the key stays free for the corrected request', async () => {
    const key = randomUUID();
    const invalid = await postLead(key, { email: 'not an email', unknown_field: 1 });
    expect(invalid.statusCode).toBe(422);
    expect(invalid.body_json.code).toBe('validation_failed');
    const fixed = await postLead(key, { email: uniqueLeadEmail() });
    expect(fixed.statusCode).toBe(201);
    expect(fixed.headers['idempotent-replayed']).toBeUndefined();
  });

  it('answers are sealed at rest: the stored row does not show the body', async () => {
    const key = randomUUID();
    const email = uniqueLeadEmail();
    expect((await postLead(key, { email })).statusCode).toBe(201);
    const [row] = await ctx.database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
    expect(row!.caller).toBe(`user:${team.admin.id}`);
    expect(row!.status).toBe(201);
    expect(row!.response).not.toContain(email);
    expect(row!.response).not.toContain('lead');
    expect(row!.fingerprint).not.toContain(email);
  });

  it('an upload (multipart) replays its first answer; its file is not compared', async () => {
    const key = randomUUID();
    const upload = async (data: string) => {
      const body = await multipart({ file: { data: Buffer.from(data), filename: 'a.csv', type: 'text/csv' } });
      return call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/imports`, {
        token: team.admin.token,
        body: body.body,
        headers: { ...body.headers, 'idempotency-key': key },
      });
    };
    const first = await upload('email\nupload.one@example.com\n');
    expect(first.statusCode).toBe(202);
    const again = await upload('email\nupload.one@example.com\n');
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body_json.import_file.id).toBe(first.body_json.import_file.id);
  });
});

describe('running claims and expiry', () => {
  it('a claim still running answers 409; a dead process’s claim is taken over after the timeout and grace', async () => {
    const key = randomUUID();
    const email = uniqueLeadEmail();
    expect((await postLead(key, { email })).statusCode).toBe(201);
    // As if that request were still running (or its process had died before answering).
    await ctx.database.db
      .update(idempotencyKeys)
      .set({ status: null, response: null, claimedAt: ctx.clock.now() })
      .where(eq(idempotencyKeys.key, key));
    const busy = await postLead(key, { email });
    expect(busy.statusCode).toBe(409);
    expect(busy.body_json.code).toBe('idempotency_key_in_use');
    expect(busy.headers['retry-after']).toBe('1');
    ctx.clock.advance(ctx.config.requestTimeoutMs + ctx.config.shutdownGraceMs + 1_000);
    const takenOver = await postLead(key, { email });
    expect(takenOver.statusCode).toBe(201);
    expect(takenOver.headers['idempotent-replayed']).toBeUndefined();
    expect((await postLead(key, { email })).headers['idempotent-replayed']).toBe('true');
  });

  it('a key lives 24 h from its first use; then it is new again, and expired keys are pruned', async () => {
    const key = randomUUID();
    const email = uniqueLeadEmail();
    expect((await postLead(key, { email })).statusCode).toBe(201);
    ctx.clock.advance(24 * 3_600_000 - 60_000);
    await signInAgain();
    expect((await postLead(key, { email })).headers['idempotent-replayed']).toBe('true');
    const forgotten = randomUUID();
    expect((await postLead(forgotten, { email: uniqueLeadEmail() })).statusCode).toBe(201);
    ctx.clock.advance(120_000);
    await signInAgain();
    const anew = await postLead(key, { email: uniqueLeadEmail() });
    expect(anew.statusCode).toBe(201);
    expect(anew.headers['idempotent-replayed']).toBeUndefined();
    ctx.clock.advance(24 * 3_600_000);
    await signInAgain();
    // Any claim prunes (at most once a minute per process): `forgotten` is gone without being used again.
    expect((await postLead(randomUUID(), { email: uniqueLeadEmail() })).statusCode).toBe(201);
    const left = await ctx.database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, forgotten));
    expect(left).toEqual([]);
  });
});

describe('public routes and the document', () => {
  it('public routes ignore the header (their answers carry tokens): each login runs', async () => {
    const headers = { 'idempotency-key': 'x'.repeat(300) };
    const body = { email: team.agent.email, password: PASSWORD };
    const first = await call(ctx.app, 'POST', '/api/v1/users/login', { body, headers });
    const second = await call(ctx.app, 'POST', '/api/v1/users/login', { body, headers });
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect(second.body_json.token).toBeDefined();
  });

  it('every POST of the OpenAPI document takes the header; authenticated ones document 409 and 422', async () => {
    const document = await servedDocument(ctx.app);
    const operations = (await listOperations(ctx)).filter((operation) => operation.method === 'POST');
    expect(operations.length).toBeGreaterThan(10);
    for (const operation of operations) {
      const documented = document.paths[operation.path].post;
      const header = (documented.parameters ?? []).find(
        (parameter: Json) => parameter.in === 'header' && parameter.name === 'idempotency-key',
      );
      expect(header, operation.operationId).toBeDefined();
      if (operation.public) continue;
      expect(header.schema.maxLength, operation.operationId).toBe(255);
      expect(documented.responses['409'].description, operation.operationId).toContain('idempotency_key_in_use');
      expect(documented.responses['422'].description, operation.operationId).toContain('idempotency_key_reused');
      for (const status of operation.successes) {
        const replayed = documented.responses[String(status)].headers?.['idempotent-replayed'];
        expect(replayed, `${operation.operationId} ${status}`).toBeDefined();
      }
    }
  });
});
