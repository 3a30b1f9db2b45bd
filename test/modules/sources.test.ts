import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leads, sources } from '../../src/db/schema/index.ts';
import { MAX_SOURCES } from '../../src/modules/sources/sources.schemas.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, member } from '../helpers/factories.ts';
import { companyUrl, createSource, fieldsOf, insertLead } from '../helpers/pipeline.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;
const url = (companyId: number, path = '') => companyUrl(companyId, `sources${path}`);

async function listAll(token: string, companyId: number): Promise<Json[]> {
  const response = await call(ctx.app, 'GET', url(companyId, '?limit=100'), { token });
  expect(response.statusCode, response.body).toBe(200);
  return response.body_json.sources as Json[];
}

const namesOf = (sources: Json[]) => sources.map((source) => source.name);

describe('POST /companies/{company_id}/sources', () => {
  it('creates a source after the last one, with the documented JSON', async () => {
    const team = await companyWithTeam(ctx);
    const first = await createSource(ctx, team.admin.token, team.company.id, { name: '  Website  ' });
    const second = await createSource(ctx, team.manager.token, team.company.id, { name: 'Referral' });
    expect(Object.keys(first).sort()).toEqual(
      ['company_id', 'created_at', 'id', 'name', 'priority', 'updated_at', 'user_accesses'].sort(),
    );
    expect(first).toMatchObject({ company_id: team.company.id, name: 'Website', priority: 1, user_accesses: [] });
    expect(second.priority).toBe(2);
    expect(new Date(first.created_at).toISOString()).toBe(first.created_at);
  });

  it('puts a source with an explicit priority at that place, moving the others down', async () => {
    const team = await companyWithTeam(ctx);
    for (const name of ['A', 'B', 'C']) await createSource(ctx, team.admin.token, team.company.id, { name });
    await createSource(ctx, team.admin.token, team.company.id, { name: 'First', priority: 1 });
    await createSource(ctx, team.admin.token, team.company.id, { name: 'Third', priority: 3 });
    const sources = await listAll(team.admin.token, team.company.id);
    expect(namesOf(sources)).toEqual(['First', 'A', 'Third', 'B', 'C']);
  });

  it('refuses a name already taken by a live source, case-insensitively (409), and frees it on delete', async () => {
    const team = await companyWithTeam(ctx);
    const source = await createSource(ctx, team.admin.token, team.company.id, { name: 'Facebook Ads' });
    const taken = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: { name: ' facebook ADS ' },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.body_json).toMatchObject({ code: 'source_name_taken', errors: [{ field: 'name', code: 'taken' }] });
    // Another company may use the name.
    await createSource(ctx, team.outsider.token, team.otherCompany.id, { name: 'Facebook Ads' });
    expect(
      (await call(ctx.app, 'DELETE', url(team.company.id, `/${source.id}`), { token: team.admin.token })).statusCode,
    ).toBe(204);
    await createSource(ctx, team.admin.token, team.company.id, { name: 'FACEBOOK ADS' });
  });

  it('gives concurrent creations distinct places, one after the other', async () => {
    const team = await companyWithTeam(ctx);
    const created = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        createSource(ctx, team.admin.token, team.company.id, { name: `P${index}` }),
      ),
    );
    expect(created.map((source) => source.priority).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it(`refuses more than ${MAX_SOURCES} live sources (422)`, async () => {
    const team = await companyWithTeam(ctx);
    await ctx.database.db.insert(sources).values(
      Array.from({ length: MAX_SOURCES }, (_, index) => ({
        companyId: team.company.id,
        name: `Bulk ${index}`,
        priority: index + 1,
      })),
    );
    const response = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: { name: 'One more' },
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.code).toBe('too_many_sources');
  });

  it('lists every invalid field at once (422)', async () => {
    const team = await companyWithTeam(ctx);
    const response = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: { priority: 0, color: 'red' },
    });
    expect(response.statusCode).toBe(422);
    expect(fieldsOf(response)).toEqual(['color', 'name', 'priority']);
    for (const name of ['', '   ', 'x'.repeat(121), 42]) {
      const bad = await call(ctx.app, 'POST', url(team.company.id), { token: team.admin.token, body: { name } });
      expect(bad.statusCode, JSON.stringify(name)).toBe(422);
      expect(fieldsOf(bad)).toEqual(['name']);
    }
  });
});

describe('GET /companies/{company_id}/sources', () => {
  it('orders by priority then id, with assigned user accesses, across keyset pages', async () => {
    const team = await companyWithTeam(ctx);
    const created: Json[] = [];
    for (let index = 0; index < 5; index++) {
      created.push(await createSource(ctx, team.admin.token, team.company.id, { name: `S${index}` }));
    }
    // A tie on priority (set through PATCH) is broken by id.
    await call(ctx.app, 'PATCH', url(team.company.id, `/${created[4]!.id}`), {
      token: team.admin.token,
      body: { priority: 2 },
    });
    for (const userAccessId of [team.agent.userAccessId, team.manager.userAccessId]) {
      await call(ctx.app, 'POST', url(team.company.id, `/${created[1]!.id}/user_accesses`), {
        token: team.admin.token,
        body: { user_access_id: userAccessId },
      });
    }
    const all = await listAll(team.agent.token, team.company.id);
    expect(namesOf(all)).toEqual(['S0', 'S4', 'S1', 'S2', 'S3']);
    expect(all.map((source) => source.priority)).toEqual([1, 2, 3, 4, 5]);
    const withAccesses = all.find((source) => source.name === 'S1')!;
    expect(withAccesses.user_accesses).toEqual(
      [
        { id: team.manager.userAccessId, user_id: team.manager.id, full_name: 'Test User', access_code: 'manager' },
        { id: team.agent.userAccessId, user_id: team.agent.id, full_name: 'Test User', access_code: 'agent' },
      ].sort((a, b) => a.id - b.id),
    );

    const paged: Json[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2&count=true${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await call(ctx.app, 'GET', url(team.company.id, query), { token: team.manager.token });
      expect(page.statusCode).toBe(200);
      expect(page.body_json.meta).toMatchObject({ limit: 2, total: 5 });
      paged.push(...page.body_json.sources);
      cursor = page.body_json.meta.next_cursor;
    } while (cursor);
    expect(paged.map((source) => source.id)).toEqual(all.map((source) => source.id));
    expect(paged.find((source) => source.name === 'S1')!.user_accesses).toHaveLength(2);
  });

  it('refuses a cursor it did not issue (422) and lists nothing of other companies', async () => {
    const team = await companyWithTeam(ctx);
    await createSource(ctx, team.outsider.token, team.otherCompany.id);
    const bad = await call(ctx.app, 'GET', url(team.company.id, '?cursor=garbage'), { token: team.admin.token });
    expect(bad.statusCode).toBe(422);
    expect(fieldsOf(bad)).toEqual(['cursor']);
    expect(await listAll(team.admin.token, team.company.id)).toEqual([]);
  });
});

describe('PATCH /companies/{company_id}/sources/{source_id}', () => {
  it('renames and moves a source', async () => {
    const team = await companyWithTeam(ctx);
    const sources: Json[] = [];
    for (const name of ['A', 'B', 'C'])
      sources.push(await createSource(ctx, team.admin.token, team.company.id, { name }));
    const response = await call(ctx.app, 'PATCH', url(team.company.id, `/${sources[2]!.id}`), {
      token: team.manager.token,
      body: { name: 'Cee', priority: 1 },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.body_json.source).toMatchObject({ id: sources[2]!.id, name: 'Cee', priority: 1 });
    expect(namesOf(await listAll(team.admin.token, team.company.id))).toEqual(['Cee', 'A', 'B']);
    // Its own name in another case is not a conflict.
    const recased = await call(ctx.app, 'PATCH', url(team.company.id, `/${sources[2]!.id}`), {
      token: team.admin.token,
      body: { name: 'CEE' },
    });
    expect(recased.statusCode).toBe(200);
  });

  it('answers 409 for a taken name, 422 for an empty or unknown body, 404 for unknown and deleted sources', async () => {
    const team = await companyWithTeam(ctx);
    const a = await createSource(ctx, team.admin.token, team.company.id, { name: 'A' });
    const b = await createSource(ctx, team.admin.token, team.company.id, { name: 'B' });
    const patch = (id: number, body: unknown) =>
      call(ctx.app, 'PATCH', url(team.company.id, `/${id}`), { token: team.admin.token, body });
    expect((await patch(b.id, { name: 'a' })).statusCode).toBe(409);
    expect((await patch(b.id, {})).statusCode).toBe(422);
    const unknown = await patch(b.id, { name: 'x', company_id: 5 });
    expect(unknown.statusCode).toBe(422);
    expect(fieldsOf(unknown)).toEqual(['company_id']);
    expect((await patch(999_999, { name: 'x' })).statusCode).toBe(404);
    const foreign = await createSource(ctx, team.outsider.token, team.otherCompany.id);
    expect((await patch(foreign.id, { name: 'x' })).statusCode).toBe(404);
    await call(ctx.app, 'DELETE', url(team.company.id, `/${a.id}`), { token: team.admin.token });
    expect((await patch(a.id, { name: 'x' })).statusCode).toBe(404);
  });
});

describe('DELETE /companies/{company_id}/sources/{source_id}', () => {
  it('soft-deletes: leads keep their source, the source leaves the list and its routes answer 404', async () => {
    const team = await companyWithTeam(ctx);
    const source = await createSource(ctx, team.admin.token, team.company.id, { name: 'Gone' });
    const kept = await createSource(ctx, team.admin.token, team.company.id, { name: 'Kept' });
    const lead = await insertLead(ctx, team.company.id, { sourceId: source.id });
    const response = await call(ctx.app, 'DELETE', url(team.company.id, `/${source.id}`), {
      token: team.manager.token,
    });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    const [stored] = await ctx.database.db.select().from(leads).where(eq(leads.id, lead.id));
    expect(stored!.sourceId).toBe(source.id);
    expect(namesOf(await listAll(team.admin.token, team.company.id))).toEqual(['Kept']);
    const again = await call(ctx.app, 'DELETE', url(team.company.id, `/${source.id}`), { token: team.admin.token });
    expect(again.statusCode).toBe(404);
    const assign = await call(ctx.app, 'POST', url(team.company.id, `/${source.id}/user_accesses`), {
      token: team.admin.token,
      body: { user_access_id: team.agent.userAccessId },
    });
    expect(assign.statusCode).toBe(404);
    // The new source after a delete goes after the last live one.
    expect((await createSource(ctx, team.admin.token, team.company.id)).priority).toBe(kept.priority + 1);
  });
});

describe('PUT /companies/{company_id}/sources/priority', () => {
  async function threeSources(team: Team) {
    const sources: Json[] = [];
    for (const name of ['A', 'B', 'C'])
      sources.push(await createSource(ctx, team.admin.token, team.company.id, { name }));
    return sources.map((source) => source.id as number);
  }
  const reorder = (team: Team, body: unknown, token = team.admin.token) =>
    call(ctx.app, 'PUT', url(team.company.id, '/priority'), { token, body });

  it('sets the whole order in one request and answers the whole list', async () => {
    const team = await companyWithTeam(ctx);
    const [a, b, c] = await threeSources(team);
    const response = await reorder(team, { source_ids: [c, a, b] }, team.manager.token);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.body_json.sources.map((source: Json) => [source.id, source.priority])).toEqual([
      [c, 1],
      [a, 2],
      [b, 3],
    ]);
    expect(namesOf(await listAll(team.admin.token, team.company.id))).toEqual(['C', 'A', 'B']);
  });

  it('refuses foreign, deleted, repeated and missing ids (422, each listed) and changes nothing', async () => {
    const team = await companyWithTeam(ctx);
    const [a, b, c] = (await threeSources(team)) as [number, number, number];
    const foreign = (await createSource(ctx, team.outsider.token, team.otherCompany.id)).id;
    const deleted = (await createSource(ctx, team.admin.token, team.company.id, { name: 'D' })).id;
    await call(ctx.app, 'DELETE', url(team.company.id, `/${deleted}`), { token: team.admin.token });
    const before = await listAll(team.admin.token, team.company.id);

    const cases: [number[], string[]][] = [
      [[c, b, a, foreign], ['source_ids.3']],
      [[c, b, a, deleted], ['source_ids.3']],
      [[c, b, a, a], ['source_ids.3']],
      [[c, a], ['source_ids']],
      [
        [foreign, a, a],
        ['source_ids', 'source_ids.0', 'source_ids.2'],
      ],
      [[], ['source_ids']],
    ];
    for (const [ids, fields] of cases) {
      const response = await reorder(team, { source_ids: ids });
      expect(response.statusCode, JSON.stringify(ids)).toBe(422);
      expect(fieldsOf(response)).toEqual(fields);
    }
    const invalid = await reorder(team, { source_ids: ['x'] });
    expect(invalid.statusCode).toBe(422);
    expect(fieldsOf(invalid)).toEqual(['source_ids.0']);
    expect(await listAll(team.admin.token, team.company.id)).toEqual(before);
  });
});

describe('source user accesses', () => {
  const assign = (team: Team, sourceId: number, userAccessId: number, token = team.admin.token) =>
    call(ctx.app, 'POST', url(team.company.id, `/${sourceId}/user_accesses`), {
      token,
      body: { user_access_id: userAccessId },
    });
  const unassign = (team: Team, sourceId: number, userAccessId: number, token = team.admin.token) =>
    call(ctx.app, 'DELETE', url(team.company.id, `/${sourceId}/user_accesses/${userAccessId}`), { token });

  it('assigns (201, the source with its accesses), refuses a second time (409) and removes (204, then 404)', async () => {
    const team = await companyWithTeam(ctx);
    const source = await createSource(ctx, team.admin.token, team.company.id);
    const response = await assign(team, source.id, team.agent.userAccessId, team.manager.token);
    expect(response.statusCode, response.body).toBe(201);
    expect(response.body_json.source).toMatchObject({
      id: source.id,
      user_accesses: [{ id: team.agent.userAccessId, user_id: team.agent.id, access_code: 'agent' }],
    });
    const twice = await assign(team, source.id, team.agent.userAccessId);
    expect(twice.statusCode).toBe(409);
    expect(twice.body_json.code).toBe('already_assigned');

    expect((await unassign(team, source.id, team.agent.userAccessId, team.manager.token)).statusCode).toBe(204);
    expect((await listAll(team.admin.token, team.company.id))[0]!.user_accesses).toEqual([]);
    expect((await unassign(team, source.id, team.agent.userAccessId)).statusCode).toBe(404);
    expect((await unassign(team, 999_999, team.agent.userAccessId)).statusCode).toBe(404);
  });

  it("refuses another company's user access and unknown ones (422)", async () => {
    const team = await companyWithTeam(ctx);
    const source = await createSource(ctx, team.admin.token, team.company.id);
    const foreignMember = await member(ctx, team.otherCompany.id, 'agent');
    for (const userAccessId of [foreignMember.userAccessId, 999_999]) {
      const response = await assign(team, source.id, userAccessId);
      expect(response.statusCode).toBe(422);
      expect(response.body_json.errors).toEqual([
        expect.objectContaining({ field: 'user_access_id', code: 'invalid_reference' }),
      ]);
    }
    const missing = await call(ctx.app, 'POST', url(team.company.id, `/${source.id}/user_accesses`), {
      token: team.admin.token,
      body: {},
    });
    expect(missing.statusCode).toBe(422);
    expect(fieldsOf(missing)).toEqual(['user_access_id']);
    expect((await assign(team, 999_999, team.agent.userAccessId)).statusCode).toBe(404);
  });
});

describe('roles', () => {
  type Role = 'admin' | 'manager' | 'agent' | 'outsider';
  const ROLES: Role[] = ['admin', 'manager', 'agent', 'outsider'];
  type Row = {
    name: string;
    request: (team: Team) => Promise<{ method: string; url: string; body?: Json }>;
    expected: Record<Role, number>;
  };
  const fresh = (team: Team) => createSource(ctx, team.admin.token, team.company.id);
  const ROWS: Row[] = [
    {
      name: 'list',
      request: async (t) => ({ method: 'GET', url: url(t.company.id) }),
      expected: { admin: 200, manager: 200, agent: 200, outsider: 404 },
    },
    {
      name: 'create',
      request: async (t) => ({ method: 'POST', url: url(t.company.id), body: { name: `N${Math.random()}` } }),
      expected: { admin: 201, manager: 201, agent: 403, outsider: 404 },
    },
    {
      name: 'update',
      request: async (t) => ({
        method: 'PATCH',
        url: url(t.company.id, `/${(await fresh(t)).id}`),
        body: { priority: 1 },
      }),
      expected: { admin: 200, manager: 200, agent: 403, outsider: 404 },
    },
    {
      name: 'delete',
      request: async (t) => ({ method: 'DELETE', url: url(t.company.id, `/${(await fresh(t)).id}`) }),
      expected: { admin: 204, manager: 204, agent: 403, outsider: 404 },
    },
    {
      name: 'reorder',
      request: async (t) => {
        const ids = (await listAll(t.admin.token, t.company.id)).map((source) => source.id);
        return { method: 'PUT', url: url(t.company.id, '/priority'), body: { source_ids: ids.reverse() } };
      },
      expected: { admin: 200, manager: 200, agent: 403, outsider: 404 },
    },
    {
      name: 'assign',
      request: async (t) => ({
        method: 'POST',
        url: url(t.company.id, `/${(await fresh(t)).id}/user_accesses`),
        body: { user_access_id: t.agent.userAccessId },
      }),
      expected: { admin: 201, manager: 201, agent: 403, outsider: 404 },
    },
    {
      name: 'unassign',
      request: async (t) => {
        const source = await fresh(t);
        await call(ctx.app, 'POST', url(t.company.id, `/${source.id}/user_accesses`), {
          token: t.admin.token,
          body: { user_access_id: t.agent.userAccessId },
        });
        return { method: 'DELETE', url: url(t.company.id, `/${source.id}/user_accesses/${t.agent.userAccessId}`) };
      },
      expected: { admin: 204, manager: 204, agent: 403, outsider: 404 },
    },
  ];

  it('lets admins and managers write, agents read, and hides the company from outsiders', async () => {
    const team = await companyWithTeam(ctx);
    const failures: string[] = [];
    for (const row of ROWS) {
      for (const role of ROLES) {
        const { method, url: target, body } = await row.request(team);
        const response = await call(ctx.app, method as 'GET', target, { token: team[role].token, body });
        if (response.statusCode !== row.expected[role]) {
          failures.push(`${row.name} as ${role}: ${response.statusCode} (expected ${row.expected[role]})`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
