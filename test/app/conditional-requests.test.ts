import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaigns, leads } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createUser } from '../helpers/factories.ts';
import { servedDocument } from '../helpers/openapi.ts';
import { fixtures, listOperations, requestFor } from '../helpers/route-fixtures.ts';

let ctx: TestContext;
let team: Awaited<ReturnType<typeof companyWithTeam>>;
beforeAll(async () => {
  ctx = await buildTestApp();
  team = await companyWithTeam(ctx);
});
afterAll(() => ctx.close());

const leadsUrl = () => `/api/v1/companies/${team.company.id}/leads`;

async function newLead(body: Json = {}) {
  const response = await call(ctx.app, 'POST', leadsUrl(), {
    token: team.admin.token,
    body: { first_name: 'Ana', email: `ana.${Math.random().toString(36).slice(2)}@example.com`, ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.body_json.lead as Json;
}

const get = (url: string, headers: Record<string, string> = {}, token = team.admin.token) =>
  call(ctx.app, 'GET', url, { token, headers });

const write = (
  method: 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  ifMatch: string | undefined,
  body?: Json,
  token = team.admin.token,
) =>
  call(ctx.app, method, url, {
    token,
    ...(body ? { body } : {}),
    headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
  });

async function leadRow(id: number) {
  const [row] = await ctx.database.db.select().from(leads).where(eq(leads.id, id));
  return row!;
}

describe('ETag', () => {
  it('is strong, stable across GETs, and changes when the lead (or a note its GET shows) changes', async () => {
    const lead = await newLead();
    const url = `${leadsUrl()}/${lead.id}`;
    const first = await get(url);
    expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect((await get(url)).headers.etag).toBe(first.headers.etag);

    const patched = await write('PATCH', url, undefined, { city: 'Madrid' });
    expect(patched.statusCode).toBe(200);
    const second = await get(url);
    expect(second.headers.etag).not.toBe(first.headers.etag);

    await call(ctx.app, 'POST', `${url}/notes`, { token: team.admin.token, body: { body: 'called back' } });
    expect((await get(url)).headers.etag).not.toBe(second.headers.etag);
  });

  it("a PATCH's or PUT's answer carries the tag the next GET answers (leads, and a generic resource)", async () => {
    const lead = await newLead();
    const url = `${leadsUrl()}/${lead.id}`;
    await call(ctx.app, 'POST', `${url}/notes`, { token: team.admin.token, body: { body: 'a note the GET adds' } });
    for (const method of ['PATCH', 'PUT'] as const) {
      const answer = await write(method, url, undefined, { city: `City ${method}` });
      expect(answer.statusCode).toBe(200);
      expect(answer.headers.etag).toBeDefined();
      expect((await get(url)).headers.etag).toBe(answer.headers.etag);
    }

    const campaign = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/campaigns`, {
      token: team.admin.token,
      body: { name: 'Spring' },
    });
    const campaignUrl = `/api/v1/companies/${team.company.id}/campaigns/${campaign.body_json.campaign.id}`;
    const renamed = await write('PATCH', campaignUrl, undefined, { name: 'Summer' });
    expect(renamed.statusCode).toBe(200);
    expect((await get(campaignUrl)).headers.etag).toBe(renamed.headers.etag);
  });

  it('is not on lists (keyset pages), nor on errors', async () => {
    await newLead();
    const list = await get(leadsUrl());
    expect(list.statusCode).toBe(200);
    expect(list.headers.etag).toBeUndefined();
    const missing = await get(`${leadsUrl()}/999999999`);
    expect(missing.statusCode).toBe(404);
    expect(missing.headers.etag).toBeUndefined();
  });
});

describe('If-None-Match', () => {
  it('answers 304 with the ETag and no body when a listed tag is current (weak comparison), 200 otherwise', async () => {
    const lead = await newLead();
    const url = `${leadsUrl()}/${lead.id}`;
    const { etag } = (await get(url)).headers as { etag: string };
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await get(url, { 'if-none-match': header });
      expect(response.statusCode, header).toBe(304);
      expect(response.headers.etag).toBe(etag);
      expect(response.body).toBe('');
      expect(response.headers['content-type']).toBeUndefined();
    }
    const stale = await get(url, { 'if-none-match': '"not-the-current-one"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.body_json.lead.id).toBe(lead.id);
  });
});

describe('If-Match on leads (checked atomically, under the row lock)', () => {
  it('a stale tag on PATCH, PUT or DELETE answers 412 precondition_failed and changes nothing', async () => {
    const lead = await newLead({ city: 'Sevilla' });
    const url = `${leadsUrl()}/${lead.id}`;
    const stale = (await get(url)).headers.etag as string;
    await write('PATCH', url, undefined, { city: 'Bilbao' });
    const before = await leadRow(lead.id);

    for (const [method, body] of [
      ['PATCH', { city: 'Lost update' }],
      ['PUT', { city: 'Lost update' }],
      ['DELETE', undefined],
    ] as const) {
      const response = await write(method, url, stale, body);
      expect(response.statusCode, method).toBe(412);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body_json).toMatchObject({ status: 412, code: 'precondition_failed' });
    }
    const after = await leadRow(lead.id);
    expect(after.city).toBe('Bilbao');
    expect(after.deletedAt).toBeNull();
    expect(after.updatedAt.getTime()).toBe(before.updatedAt.getTime());
  });

  it('a current tag, one of a list, or * lets the write through; a weak tag never matches', async () => {
    const lead = await newLead();
    const url = `${leadsUrl()}/${lead.id}`;
    const current = (await get(url)).headers.etag as string;

    const weak = await write('PATCH', url, `W/${current}`, { city: 'Weak' });
    expect(weak.statusCode).toBe(412);

    const matched = await write('PATCH', url, `"something-else", ${current}`, { city: 'Granada' });
    expect(matched.statusCode).toBe(200);
    expect(matched.body_json.lead.city).toBe('Granada');

    const any = await write('PUT', url, '*', { city: 'Toledo' });
    expect(any.statusCode).toBe(200);
    expect(any.body_json.lead.city).toBe('Toledo');

    const deleted = await write('DELETE', url, any.headers.etag as string);
    expect(deleted.statusCode).toBe(204);
    expect((await leadRow(lead.id)).deletedAt).not.toBeNull();
  });

  it('of concurrent PATCHes or DELETEs holding the same tag, exactly one wins and the others get 412', async () => {
    for (let round = 0; round < 3; round++) {
      const lead = await newLead();
      const url = `${leadsUrl()}/${lead.id}`;
      const tag = (await get(url)).headers.etag as string;
      const cities = ['First', 'Second', 'Third', 'Fourth'];
      const answers = await Promise.all(cities.map((city) => write('PATCH', url, tag, { city }, team.manager.token)));
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 412, 412, 412]);
      const winner = answers.find((a) => a.statusCode === 200)!;
      expect((await leadRow(lead.id)).city).toBe(winner.body_json.lead.city);

      const next = winner.headers.etag as string;
      const deletes = await Promise.all([
        write('DELETE', url, next),
        write('PATCH', url, next, { city: 'Late' }),
        write('DELETE', url, next),
      ]);
      const statuses = deletes.map((a) => a.statusCode);
      // The loser of a race with a DELETE finds no lead (404), or a changed one (412).
      expect(statuses.filter((status) => status < 300)).toHaveLength(1);
      expect(statuses.every((status) => [200, 204, 404, 412].includes(status))).toBe(true);
    }
  });

  it('a malformed If-Match is a 422 naming the header', async () => {
    const lead = await newLead();
    const response = await write('PATCH', `${leadsUrl()}/${lead.id}`, 'not-quoted', { city: 'X' });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors).toEqual([expect.objectContaining({ field: 'if-match' })]);
  });

  it("another company's lead stays 404 whatever If-Match says, and so does an agent's view of a lead not theirs", async () => {
    const lead = await newLead();
    const url = `${leadsUrl()}/${lead.id}`;
    const tag = (await get(url)).headers.etag as string;
    for (const header of [tag, '*', '"stale"']) {
      const outsider = await write('PATCH', url, header, { city: 'X' }, team.outsider.token);
      expect(outsider.statusCode).toBe(404);
      const agent = await write('PATCH', url, header, { city: 'X' }, team.agent.token);
      expect(agent.statusCode).toBe(404);
    }
    const elsewhere = `/api/v1/companies/${team.otherCompany.id}/leads/${lead.id}`;
    expect((await write('DELETE', elsewhere, tag, undefined, team.outsider.token)).statusCode).toBe(404);
    expect((await leadRow(lead.id)).deletedAt).toBeNull();
  });
});

describe('If-Match elsewhere (generic: the current representation is read first)', () => {
  async function campaign(name: string) {
    const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/campaigns`, {
      token: team.admin.token,
      body: { name },
    });
    return `/api/v1/companies/${team.company.id}/campaigns/${response.body_json.campaign.id}`;
  }
  const campaignRow = async (url: string) => {
    const id = Number(url.split('/').at(-1));
    const [row] = await ctx.database.db
      .select()
      .from(campaigns)
      .where(and(eq(campaigns.id, id), eq(campaigns.companyId, team.company.id)));
    return row!;
  };

  it('stale → 412 and nothing changed; current → 200; DELETE likewise', async () => {
    const url = await campaign('Autumn');
    const stale = (await get(url)).headers.etag as string;
    const renamed = await write('PATCH', url, stale, { name: 'Winter' });
    expect(renamed.statusCode).toBe(200);

    const lost = await write('PATCH', url, stale, { name: 'Lost' });
    expect(lost.statusCode).toBe(412);
    expect(lost.body_json.code).toBe('precondition_failed');
    expect((await campaignRow(url)).name).toBe('Winter');

    expect((await write('DELETE', url, stale)).statusCode).toBe(412);
    expect((await campaignRow(url)).deletedAt).toBeNull();
    expect((await write('DELETE', url, `W/${renamed.headers.etag}`)).statusCode).toBe(412);
    expect((await write('DELETE', url, renamed.headers.etag as string)).statusCode).toBe(204);
    expect((await campaignRow(url)).deletedAt).not.toBeNull();
  });

  it("another company's resource stays 404, not 412", async () => {
    const url = await campaign('Private');
    for (const header of ['"stale"', '*']) {
      const response = await write('PATCH', url, header, { name: 'X' }, team.outsider.token);
      expect(response.statusCode).toBe(404);
    }
  });

  it('the read of the current state is not charged to the caller’s rate limit', async () => {
    const url = await campaign('Budget');
    const tag = (await get(url)).headers.etag as string;
    const first = await write('PATCH', url, undefined, { name: 'Budget 2' });
    const second = await write('PATCH', url, first.headers.etag as string, { name: 'Budget 3' });
    expect(second.statusCode).toBe(200);
    const third = await write('PATCH', url, undefined, { name: 'Budget 4' });
    const remaining = (r: { headers: Json }) => Number(r.headers['ratelimit-remaining']);
    expect(remaining(first) - remaining(second)).toBe(1);
    expect(remaining(second) - remaining(third)).toBe(1);
    expect(tag).not.toBe(first.headers.etag);
  });

  it('a route without a GET has no tag to match: a tag answers 412, * lets the handler decide', async () => {
    const created = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/sources`, {
      token: team.admin.token,
      body: { name: `Source ${Math.random().toString(36).slice(2)}` },
    });
    expect(created.statusCode).toBe(201);
    const url = `/api/v1/companies/${team.company.id}/sources/${created.body_json.source.id}`;
    expect((await write('PATCH', url, '"anything"', { name: 'Renamed' })).statusCode).toBe(412);
    expect((await write('PATCH', url, '*', { name: 'Renamed' })).statusCode).toBe(200);
    expect((await write('PATCH', `${url}0`, '*', { name: 'Nope' })).statusCode).toBe(404);
  });
});

describe('every write route with a GET (from the route table)', () => {
  it('refuses a stale If-Match with 412 and leaves the GET as it was; a PUT/PATCH answers the next GET’s tag', async () => {
    const { values } = await fixtures(ctx);
    const staff = await createUser(ctx, { superadmin: true });
    const operations = await listOperations(ctx);
    const readable = new Set(operations.filter((op) => op.method === 'GET').map((op) => op.path));
    const writes = operations.filter((op) => ['PUT', 'PATCH', 'DELETE'].includes(op.method) && readable.has(op.path));
    expect(writes.length).toBeGreaterThan(10);
    const problems: string[] = [];
    const tagOf = async (url: string) => (await get(url.split('?')[0]!, {}, staff.token)).headers.etag;
    for (const operation of writes) {
      const request = await requestFor(ctx, operation, values, problems);
      const before = await tagOf(request.url);
      if (typeof before !== 'string') problems.push(`${operation.operationId}: its GET has no ETag`);
      const method = operation.method as 'PUT' | 'PATCH' | 'DELETE';
      const refused = await write(method, request.url, '"stale"', request.body as Json, staff.token);
      if (refused.statusCode !== 412) problems.push(`${operation.operationId}: stale If-Match → ${refused.statusCode}`);
      if ((await tagOf(request.url)) !== before) problems.push(`${operation.operationId}: changed by a refused write`);
    }
    for (const operation of writes.filter((op) => op.method !== 'DELETE')) {
      const request = await requestFor(ctx, operation, values, problems);
      const current = await tagOf(request.url);
      const answer = await write(
        operation.method as 'PUT' | 'PATCH',
        request.url,
        current,
        request.body as Json,
        staff.token,
      );
      if (answer.statusCode !== 200) problems.push(`${operation.operationId}: current If-Match → ${answer.statusCode}`);
      else if (answer.headers.etag !== (await tagOf(request.url))) {
        problems.push(`${operation.operationId}: its answer's ETag is not its GET's`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the OpenAPI document', () => {
  it('documents ETag, If-None-Match and 304 on single reads, If-Match and 412 on writes, none of it on lists', async () => {
    const document = await servedDocument(ctx.app);
    const lead = document.paths['/api/v1/companies/{company_id}/leads/{lead_id}'];
    const headerNames = (operation: Json) =>
      (operation.parameters as Json[]).filter((p) => p.in === 'header').map((p) => p.name);
    expect(lead.get.responses['200'].headers.etag).toBeDefined();
    expect(lead.get.responses['304']).toBeDefined();
    expect(headerNames(lead.get)).toContain('if-none-match');
    for (const method of ['put', 'patch', 'delete']) {
      expect(headerNames(lead[method]), method).toContain('if-match');
      expect(lead[method].responses['412'].content['application/problem+json']).toBeDefined();
    }
    expect(lead.patch.responses['200'].headers.etag).toBeDefined();
    const list = document.paths['/api/v1/companies/{company_id}/leads'].get;
    expect(list.responses['200'].headers?.etag).toBeUndefined();
    expect(list.responses['304']).toBeUndefined();
  });
});
