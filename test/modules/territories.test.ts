import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies, territories, territoryMembers, users } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, member } from '../helpers/factories.ts';
import { companyUrl, fieldsOf } from '../helpers/pipeline.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;
const url = (companyId: number, path = '') => companyUrl(companyId, `territories${path}`);

const item = (team: Team, fields: Json = {}) => ({
  name: 'Territory',
  country: 'ES',
  user_access_ids: [team.agent.userAccessId],
  ...fields,
});

async function createTerritories(team: Team, items: Json[], token = team.admin.token) {
  const response = await call(ctx.app, 'POST', url(team.company.id), { token, body: { territories: items } });
  expect(response.statusCode, response.body).toBe(201);
  return response.body_json.territories as Json[];
}

const territoriesInDb = (companyId: number) =>
  ctx.database.db.select().from(territories).where(eq(territories.companyId, companyId));

describe('POST /companies/{company_id}/territories', () => {
  it('creates every territory in the order sent, normalized, with ordered weighted members', async () => {
    const team = await companyWithTeam(ctx);
    const other = await member(ctx, team.company.id, 'agent');
    const created = await createTerritories(team, [
      item(team, { name: ' Madrid ', country: 'es', postal_codes: ['28 001', ' 28* ', 'sw1a 1aa'] }),
      {
        name: 'South',
        regions: ['  Andalucía ', 'Murcia'],
        user_access_ids: [other.userAccessId, team.agent.userAccessId],
        weights: [2, 1],
      },
      item(team, { name: 'Portugal', country: 'PT' }),
    ]);
    expect(created.map((t) => t.name)).toEqual(['Madrid', 'South', 'Portugal']);
    expect(Object.keys(created[0]!).sort()).toEqual(
      ['company_id', 'country', 'created_at', 'id', 'members', 'name', 'postal_codes', 'regions', 'updated_at'].sort(),
    );
    expect(created[0]).toMatchObject({
      company_id: team.company.id,
      country: 'ES',
      regions: [],
      postal_codes: ['28001', '28*', 'SW1A1AA'],
      members: [
        {
          user_access_id: team.agent.userAccessId,
          user_id: team.agent.id,
          full_name: 'Test User',
          position: 0,
          weight: 1,
          assigned_count: 0,
          active: true,
        },
      ],
    });
    expect(created[1]).toMatchObject({ country: null, regions: ['Andalucía', 'Murcia'], postal_codes: [] });
    expect(created[1]!.members.map((m: Json) => [m.user_access_id, m.position, m.weight])).toEqual([
      [other.userAccessId, 0, 2],
      [team.agent.userAccessId, 1, 1],
    ]);
    expect(created[0]!.id).toBeLessThan(created[1]!.id);
    expect(await territoriesInDb(team.company.id)).toHaveLength(3);
  });

  it('is all or nothing: one bad item answers 422 with every path, and nothing is written', async () => {
    const team = await companyWithTeam(ctx);
    const foreign = await member(ctx, team.otherCompany.id, 'agent');
    const response = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: {
        territories: [
          item(team, { postal_codes: ['06*'] }),
          item(team, { postal_codes: ['0*6', '*', '06**', '06*', '06 *'] }),
          item(team, { country: 'XX' }),
          { name: 'Nowhere', user_access_ids: [team.agent.userAccessId] },
          item(team, { regions: ['Norte', 'NORTE', 'Nórte'] }),
          item(team, { user_access_ids: [foreign.userAccessId, team.agent.userAccessId, team.agent.userAccessId] }),
          item(team, { weights: [1, 2] }),
        ],
      },
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors.map((e: Json) => [e.field, e.code])).toEqual(
      expect.arrayContaining([
        ['territories.1.postal_codes.0', 'invalid_postal_code'],
        ['territories.1.postal_codes.1', 'invalid_postal_code'],
        ['territories.1.postal_codes.2', 'invalid_postal_code'],
        ['territories.1.postal_codes.4', 'duplicate'],
        ['territories.2.country', 'unknown_country'],
        ['territories.3', 'no_match_rule'],
        ['territories.4.regions.1', 'duplicate'],
        ['territories.4.regions.2', 'duplicate'],
        ['territories.5.user_access_ids.0', 'invalid_reference'],
        ['territories.5.user_access_ids.2', 'duplicate'],
        ['territories.6.weights', 'length_mismatch'],
      ]),
    );
    expect(response.body_json.errors).toHaveLength(11);
    expect(await territoriesInDb(team.company.id)).toEqual([]);
    expect(
      await ctx.database.db.select().from(territoryMembers).where(eq(territoryMembers.companyId, team.company.id)),
    ).toEqual([]);
  });

  it('validates the body shape with paths (422): sizes, blank regions, unknown fields', async () => {
    const team = await companyWithTeam(ctx);
    const post = (body: unknown) => call(ctx.app, 'POST', url(team.company.id), { token: team.admin.token, body });
    expect(fieldsOf(await post({ territories: [] }))).toEqual(['territories']);
    expect(fieldsOf(await post({ territories: Array.from({ length: 101 }, () => item(team)) }))).toEqual([
      'territories',
    ]);
    expect(fieldsOf(await post({ territories: [item(team, { regions: ['ok', '   '] })] }))).toEqual([
      'territories.0.regions.1',
    ]);
    expect(fieldsOf(await post({ territories: [item(team, { user_access_ids: [] })] }))).toEqual([
      'territories.0.user_access_ids',
    ]);
    expect(fieldsOf(await post({ territories: [item(team, { weights: [0] })] }))).toEqual(['territories.0.weights.0']);
    expect(fieldsOf(await post({ territories: [item(team, { color: 'red' })] }))).toEqual(['territories.0.color']);
    expect(fieldsOf(await post({ territories: [item(team, { country: 'ESP' })] }))).toEqual(['territories.0.country']);
    const { user_access_ids: _ids, ...withoutMembers } = item(team);
    expect(fieldsOf(await post({ territories: [withoutMembers] }))).toEqual(['territories.0.user_access_ids']);
    expect(await territoriesInDb(team.company.id)).toEqual([]);
  });
});

describe('GET /companies/{company_id}/territories', () => {
  it('lists territories oldest first with members, in keyset pages, to every member of the company', async () => {
    const team = await companyWithTeam(ctx);
    const created = await createTerritories(team, [
      item(team, { name: 'A' }),
      item(team, { name: 'B' }),
      item(team, { name: 'C' }),
    ]);
    const theirs = await call(ctx.app, 'POST', url(team.otherCompany.id), {
      token: team.outsider.token,
      body: {
        territories: [
          {
            name: 'Theirs',
            country: 'ES',
            user_access_ids: [(await member(ctx, team.otherCompany.id, 'agent')).userAccessId],
          },
        ],
      },
    });
    expect(theirs.statusCode).toBe(201);
    const first = await call(ctx.app, 'GET', url(team.company.id, '?limit=2&count=true'), { token: team.agent.token });
    expect(first.statusCode).toBe(200);
    expect(first.body_json.territories.map((t: Json) => t.name)).toEqual(['A', 'B']);
    expect(first.body_json.territories[0].members).toHaveLength(1);
    expect(first.body_json.meta).toMatchObject({ limit: 2, total: 3 });
    const rest = await call(ctx.app, 'GET', url(team.company.id, `?cursor=${first.body_json.meta.next_cursor}`), {
      token: team.agent.token,
    });
    expect(rest.body_json.territories.map((t: Json) => t.id)).toEqual([created[2]!.id]);
    expect(rest.body_json.meta.next_cursor).toBeNull();
    expect((await call(ctx.app, 'GET', url(team.company.id), { token: team.outsider.token })).statusCode).toBe(404);
  });

  it('shows one territory, 404 for another company’s or an unknown one', async () => {
    const team = await companyWithTeam(ctx);
    const [territory] = await createTerritories(team, [item(team)]);
    const shown = await call(ctx.app, 'GET', url(team.company.id, `/${territory!.id}`), { token: team.agent.token });
    expect(shown.statusCode).toBe(200);
    expect(shown.body_json.territory).toEqual(territory);
    expect(
      (await call(ctx.app, 'GET', url(team.otherCompany.id, `/${territory!.id}`), { token: team.outsider.token }))
        .statusCode,
    ).toBe(404);
    expect(
      (await call(ctx.app, 'GET', url(team.company.id, '/999999999'), { token: team.admin.token })).statusCode,
    ).toBe(404);
  });
});

describe('PATCH /companies/{company_id}/territories/{territory_id}', () => {
  it('updates the rules and replaces members, keeping the rotation state of those who stay', async () => {
    const team = await companyWithTeam(ctx);
    const [a, b] = [await member(ctx, team.company.id, 'agent'), await member(ctx, team.company.id, 'agent')];
    const [territory] = await createTerritories(team, [
      item(team, { postal_codes: ['06*'], user_access_ids: [a.userAccessId, team.agent.userAccessId] }),
    ]);
    await ctx.database.db
      .update(territoryMembers)
      .set({ currentWeight: 1, assignedCount: 4 })
      .where(and(eq(territoryMembers.territoryId, territory!.id), eq(territoryMembers.userAccessId, a.userAccessId)));
    await ctx.database.db.update(users).set({ status: 'inactive' }).where(eq(users.id, b.id));
    const response = await call(ctx.app, 'PATCH', url(team.company.id, `/${territory!.id}`), {
      token: team.manager.token,
      body: {
        name: 'Nice',
        country: null,
        regions: ['Provence'],
        user_access_ids: [b.userAccessId, a.userAccessId],
        weights: [1, 3],
      },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.body_json.territory).toMatchObject({
      name: 'Nice',
      country: null,
      regions: ['Provence'],
      postal_codes: ['06*'],
    });
    expect(
      response.body_json.territory.members.map((m: Json) => [
        m.user_access_id,
        m.position,
        m.weight,
        m.assigned_count,
        m.active,
      ]),
    ).toEqual([
      [b.userAccessId, 0, 1, 0, false],
      [a.userAccessId, 1, 3, 4, true],
    ]);
    const rows = await ctx.database.db
      .select()
      .from(territoryMembers)
      .where(eq(territoryMembers.territoryId, territory!.id));
    expect(rows.find((row) => row.userAccessId === a.userAccessId)?.currentWeight).toBe(1);
    expect(rows).toHaveLength(2);
  });

  it('refuses leaving nothing to match, bad codes, weights alone, foreign members (422); agents 403; outsiders 404', async () => {
    const team = await companyWithTeam(ctx);
    const [territory] = await createTerritories(team, [item(team, { regions: ['Norte'] })]);
    const patch = (body: Json, token = team.admin.token) =>
      call(ctx.app, 'PATCH', url(team.company.id, `/${territory!.id}`), { token, body });
    const nothing = await patch({ country: null, regions: [] });
    expect(nothing.statusCode).toBe(422);
    expect(nothing.body_json.errors).toEqual([expect.objectContaining({ field: 'body', code: 'no_match_rule' })]);
    expect(fieldsOf(await patch({ postal_codes: ['1*2'] }))).toEqual(['postal_codes.0']);
    expect(fieldsOf(await patch({ weights: [1] }))).toEqual(['weights']);
    const foreign = await member(ctx, team.otherCompany.id, 'agent');
    expect(fieldsOf(await patch({ user_access_ids: [foreign.userAccessId] }))).toEqual(['user_access_ids.0']);
    expect((await patch({})).statusCode).toBe(422);
    expect((await patch({ name: 'X' }, team.agent.token)).statusCode).toBe(403);
    expect((await patch({ name: 'X' }, team.outsider.token)).statusCode).toBe(404);
    const unchanged = await call(ctx.app, 'GET', url(team.company.id, `/${territory!.id}`), {
      token: team.admin.token,
    });
    expect(unchanged.body_json.territory).toEqual(territory);
  });
});

describe('DELETE /companies/{company_id}/territories/{territory_id}', () => {
  it('deletes a territory and its members (204); agents 403; outsiders and repeats 404', async () => {
    const team = await companyWithTeam(ctx);
    const [territory] = await createTerritories(team, [item(team)]);
    const remove = (token: string) => call(ctx.app, 'DELETE', url(team.company.id, `/${territory!.id}`), { token });
    expect((await remove(team.agent.token)).statusCode).toBe(403);
    expect((await remove(team.outsider.token)).statusCode).toBe(404);
    const removed = await remove(team.manager.token);
    expect(removed.statusCode).toBe(204);
    expect(removed.body).toBe('');
    expect((await remove(team.admin.token)).statusCode).toBe(404);
    expect(
      await ctx.database.db.select().from(territoryMembers).where(eq(territoryMembers.territoryId, territory!.id)),
    ).toEqual([]);
  });
});

describe('role matrix', () => {
  it('lets admins and managers write, agents read only, outsiders nothing', async () => {
    const team = await companyWithTeam(ctx);
    const body = { territories: [item(team)] };
    const expected = { admin: [201, 200], manager: [201, 200], agent: [403, 200], outsider: [404, 404] };
    for (const [role, [write, read]] of Object.entries(expected)) {
      const token = (team as unknown as Record<string, { token: string }>)[role]!.token;
      const created = await call(ctx.app, 'POST', url(team.company.id), { token, body });
      const listed = await call(ctx.app, 'GET', url(team.company.id), { token });
      expect([role, created.statusCode, listed.statusCode]).toEqual([role, write, read]);
    }
  });
});

describe('distribution through managed territories', () => {
  it('sends a lead to the most specific territory created through the API', async () => {
    const team = await companyWithTeam(ctx);
    const [prefix, exact, region] = [
      await member(ctx, team.company.id, 'agent'),
      await member(ctx, team.company.id, 'agent'),
      await member(ctx, team.company.id, 'agent'),
    ];
    await ctx.database.db.update(companies).set({ country: 'FR' }).where(eq(companies.id, team.company.id));
    await createTerritories(team, [
      item(team, { country: 'FR', postal_codes: ['06*'], user_access_ids: [prefix.userAccessId] }),
      item(team, { country: 'FR', postal_codes: ['06 000'], user_access_ids: [exact.userAccessId] }),
      item(team, { country: null, regions: ['Île-de-France'], user_access_ids: [region.userAccessId] }),
    ]);
    await call(ctx.app, 'PUT', companyUrl(team.company.id, 'cycles/enabled'), {
      token: team.admin.token,
      body: { enabled: true },
    });
    const assignee = async (body: Json) => {
      const response = await call(ctx.app, 'POST', companyUrl(team.company.id, 'leads'), {
        token: team.admin.token,
        body: { email: `lead.${Math.random().toString(36).slice(2)}@example.com`, ...body },
      });
      expect(response.statusCode, response.body).toBe(201);
      return response.body_json.lead.assigned_user_access_id as number | null;
    };
    expect(await assignee({ postal_code: '06000' })).toBe(exact.userAccessId);
    expect(await assignee({ postal_code: '06100' })).toBe(prefix.userAccessId);
    expect(await assignee({ region: 'ile-de-france' })).toBe(region.userAccessId);
  });
});
