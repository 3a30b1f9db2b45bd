import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createCompany, createUser, grant, uniqueEmail } from '../helpers/factories.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

const url = (companyId: number, query = '') => `/api/v1/companies/${companyId}/users${query}`;

/** A team plus members whose names exercise the order: mixed case, equal last names, equal full names. */
async function teamWithNames() {
  const team = await companyWithTeam(ctx);
  const names = [
    ['anna', 'Zimmer'],
    ['Bruno', 'alvarez'],
    ['Carla', 'Alvarez'],
    ['Dora', 'Mendez'],
    ['Dora', 'Mendez'],
    ['Eve', 'Ortiz_Percent%'],
    ['Finn', 'Baker'],
  ];
  const extra = [];
  for (const [firstName, lastName] of names) {
    const user = await createUser(ctx, { firstName, lastName });
    await grant(ctx, user, team.company.id, 'agent');
    extra.push(user);
  }
  return { ...team, extra };
}

async function allPages(token: string, companyId: number, query: string, limit: number) {
  const seen: Json[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const suffix: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const response = await call(ctx.app, 'GET', url(companyId, `?limit=${limit}${query}${suffix}`), { token });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.body_json.users.length).toBeLessThanOrEqual(limit);
    seen.push(...response.body_json.users);
    cursor = response.body_json.meta.next_cursor;
    if (cursor === null) return seen;
  }
  throw new Error('pagination did not end');
}

describe('GET /api/v1/companies/{company_id}/users', () => {
  it('lists the direct members with their access, ordered by name, every row once across pages', async () => {
    const team = await teamWithNames();
    const all = await allPages(team.admin.token, team.company.id, '', 100);
    expect(all).toHaveLength(10);
    for (const limit of [1, 3, 4]) {
      const paged = await allPages(team.manager.token, team.company.id, '', limit);
      expect(paged.map((user) => user.id)).toEqual(all.map((user) => user.id));
    }
    const keys = all.map((user) => [user.last_name.toLowerCase(), user.first_name.toLowerCase(), user.id]);
    const sorted = [...keys].sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] - b[2],
    );
    expect(keys).toEqual(sorted);
    expect(new Set(all.map((user) => user.id)).has(team.outsider.id)).toBe(false);
  });

  it('answers the user JSON plus user_access, never secrets', async () => {
    const team = await companyWithTeam(ctx);
    const response = await call(ctx.app, 'GET', url(team.company.id, '?access_code=agent'), {
      token: team.admin.token,
    });
    expect(response.statusCode).toBe(200);
    expect(response.body_json.users).toHaveLength(1);
    const [agent] = response.body_json.users;
    expect(agent).toMatchObject({
      id: team.agent.id,
      email: team.agent.email,
      full_name: 'Test User',
      status: 'active',
      user_access: { id: team.agent.userAccessId, primary: false, access: { code: 'agent', name: 'Sales agent' } },
    });
    expect(agent.user_access.access.id).toBeTypeOf('number');
    expect(agent.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(JSON.stringify(response.body_json)).not.toMatch(/password|token_version|superadmin/);
    expect(response.body_json.meta).toEqual({ next_cursor: null, limit: 25 });
  });

  it('filters by access code and counts on request', async () => {
    const team = await teamWithNames();
    const agents = await call(ctx.app, 'GET', url(team.company.id, '?access_code=agent&count=true&limit=2'), {
      token: team.admin.token,
    });
    expect(agents.body_json.meta.total).toBe(8);
    expect(agents.body_json.users).toHaveLength(2);
    expect(agents.body_json.meta.next_cursor).toEqual(expect.any(String));
    const pagedAgents = await allPages(team.admin.token, team.company.id, '&access_code=agent', 3);
    expect(pagedAgents).toHaveLength(8);
    expect(pagedAgents.every((user) => user.user_access.access.code === 'agent')).toBe(true);
    const admins = await call(ctx.app, 'GET', url(team.company.id, '?access_code=admin&count=true'), {
      token: team.admin.token,
    });
    expect(admins.body_json.users.map((user: Json) => user.id)).toEqual([team.admin.id]);
    expect(admins.body_json.meta.total).toBe(1);
  });

  it('searches first name, last name and email, case-insensitively, with LIKE wildcards taken literally', async () => {
    const team = await teamWithNames();
    const search = async (q: string) => {
      const response = await call(ctx.app, 'GET', url(team.company.id, `?count=true&q=${encodeURIComponent(q)}`), {
        token: team.manager.token,
      });
      expect(response.statusCode).toBe(200);
      expect(response.body_json.meta.total).toBe(response.body_json.users.length);
      return response.body_json.users.map((user: Json) => `${user.first_name} ${user.last_name}`);
    };
    expect(await search('ALVAREZ')).toEqual(['Bruno alvarez', 'Carla Alvarez']);
    expect(await search('dora')).toEqual(['Dora Mendez', 'Dora Mendez']);
    expect(await search('%')).toEqual(['Eve Ortiz_Percent%']);
    expect(await search('z_p')).toEqual(['Eve Ortiz_Percent%']);
    expect(await search('b_k')).toEqual([]);
    const byEmail = await call(ctx.app, 'GET', url(team.company.id, `?q=${team.extra[6]!.email.slice(0, 12)}`), {
      token: team.admin.token,
    });
    expect(byEmail.body_json.users.map((user: Json) => user.id)).toEqual([team.extra[6]!.id]);
    const outsiderEmail = await call(ctx.app, 'GET', url(team.company.id, `?q=${team.outsider.email}`), {
      token: team.admin.token,
    });
    expect(outsiderEmail.body_json.users).toEqual([]);
  });

  it('lists only direct members of a child company; an admin of the parent may list it', async () => {
    const team = await companyWithTeam(ctx);
    const child = await createCompany(ctx, team.admin, { parent_company_id: team.company.id });
    const childAgent = await createUser(ctx, { email: uniqueEmail('child') });
    await grant(ctx, childAgent, child.id, 'agent');
    const response = await call(ctx.app, 'GET', url(child.id), { token: team.admin.token });
    expect(response.statusCode).toBe(200);
    expect(response.body_json.users.map((user: Json) => user.id).sort()).toEqual([team.admin.id, childAgent.id].sort());
    // The manager's access is inherited from the parent: enough to read, but not a membership of the child.
    const byManager = await call(ctx.app, 'GET', url(child.id), { token: team.manager.token });
    expect(byManager.statusCode).toBe(200);
    expect(byManager.body_json.users.map((user: Json) => user.id)).not.toContain(team.manager.id);
  });

  it('admins and managers 200, agents 403, other companies 404, no token 401', async () => {
    const team = await companyWithTeam(ctx);
    const status = async (token: string | undefined, companyId = team.company.id) =>
      (await call(ctx.app, 'GET', url(companyId), token ? { token } : {})).statusCode;
    expect(await status(team.admin.token)).toBe(200);
    expect(await status(team.manager.token)).toBe(200);
    const agent = await call(ctx.app, 'GET', url(team.company.id), { token: team.agent.token });
    expect(agent.statusCode).toBe(403);
    expect(agent.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await status(team.outsider.token)).toBe(404);
    expect(await status(team.admin.token, team.otherCompany.id)).toBe(404);
    expect(await status(team.admin.token, 999_999_999)).toBe(404);
    expect(await status(undefined)).toBe(401);
    const staff = await createUser(ctx, { superadmin: true });
    expect(await status(staff.token)).toBe(200);
  });

  it('422 on a bad cursor, limit or access code', async () => {
    const team = await companyWithTeam(ctx);
    for (const query of [
      '?cursor=nope',
      `?cursor=${Buffer.from('[1]').toString('base64url')}`,
      '?limit=101',
      '?access_code=owner',
      '?q=',
    ]) {
      const response = await call(ctx.app, 'GET', url(team.company.id, query), { token: team.admin.token });
      expect(response.statusCode, query).toBe(422);
      expect(response.body_json.errors.length, query).toBeGreaterThan(0);
    }
  });
});
