import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, createUser, member } from '../helpers/factories.ts';

/** The seed's 201 body, with its example values replaced by types: the answer must have exactly these keys. */
const SEED_201 = {
  user_access: {
    id: 0,
    primary: true,
    company: { id: 0, name: 'string', default: true, parent_company_id: 0 },
    access: { id: 0, name: 'string', code: 'string' },
    user: {
      id: 0,
      first_name: 'string',
      last_name: 'string',
      email: 'user@example.com',
      status: 'string',
      lang: 'string',
      theme: 'string',
      currency: 'string',
      birthdate: 'string',
      full_name: 'string',
      avatar_route: 'string',
    },
  },
};

/** Same keys, in the same order, recursively; values of the seed's type (or null where the seed shows a string). */
function expectSameShape(actual: unknown, expected: unknown, path = '$') {
  if (expected !== null && typeof expected === 'object') {
    expect(actual, path).toBeTypeOf('object');
    expect(Object.keys(actual as object), path).toEqual(Object.keys(expected));
    for (const [key, value] of Object.entries(expected)) {
      expectSameShape((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
  } else if (actual !== null) {
    expect(typeof actual, path).toBe(typeof expected);
  }
}

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

describe('POST /api/v1/users/{user_id}/user_access (the seed example)', () => {
  it('answers the seed example with the seed 201 body, key for key', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const parent = company;
    const childRes = await call(ctx.app, 'POST', '/api/v1/companies', {
      token: admin.token,
      body: { name: 'Child', parent_company_id: parent.id, default: true },
    });
    const child = childRes.body_json.company;
    const user = await createUser(ctx, { birthdate: '1990-05-01' });
    const agentId = await accessId(ctx, 'agent');

    const response = await call(ctx.app, 'POST', `/api/v1/users/${user.id}/user_access`, {
      token: admin.token,
      body: { user_id: user.id, company_id: child.id, primary: true, access_id: agentId },
    });

    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expectSameShape(response.body_json, SEED_201);
    const ua = response.body_json.user_access;
    expect(ua.primary).toBe(true);
    expect(ua.company).toEqual({ id: child.id, name: 'Child', default: true, parent_company_id: parent.id });
    expect(ua.access).toEqual({ id: agentId, name: 'Sales agent', code: 'agent' });
    expect(ua.user).toMatchObject({ id: user.id, email: user.email, birthdate: '1990-05-01', full_name: 'Test User' });
  });

  it('401 without a token, or with a bad one', async () => {
    const body = { user_id: 1, company_id: 1, primary: true, access_id: 1 };
    const none = await call(ctx.app, 'POST', '/api/v1/users/1/user_access', { body });
    const bad = await call(ctx.app, 'POST', '/api/v1/users/1/user_access', { body, token: 'a.b.c' });
    for (const response of [none, bad]) {
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body_json).toMatchObject({ status: 401, code: 'unauthorized' });
    }
  });

  it('403 for a manager or agent of the company', async () => {
    const { company, manager, agent } = await companyWithTeam(ctx);
    const target = await createUser(ctx);
    for (const caller of [manager, agent]) {
      const response = await call(ctx.app, 'POST', `/api/v1/users/${target.id}/user_access`, {
        token: caller.token,
        body: { user_id: target.id, company_id: company.id, access_id: await accessId(ctx, 'agent') },
      });
      expect(response.statusCode).toBe(403);
      expect(response.body_json.code).toBe('forbidden');
    }
  });

  it('404 for a missing user, company or access, and for a company the caller cannot see', async () => {
    const { company, admin, otherCompany } = await companyWithTeam(ctx);
    const target = await createUser(ctx);
    const agentId = await accessId(ctx, 'agent');
    const cases = [
      { userId: 99_999_999, body: { company_id: company.id, access_id: agentId } },
      { userId: target.id, body: { company_id: 99_999_999, access_id: agentId } },
      { userId: target.id, body: { company_id: company.id, access_id: 99_999 } },
      { userId: target.id, body: { company_id: otherCompany.id, access_id: agentId } },
    ];
    for (const { userId, body } of cases) {
      const response = await call(ctx.app, 'POST', `/api/v1/users/${userId}/user_access`, {
        token: admin.token,
        body,
      });
      expect(response.statusCode, JSON.stringify(body)).toBe(404);
      expect(response.body_json.code).toBe('not_found');
    }
  });

  it('422 lists every invalid field; a body user_id that differs from the path is 422', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const target = await createUser(ctx);
    const invalid = await call(ctx.app, 'POST', `/api/v1/users/${target.id}/user_access`, {
      token: admin.token,
      body: { company_id: 'x', primary: 'maybe', extra: 1 },
    });
    expect(invalid.statusCode).toBe(422);
    const fields = invalid.body_json.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['access_id', 'company_id', 'extra', 'primary']);

    const mismatch = await call(ctx.app, 'POST', `/api/v1/users/${target.id}/user_access`, {
      token: admin.token,
      body: { user_id: target.id + 1, company_id: company.id, access_id: await accessId(ctx, 'agent') },
    });
    expect(mismatch.statusCode).toBe(422);
    expect(mismatch.body_json.errors[0].field).toBe('user_id');
  });

  it('one access per user and company: a second is 422', async () => {
    const { company, admin, agent } = await companyWithTeam(ctx);
    const response = await call(ctx.app, 'POST', `/api/v1/users/${agent.id}/user_access`, {
      token: admin.token,
      body: { company_id: company.id, access_id: await accessId(ctx, 'manager') },
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.code).toBe('already_member');
  });

  it('an admin of a parent company grants accesses in its descendants', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const child = (
      await call(ctx.app, 'POST', '/api/v1/companies', {
        token: admin.token,
        body: { name: 'Child', parent_company_id: company.id },
      })
    ).body_json.company;
    const grandchild = (
      await call(ctx.app, 'POST', '/api/v1/companies', {
        token: admin.token,
        body: { name: 'Grandchild', parent_company_id: child.id },
      })
    ).body_json.company;
    const target = await createUser(ctx);
    const response = await call(ctx.app, 'POST', `/api/v1/users/${target.id}/user_access`, {
      token: admin.token,
      body: { company_id: grandchild.id, access_id: await accessId(ctx, 'agent') },
    });
    expect(response.statusCode).toBe(201);
  });
});

describe('primary accesses', () => {
  it('keeps one primary per user, switched in one transaction', async () => {
    const first = await companyWithTeam(ctx);
    const second = await companyWithTeam(ctx);
    const user = await createUser(ctx);
    const agentId = await accessId(ctx, 'agent');
    const a = await call(ctx.app, 'POST', `/api/v1/users/${user.id}/user_access`, {
      token: first.admin.token,
      body: { company_id: first.company.id, access_id: agentId, primary: true },
    });
    const b = await call(ctx.app, 'POST', `/api/v1/users/${user.id}/user_access`, {
      token: second.admin.token,
      body: { company_id: second.company.id, access_id: agentId, primary: true },
    });
    expect(b.statusCode).toBe(201);
    const list = await call(ctx.app, 'GET', `/api/v1/users/${user.id}/user_access`, { token: user.token });
    const primaries = list.body_json.user_accesses.filter((ua: { primary: boolean }) => ua.primary);
    expect(primaries.map((ua: { id: number }) => ua.id)).toEqual([b.body_json.user_access.id]);

    const back = await call(ctx.app, 'PUT', `/api/v1/users/${user.id}/user_access/${a.body_json.user_access.id}`, {
      token: first.admin.token,
      body: { primary: true },
    });
    expect(back.statusCode).toBe(200);
    const after = await call(ctx.app, 'GET', `/api/v1/users/${user.id}/user_access`, { token: user.token });
    const ids = after.body_json.user_accesses
      .filter((ua: { primary: boolean }) => ua.primary)
      .map((ua: { id: number }) => ua.id);
    expect(ids).toEqual([a.body_json.user_access.id]);
  });
});

describe('GET, PUT and DELETE', () => {
  it('admins see only their own companies’ rows; the user sees all; outsiders get 404', async () => {
    const first = await companyWithTeam(ctx);
    const second = await companyWithTeam(ctx);
    const user = await member(ctx, first.company.id, 'agent');
    await call(ctx.app, 'POST', `/api/v1/users/${user.id}/user_access`, {
      token: second.admin.token,
      body: { company_id: second.company.id, access_id: await accessId(ctx, 'agent') },
    });
    const own = await call(ctx.app, 'GET', `/api/v1/users/${user.id}/user_access`, { token: user.token });
    expect(own.body_json.user_accesses).toHaveLength(2);
    const byAdmin = await call(ctx.app, 'GET', `/api/v1/users/${user.id}/user_access`, { token: first.admin.token });
    expect(byAdmin.statusCode).toBe(200);
    expect(byAdmin.body_json.user_accesses.map((ua: any) => ua.company.id)).toEqual([first.company.id]);
    const byOutsider = await call(ctx.app, 'GET', `/api/v1/users/${user.id}/user_access`, {
      token: first.outsider.token,
    });
    expect(byOutsider.statusCode).toBe(404);
  });

  it('changes an access; the last admin can be neither demoted nor removed', async () => {
    const { company, admin, agent } = await companyWithTeam(ctx);
    const list = await call(ctx.app, 'GET', `/api/v1/users/${admin.id}/user_access`, { token: admin.token });
    const adminAccess = list.body_json.user_accesses.find((ua: any) => ua.company.id === company.id);

    const demote = await call(ctx.app, 'PUT', `/api/v1/users/${admin.id}/user_access/${adminAccess.id}`, {
      token: admin.token,
      body: { access_id: await accessId(ctx, 'agent') },
    });
    expect(demote.statusCode).toBe(422);
    expect(demote.body_json.code).toBe('last_admin');
    const remove = await call(ctx.app, 'DELETE', `/api/v1/users/${admin.id}/user_access/${adminAccess.id}`, {
      token: admin.token,
    });
    expect(remove.statusCode).toBe(422);
    expect(remove.body_json.code).toBe('last_admin');

    const promote = await call(ctx.app, 'PUT', `/api/v1/users/${agent.id}/user_access/${agent.userAccessId}`, {
      token: admin.token,
      body: { access_id: await accessId(ctx, 'admin') },
    });
    expect(promote.statusCode).toBe(200);
    expect(promote.body_json.user_access.access.code).toBe('admin');
    const nowAllowed = await call(ctx.app, 'DELETE', `/api/v1/users/${admin.id}/user_access/${adminAccess.id}`, {
      token: admin.token,
    });
    expect(nowAllowed.statusCode).toBe(204);
    expect(nowAllowed.body).toBe('');
    // The removal takes effect on the very next request.
    const gone = await call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: admin.token });
    expect(gone.statusCode).toBe(404);
  });

  it('a user access id of another user or company answers 404', async () => {
    const first = await companyWithTeam(ctx);
    const second = await companyWithTeam(ctx);
    const wrongUser = await call(
      ctx.app,
      'DELETE',
      `/api/v1/users/${first.manager.id}/user_access/${first.agent.userAccessId}`,
      { token: first.admin.token },
    );
    expect(wrongUser.statusCode).toBe(404);
    const otherTenant = await call(
      ctx.app,
      'PUT',
      `/api/v1/users/${second.agent.id}/user_access/${second.agent.userAccessId}`,
      { token: first.admin.token, body: { primary: true } },
    );
    expect(otherTenant.statusCode).toBe(404);
  });
});
