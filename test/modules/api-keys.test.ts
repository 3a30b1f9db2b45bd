import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { sha256 } from '../../src/lib/secrets.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, createCompany, roundRobinCompany, type TestUser } from '../helpers/factories.ts';

/**
 * Company API keys (API.md "Integrations"): created by admins with an access, the secret shown once and stored
 * hashed, listed without secrets, revoked at once, expiring, acting only in their company tree with their access's
 * permissions, never on a signed-in user's routes, each with its own rate-limit budget.
 */
let ctx: TestContext;
const logLines: string[] = [];
beforeAll(async () => {
  ctx = await buildTestApp({}, { logLines });
});
afterAll(() => ctx.close());

const keysUrl = (companyId: number) => `/api/v1/companies/${companyId}/api_keys`;

async function createKey(
  admin: TestUser,
  companyId: number,
  code: 'admin' | 'manager' | 'agent',
  extra: Json = {},
): Promise<{ apiKey: Json; secret: string }> {
  const response = await call(ctx.app, 'POST', keysUrl(companyId), {
    token: admin.token,
    body: { name: `${code} key`, access_id: await accessId(ctx, code), ...extra },
  });
  if (response.statusCode !== 201) throw new Error(`key creation failed: ${response.body}`);
  return { apiKey: response.body_json.api_key, secret: response.body_json.secret };
}

/** Every row of every table as text: what a database dump would show. */
async function databaseText(): Promise<string> {
  const tables = await ctx.database.db.execute<{ name: string }>(
    sql`select tablename as name from pg_tables where schemaname = 'public'`,
  );
  let text = '';
  for (const { name } of tables.rows) {
    const rows = await ctx.database.db.execute<{ t: string }>(
      sql`select coalesce(string_agg(t::text, '|'), '') as t from ${sql.identifier(name)} t`,
    );
    text += rows.rows[0]?.t ?? '';
  }
  return text;
}

describe('API keys', () => {
  it('creates a key whose secret is shown once and stored only as its hash', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const response = await call(ctx.app, 'POST', keysUrl(company.id), {
      token: admin.token,
      body: { name: '  Website form ', access_id: await accessId(ctx, 'agent') },
    });
    expect(response.statusCode).toBe(201);
    const { api_key: apiKey, secret } = response.body_json;
    expect(secret).toMatch(/^lsk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toEqual({
      id: expect.any(Number),
      name: 'Website form',
      prefix: secret.slice(0, 12),
      access: { id: await accessId(ctx, 'agent'), code: 'agent', name: expect.any(String) },
      created_at: expect.any(String),
      expires_at: null,
      last_used_at: null,
      created_by: { id: admin.id, full_name: 'Test User' },
    });
    const dump = await databaseText();
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.slice(12));
    expect(dump).toContain(sha256(secret));

    const list = await call(ctx.app, 'GET', keysUrl(company.id), { token: admin.token });
    expect(list.statusCode).toBe(200);
    expect(list.body_json.api_keys).toEqual([apiKey]);
    const shown = await call(ctx.app, 'GET', `${keysUrl(company.id)}/${apiKey.id}`, { token: admin.token });
    expect(shown.body_json.api_key).toEqual(apiKey);
    for (const body of [list.body, shown.body]) {
      expect(body).not.toContain(secret);
      expect(body).not.toMatch(/secret/i);
    }
  });

  it('lists newest first in keyset pages', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createKey(admin, company.id, 'agent')).apiKey.id);
    const first = await call(ctx.app, 'GET', `${keysUrl(company.id)}?limit=2&count=true`, { token: admin.token });
    expect(first.body_json.api_keys.map((key: Json) => key.id)).toEqual([ids[2], ids[1]]);
    expect(first.body_json.meta.total).toBe(3);
    const cursor = encodeURIComponent(first.body_json.meta.next_cursor);
    const second = await call(ctx.app, 'GET', `${keysUrl(company.id)}?limit=2&cursor=${cursor}`, {
      token: admin.token,
    });
    expect(second.body_json.api_keys.map((key: Json) => key.id)).toEqual([ids[0]]);
    expect(second.body_json.meta.next_cursor).toBeNull();
  });

  it('refuses an expiry that is not in the future, and an unknown access', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const past = await call(ctx.app, 'POST', keysUrl(company.id), {
      token: admin.token,
      body: { name: 'Old', access_id: await accessId(ctx, 'agent'), expires_at: '2020-01-01T00:00:00Z' },
    });
    expect(past.statusCode).toBe(422);
    expect(past.body_json.errors.map((error: Json) => error.field)).toEqual(['expires_at']);
    const unknown = await call(ctx.app, 'POST', keysUrl(company.id), {
      token: admin.token,
      body: { name: 'Nobody', access_id: 999_999 },
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.body_json.errors.map((error: Json) => error.field)).toEqual(['access_id']);
  });

  it('is managed by admins only: managers and agents 403, other companies 404', async () => {
    const { company, admin, manager, agent, outsider } = await companyWithTeam(ctx);
    const { apiKey } = await createKey(admin, company.id, 'agent');
    const body = { name: 'Mine', access_id: await accessId(ctx, 'agent') };
    for (const [user, status] of [
      [manager, 403],
      [agent, 403],
      [outsider, 404],
    ] as const) {
      expect((await call(ctx.app, 'POST', keysUrl(company.id), { token: user.token, body })).statusCode).toBe(status);
      expect((await call(ctx.app, 'GET', keysUrl(company.id), { token: user.token })).statusCode).toBe(status);
      const one = `${keysUrl(company.id)}/${apiKey.id}`;
      expect((await call(ctx.app, 'GET', one, { token: user.token })).statusCode).toBe(status);
      expect((await call(ctx.app, 'DELETE', one, { token: user.token })).statusCode).toBe(status);
    }
  });

  it('are managed by people only: a key, even an admin key, cannot make, list or revoke keys', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const { apiKey, secret } = await createKey(admin, company.id, 'admin');
    const body = { name: 'Minted by a key', access_id: await accessId(ctx, 'admin') };
    const one = `${keysUrl(company.id)}/${apiKey.id}`;
    for (const [method, url] of [
      ['POST', keysUrl(company.id)],
      ['GET', keysUrl(company.id)],
      ['GET', one],
      ['DELETE', one],
    ] as const) {
      const response = await call(ctx.app, method, url, { token: secret, ...(method === 'POST' ? { body } : {}) });
      expect([response.statusCode, response.body_json.code]).toEqual([403, 'api_key_not_allowed']);
    }
    // Still there, and still the only one.
    const listed = await call(ctx.app, 'GET', keysUrl(company.id), { token: admin.token });
    expect(listed.body_json.api_keys.map((key: Json) => key.id)).toEqual([apiKey.id]);
  });

  it('reads the reference data an integration needs (stages, accesses), like any signed-in user', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const { secret } = await createKey(admin, company.id, 'agent');
    for (const url of ['/api/v1/stages', '/api/v1/accesses', `/api/v1/accesses/${await accessId(ctx, 'agent')}`]) {
      expect((await call(ctx.app, 'GET', url, { token: secret })).statusCode, url).toBe(200);
    }
  });

  it('revoked: the next request is 401, the key leaves the list, revoking again is 404', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const { apiKey, secret } = await createKey(admin, company.id, 'manager');
    const leads = `/api/v1/companies/${company.id}/leads`;
    expect((await call(ctx.app, 'GET', leads, { token: secret })).statusCode).toBe(200);
    const one = `${keysUrl(company.id)}/${apiKey.id}`;
    expect((await call(ctx.app, 'DELETE', one, { token: admin.token })).statusCode).toBe(204);
    const refused = await call(ctx.app, 'GET', leads, { token: secret });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect((await call(ctx.app, 'GET', keysUrl(company.id), { token: admin.token })).body_json.api_keys).toEqual([]);
    expect((await call(ctx.app, 'GET', one, { token: admin.token })).statusCode).toBe(404);
    expect((await call(ctx.app, 'DELETE', one, { token: admin.token })).statusCode).toBe(404);
  });

  it('revoked on one API process: refused by another at once (key lookups are never cached)', async () => {
    // A second app on the same database: its own authorization cache, as another node behind the balancer.
    const other = await buildApp({ config: ctx.config, database: ctx.database, clock: ctx.clock, logger: false });
    try {
      const { company, admin } = await companyWithTeam(ctx);
      const { apiKey, secret } = await createKey(admin, company.id, 'admin');
      const url = `/api/v1/companies/${company.id}/leads`;
      for (let i = 0; i < 3; i++) expect((await call(other, 'GET', url, { token: secret })).statusCode).toBe(200);
      const revoked = await call(ctx.app, 'DELETE', `${keysUrl(company.id)}/${apiKey.id}`, { token: admin.token });
      expect(revoked.statusCode).toBe(204);
      expect((await call(other, 'GET', url, { token: secret })).statusCode).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('expired: 401 from its expires_at on', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const expiresAt = new Date(ctx.clock.now().getTime() + 60 * 60_000);
    const { apiKey, secret } = await createKey(admin, company.id, 'agent', { expires_at: expiresAt.toISOString() });
    expect(apiKey.expires_at).toBe(expiresAt.toISOString());
    const url = `/api/v1/companies/${company.id}`;
    expect((await call(ctx.app, 'GET', url, { token: secret })).statusCode).toBe(200);
    ctx.clock.advance(61 * 60_000);
    expect((await call(ctx.app, 'GET', url, { token: secret })).statusCode).toBe(401);
  });

  it('an unknown or tampered key is 401', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const { secret } = await createKey(admin, company.id, 'admin');
    const url = `/api/v1/companies/${company.id}`;
    const last = secret.at(-1) === 'A' ? 'B' : 'A';
    for (const token of [`${secret.slice(0, -1)}${last}`, `lsk_${'x'.repeat(43)}`, `${secret}x`, 'lsk_short']) {
      const response = await call(ctx.app, 'GET', url, { token });
      expect(response.statusCode, token).toBe(401);
      expect(response.body_json.code).toBe('unauthorized');
    }
  });

  it('acts in its company and its descendants only', async () => {
    const { company, admin, otherCompany } = await companyWithTeam(ctx);
    const child = await createCompany(ctx, admin, { parent_company_id: company.id });
    const { secret } = await createKey(admin, company.id, 'admin');
    expect((await call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: secret })).statusCode).toBe(200);
    const inChild = await call(ctx.app, 'POST', `/api/v1/companies/${child.id}/sources`, {
      token: secret,
      body: { name: 'From the key' },
    });
    expect(inChild.statusCode).toBe(201);
    // Keys of the child do not reach the parent.
    const { secret: childSecret } = await createKey(admin, child.id, 'admin');
    expect((await call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: childSecret })).statusCode).toBe(
      404,
    );
    for (const url of [`/api/v1/companies/${otherCompany.id}`, `/api/v1/companies/${otherCompany.id}/leads`]) {
      expect((await call(ctx.app, 'GET', url, { token: secret })).statusCode).toBe(404);
    }
    expect((await call(ctx.app, 'GET', '/api/v1/companies/999999999', { token: secret })).statusCode).toBe(404);
  });

  it("does what its access may and no more, and nothing of its creator's own", async () => {
    const { company, admin, agent } = await companyWithTeam(ctx);
    const base = `/api/v1/companies/${company.id}`;
    const lead = await call(ctx.app, 'POST', `${base}/leads`, {
      token: admin.token,
      body: { email: 'assigned@example.com', assigned_user_access_id: agent.userAccessId },
    });
    const leadUrl = `${base}/leads/${lead.body_json.lead.id}`;
    const note = await call(ctx.app, 'POST', `${leadUrl}/notes`, {
      token: admin.token,
      body: { body: 'By the admin' },
    });
    const keys = {
      admin: (await createKey(admin, company.id, 'admin')).secret,
      manager: (await createKey(admin, company.id, 'manager')).secret,
      agent: (await createKey(admin, company.id, 'agent')).secret,
    };
    const status = async (code: keyof typeof keys, method: string, url: string, body?: Json) =>
      (await call(ctx.app, method as 'GET', url, { token: keys[code], body })).statusCode;

    // Agent: reads sources, sees no lead (none is assigned to a key), may not write sources or read cycles.
    expect(await status('agent', 'GET', `${base}/sources`)).toBe(200);
    const agentLeads = await call(ctx.app, 'GET', `${base}/leads`, { token: keys.agent });
    expect(agentLeads.body_json.leads).toEqual([]);
    expect(await status('agent', 'GET', leadUrl)).toBe(404);
    expect(await status('agent', 'POST', `${base}/sources`, { name: 'No' })).toBe(403);
    expect(await status('agent', 'GET', `${base}/cycles`)).toBe(403);
    // Manager: every lead, writes sources, but no integrations and no company settings.
    expect(await status('manager', 'GET', leadUrl)).toBe(200);
    expect(await status('manager', 'POST', `${base}/sources`, { name: 'Yes' })).toBe(201);
    expect(await status('manager', 'GET', `${base}/webhooks`)).toBe(403);
    expect(await status('manager', 'PATCH', base, { name: 'Renamed' })).toBe(403);
    // An admin key administers the company and its webhooks; keys themselves are managed by people only.
    expect(await status('admin', 'GET', `${base}/webhooks`)).toBe(200);
    expect(await status('admin', 'PATCH', base, { name: 'Renamed' })).toBe(200);
    // The note's author is the key's creator: an agent key still may not delete it (it is not the author).
    expect(await status('agent', 'DELETE', `${leadUrl}/notes/${note.body_json.note.id}`)).toBe(404);
    // Attribution: what a key writes is the creator's.
    const created = await call(ctx.app, 'POST', `${base}/leads`, {
      token: keys.manager,
      body: { email: 'by.key@example.com' },
    });
    expect(created.statusCode).toBe(201);
    const activities = await call(ctx.app, 'GET', `${base}/leads/${created.body_json.lead.id}/activities`, {
      token: admin.token,
    });
    const actors = (activities.body_json.activities as Json[]).map((activity) => activity.actor_user_id);
    expect(actors.length).toBeGreaterThan(0);
    expect(new Set(actors)).toEqual(new Set([admin.id]));
  });

  it("stops working once its creator's account is gone (it has no one to act as)", async () => {
    const { company, admin, manager } = await companyWithTeam(ctx);
    // The manager is made an admin so that a key of theirs can be made; then their account is removed by hand.
    await call(ctx.app, 'PUT', `/api/v1/users/${manager.id}/user_access/${manager.userAccessId}`, {
      token: admin.token,
      body: { access_id: await accessId(ctx, 'admin') },
    });
    const { apiKey, secret } = await createKey(manager, company.id, 'agent');
    const url = `/api/v1/companies/${company.id}`;
    expect((await call(ctx.app, 'GET', url, { token: secret })).statusCode).toBe(200);
    await ctx.database.db.execute(sql`delete from users where id = ${manager.id}`);
    expect((await call(ctx.app, 'GET', url, { token: secret })).statusCode).toBe(401);
    const shown = await call(ctx.app, 'GET', `${keysUrl(company.id)}/${apiKey.id}`, { token: admin.token });
    expect(shown.body_json.api_key.created_by).toBeNull();
  });

  it('an agent key creates a lead that distribution assigns', async () => {
    const { admin, company, agents } = await roundRobinCompany(ctx, 2);
    const { secret } = await createKey(admin, company.id, 'agent');
    const response = await call(ctx.app, 'POST', `/api/v1/companies/${company.id}/leads`, {
      token: secret,
      body: { email: 'from.the.form@example.com' },
    });
    expect(response.statusCode).toBe(201);
    const assignee = response.body_json.lead.assigned_user_access_id;
    expect(agents.map((agent) => agent.userAccessId)).toContain(assignee);
    // Assigned to an agent, not to the key: the key does not see it afterwards.
    const url = `/api/v1/companies/${company.id}/leads/${response.body_json.lead.id}`;
    expect((await call(ctx.app, 'GET', url, { token: secret })).statusCode).toBe(404);
  });

  it("answers 403 api_key_not_allowed on a signed-in user's routes", async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const { secret } = await createKey(admin, company.id, 'admin');
    for (const [method, url] of [
      ['GET', `/api/v1/users/${admin.id}`],
      ['PATCH', `/api/v1/users/${admin.id}`],
      ['GET', `/api/v1/users/${admin.id}/user_access`],
      // Its policy is a company permission (the company is in the body), but it is a person's access all the same.
      ['POST', `/api/v1/users/${admin.id}/user_access`],
      ['GET', '/api/v1/users/validate_jwt'],
      ['GET', '/api/v1/companies'],
      ['POST', '/api/v1/invitations/some-code/accept'],
    ] as const) {
      const response = await call(ctx.app, method, url, { token: secret, body: method === 'GET' ? undefined : {} });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expect(response.body_json.code).toBe('api_key_not_allowed');
    }
    // An invalid key is still a 401 there.
    const bad = await call(ctx.app, 'GET', `/api/v1/users/${admin.id}`, { token: `lsk_${'y'.repeat(43)}` });
    expect(bad.statusCode).toBe(401);
  });

  it('keeps last_used_at to the minute', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const { apiKey, secret } = await createKey(admin, company.id, 'agent');
    const show = async () =>
      (await call(ctx.app, 'GET', `${keysUrl(company.id)}/${apiKey.id}`, { token: admin.token })).body_json.api_key;
    const url = `/api/v1/companies/${company.id}`;
    await call(ctx.app, 'GET', url, { token: secret });
    const first = (await show()).last_used_at;
    expect(first).toEqual(expect.any(String));
    ctx.clock.advance(20_000);
    await call(ctx.app, 'GET', url, { token: secret });
    expect((await show()).last_used_at).toBe(first);
    ctx.clock.advance(50_000);
    await call(ctx.app, 'GET', url, { token: secret });
    expect(new Date((await show()).last_used_at).getTime()).toBeGreaterThan(new Date(first).getTime());
  });

  it('never writes a secret to the log', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const { apiKey, secret } = await createKey(admin, company.id, 'admin');
    await call(ctx.app, 'GET', `/api/v1/companies/${company.id}/leads`, { token: secret });
    await call(ctx.app, 'GET', `/api/v1/users/${admin.id}`, { token: secret });
    await call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: `${secret}zz` });
    expect(logLines.length).toBeGreaterThan(0);
    const log = logLines.join('\n');
    expect(log).not.toContain(secret.slice(12));
    expect(log).not.toContain(sha256(secret));
    // Which key asked is logged, by id.
    expect(log).toContain(`"api_key_id":${apiKey.id}`);
  });
});

describe('API keys and rate limits', () => {
  let limited: TestContext;
  beforeAll(async () => {
    limited = await buildTestApp({ API_RATE_LIMIT: '3' });
  });
  afterAll(() => limited.close());

  it('each key has its own budget, apart from its creator, with RateLimit headers', async () => {
    const ctxLimited = limited;
    const { company, admin } = await companyWithTeam(ctxLimited);
    const make = async () => {
      const response = await call(ctxLimited.app, 'POST', keysUrl(company.id), {
        token: admin.token,
        body: { name: 'Budget', access_id: await accessId(ctxLimited, 'agent') },
      });
      return response.body_json.secret as string;
    };
    const first = await make();
    const second = await make();
    const url = `/api/v1/companies/${company.id}`;
    const seen: [number, unknown][] = [];
    for (let i = 0; i < 4; i++) {
      const response = await call(ctxLimited.app, 'GET', url, { token: first });
      seen.push([response.statusCode, response.headers['ratelimit-remaining']]);
      expect(response.headers['ratelimit-limit']).toBe('3');
    }
    expect(seen).toEqual([
      [200, '2'],
      [200, '1'],
      [200, '0'],
      [429, '0'],
    ]);
    const other = await call(ctxLimited.app, 'GET', url, { token: second });
    expect(other.statusCode).toBe(200);
    expect(other.headers['ratelimit-remaining']).toBe('2');
  });
});
