import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, createUser } from '../helpers/factories.ts';

/**
 * Who may do what, as API.md's roles table says: each row is one request, with the status each caller gets.
 * Requests are built per caller (fresh targets), so one caller's success cannot change another's answer.
 */
type Role = 'admin' | 'manager' | 'agent' | 'outsider';
type Team = Awaited<ReturnType<typeof companyWithTeam>>;
type Row = {
  name: string;
  request: (team: Team, ctx: TestContext) => Promise<{ method: string; url: string; body?: Json }>;
  expected: Record<Role, number>;
};

const ROWS: Row[] = [
  {
    name: 'show the company',
    request: async (t) => ({ method: 'GET', url: `/api/v1/companies/${t.company.id}` }),
    expected: { admin: 200, manager: 200, agent: 200, outsider: 404 },
  },
  {
    name: 'update the company',
    request: async (t) => ({ method: 'PATCH', url: `/api/v1/companies/${t.company.id}`, body: { name: 'Renamed' } }),
    expected: { admin: 200, manager: 403, agent: 403, outsider: 404 },
  },
  {
    name: 'grant an access',
    request: async (t, ctx) => {
      const target = await createUser(ctx);
      return {
        method: 'POST',
        url: `/api/v1/users/${target.id}/user_access`,
        body: { company_id: t.company.id, access_id: await accessId(ctx, 'agent') },
      };
    },
    expected: { admin: 201, manager: 403, agent: 403, outsider: 404 },
  },
  {
    name: 'change an access',
    request: async (t, ctx) => ({
      method: 'PUT',
      url: `/api/v1/users/${t.agent.id}/user_access/${t.agent.userAccessId}`,
      body: { access_id: await accessId(ctx, 'agent') },
    }),
    expected: { admin: 200, manager: 403, agent: 403, outsider: 404 },
  },
  {
    name: 'show a member',
    request: async (t) => ({ method: 'GET', url: `/api/v1/users/${t.manager.id}` }),
    expected: { admin: 200, manager: 200, agent: 404, outsider: 404 },
  },
  {
    name: 'find a user by email',
    request: async (t) => ({ method: 'GET', url: `/api/v1/users/find_by_email?email=${t.agent.email}` }),
    expected: { admin: 200, manager: 200, agent: 403, outsider: 200 },
  },
  {
    name: 'create a child company',
    request: async (t) => ({
      method: 'POST',
      url: '/api/v1/companies',
      body: { name: 'Child', parent_company_id: t.company.id },
    }),
    expected: { admin: 201, manager: 403, agent: 403, outsider: 404 },
  },
];

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

describe('role matrix', () => {
  it.each(ROWS)('$name', async (row) => {
    const results: Record<string, number> = {};
    for (const role of ['admin', 'manager', 'agent', 'outsider'] as const) {
      const team = await companyWithTeam(ctx);
      const { method, url, body } = await row.request(team, ctx);
      const response = await call(ctx.app, method as 'GET', url, { token: team[role].token, body });
      results[role] = response.statusCode;
    }
    expect(results).toEqual(row.expected);
  });
});
