import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userAccesses } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, createCompany, createUser, grant, member } from '../helpers/factories.ts';

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
    // Someone the admin can already see: a member of the parent company.
    const user = await createUser(ctx, { birthdate: '1990-05-01' });
    await grant(ctx, user, parent.id, 'agent');
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
    const target = await member(ctx, company.id, 'agent');
    const sibling = await createCompany(ctx, admin);
    const agentId = await accessId(ctx, 'agent');
    const cases = [
      { userId: 99_999_999, body: { company_id: sibling.id, access_id: agentId } },
      { userId: target.id, body: { company_id: 99_999_999, access_id: agentId } },
      { userId: target.id, body: { company_id: sibling.id, access_id: 99_999 } },
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
    const target = await member(ctx, company.id, 'agent');
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
    // A person both admins can already see: a member of each of their companies.
    const user = await member(ctx, first.company.id, 'agent');
    await grant(ctx, user, second.company.id, 'agent');
    const firstChild = await createCompany(ctx, first.admin, { parent_company_id: first.company.id });
    const secondChild = await createCompany(ctx, second.admin, { parent_company_id: second.company.id });
    const agentId = await accessId(ctx, 'agent');
    const a = await call(ctx.app, 'POST', `/api/v1/users/${user.id}/user_access`, {
      token: first.admin.token,
      body: { company_id: firstChild.id, access_id: agentId, primary: true },
    });
    expect(a.statusCode).toBe(201);
    expect(a.body_json.user_access.primary).toBe(true);
    const b = await call(ctx.app, 'POST', `/api/v1/users/${user.id}/user_access`, {
      token: second.admin.token,
      body: { company_id: secondChild.id, access_id: agentId, primary: true },
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
    await grant(ctx, user, second.company.id, 'agent');
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
    expect(demote.body_json).toMatchObject({ status: 422, code: 'last_admin', errors: [{ field: 'access_id' }] });
    const remove = await call(ctx.app, 'DELETE', `/api/v1/users/${admin.id}/user_access/${adminAccess.id}`, {
      token: admin.token,
    });
    expect(remove.statusCode).toBe(422);
    expect(remove.body_json).toMatchObject({ status: 422, code: 'last_admin', errors: [{ field: 'user_access_id' }] });

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

const accessesOf = (userId: number) =>
  ctx.database.db.select().from(userAccesses).where(eq(userAccesses.userId, userId));

/** A problem body without its per-request id, to compare two answers. */
const problem = (body: Json) => {
  const { request_id: _, ...rest } = body;
  return rest;
};

describe('consent to membership (issue 10, repro 1)', () => {
  it('404 for a person the admin shares nothing with, the platform staff included, exactly as for an unknown id', async () => {
    // Anyone can create a company and so become an admin: that must not reach other people's accounts.
    const attacker = await createUser(ctx);
    const company = await createCompany(ctx, attacker);
    const victim = await createUser(ctx, { birthdate: '1980-02-03' });
    const victimCompany = await createCompany(ctx, victim);
    const staff = await createUser(ctx, { superadmin: true });
    const body = { company_id: company.id, access_id: await accessId(ctx, 'agent'), primary: true };
    const unknown = await call(ctx.app, 'POST', '/api/v1/users/99999999/user_access', { token: attacker.token, body });
    expect(unknown.statusCode).toBe(404);

    for (const target of [victim, staff]) {
      const before = await accessesOf(target.id);
      const response = await call(ctx.app, 'POST', `/api/v1/users/${target.id}/user_access`, {
        token: attacker.token,
        body: { ...body, user_id: target.id },
      });
      expect(response.statusCode).toBe(404);
      expect(problem(response.body_json)).toEqual(problem(unknown.body_json));
      expect(response.body).not.toContain(target.email);
      expect(await accessesOf(target.id)).toEqual(before);
    }
    // The victim's primary company is still their own.
    const own = await call(ctx.app, 'GET', `/api/v1/users/${victim.id}/user_access`, { token: victim.token });
    expect(own.body_json.user_accesses).toMatchObject([{ primary: true, company: { id: victimCompany.id } }]);
  });

  it('lets platform staff give anyone an access', async () => {
    const { company } = await companyWithTeam(ctx);
    const staff = await createUser(ctx, { superadmin: true });
    const stranger = await createUser(ctx);
    const response = await call(ctx.app, 'POST', `/api/v1/users/${stranger.id}/user_access`, {
      token: staff.token,
      body: { company_id: company.id, access_id: await accessId(ctx, 'agent'), primary: true },
    });
    expect(response.statusCode).toBe(201);
    expect(response.body_json.user_access).toMatchObject({ primary: true, user: { id: stranger.id } });
  });

  it('lets an admin give a member of one company they administer an access in another, moving their primary', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const other = await createCompany(ctx, admin);
    const person = await createUser(ctx);
    const first = await grant(ctx, person, company.id, 'agent');
    await call(ctx.app, 'PUT', `/api/v1/users/${person.id}/user_access/${first}`, {
      token: admin.token,
      body: { primary: true },
    });
    const response = await call(ctx.app, 'POST', `/api/v1/users/${person.id}/user_access`, {
      token: admin.token,
      body: { company_id: other.id, access_id: await accessId(ctx, 'manager'), primary: true },
    });
    expect(response.statusCode).toBe(201);
    const rows = await accessesOf(person.id);
    expect(rows.filter((row) => row.primary).map((row) => row.companyId)).toEqual([other.id]);
  });

  it('a member of a company the admin only manages, not administers, stays invisible (404)', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    // The admin is a manager elsewhere: its members are not people they may give accesses to.
    const elsewhere = await createCompany(ctx, await createUser(ctx));
    await grant(ctx, admin, elsewhere.id, 'manager');
    const colleague = await member(ctx, elsewhere.id, 'agent');
    const response = await call(ctx.app, 'POST', `/api/v1/users/${colleague.id}/user_access`, {
      token: admin.token,
      body: { company_id: company.id, access_id: await accessId(ctx, 'agent') },
    });
    expect(response.statusCode).toBe(404);
  });
});

describe('leaving a company', () => {
  it('lets every member delete their own access, whatever their role (204), and takes effect at once', async () => {
    const { company, manager, agent } = await companyWithTeam(ctx);
    for (const person of [agent, manager]) {
      const response = await call(ctx.app, 'DELETE', `/api/v1/users/${person.id}/user_access/${person.userAccessId}`, {
        token: person.token,
      });
      expect(response.statusCode).toBe(204);
      const after = await call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: person.token });
      expect(after.statusCode).toBe(404);
    }
  });

  it('refuses the last admin leaving (422 last_admin, as the contract says), and changes nothing', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const [own] = (await accessesOf(admin.id)).filter((row) => row.companyId === company.id);
    const response = await call(ctx.app, 'DELETE', `/api/v1/users/${admin.id}/user_access/${own!.id}`, {
      token: admin.token,
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json).toMatchObject({ status: 422, code: 'last_admin' });
    expect(await accessesOf(admin.id)).toHaveLength(1);
  });

  it('removing someone else’s access needs admin of its company: managers and agents 403, outsiders 404', async () => {
    const { manager, agent, outsider } = await companyWithTeam(ctx);
    const url = `/api/v1/users/${agent.id}/user_access/${agent.userAccessId}`;
    const byManager = await call(ctx.app, 'DELETE', url, { token: manager.token });
    expect([byManager.statusCode, byManager.body_json.code]).toEqual([403, 'forbidden']);
    const byColleague = await call(
      ctx.app,
      'DELETE',
      `/api/v1/users/${manager.id}/user_access/${manager.userAccessId}`,
      { token: agent.token },
    );
    expect(byColleague.statusCode).toBe(403);
    const byOutsider = await call(ctx.app, 'DELETE', url, { token: outsider.token });
    expect(byOutsider.statusCode).toBe(404);
    expect(await accessesOf(agent.id)).toHaveLength(1);
    expect(await accessesOf(manager.id)).toHaveLength(1);
  });
});

/** A parent company made by `creator`, its child (where the creator holds a direct admin access), a child admin. */
async function parentAndChild() {
  const creator = await createUser(ctx);
  const parent = await createCompany(ctx, creator);
  const child = await createCompany(ctx, creator, { parent_company_id: parent.id });
  const childAdmin = await member(ctx, child.id, 'admin');
  const [creatorInChild] = (await accessesOf(creator.id)).filter((row) => row.companyId === child.id);
  return { creator, parent, child, childAdmin, creatorInChild: creatorInChild!.id };
}

describe('an access inherited from an ancestor cannot be removed from below (issue 10, repro 3)', () => {
  it('refuses a child company’s admin removing or demoting a parent admin’s direct access there (403)', async () => {
    const { creator, parent, child, childAdmin, creatorInChild } = await parentAndChild();
    const url = `/api/v1/users/${creator.id}/user_access/${creatorInChild}`;
    const removal = await call(ctx.app, 'DELETE', url, { token: childAdmin.token });
    expect([removal.statusCode, removal.body_json.code]).toEqual([403, 'inherited_admin']);
    const demotion = await call(ctx.app, 'PUT', url, {
      token: childAdmin.token,
      body: { access_id: await accessId(ctx, 'agent') },
    });
    expect([demotion.statusCode, demotion.body_json.code]).toEqual([403, 'inherited_admin']);
    const [still] = (await accessesOf(creator.id)).filter((row) => row.id === creatorInChild);
    expect(still!.accessId).toBe(await accessId(ctx, 'admin'));
    for (const companyId of [parent.id, child.id]) {
      const seen = await call(ctx.app, 'GET', `/api/v1/companies/${companyId}`, { token: creator.token });
      expect(seen.body_json.company.access.code).toBe('admin');
    }
  });

  it('refuses a child company’s admin giving a parent admin a direct (lesser) access there (403)', async () => {
    const { creator, child, childAdmin, creatorInChild } = await parentAndChild();
    // The creator leaves the child (they keep admin there by inheritance) but stays visible to the child admin
    // through a grandchild.
    await createCompany(ctx, creator, { parent_company_id: child.id });
    const left = await call(ctx.app, 'DELETE', `/api/v1/users/${creator.id}/user_access/${creatorInChild}`, {
      token: creator.token,
    });
    expect(left.statusCode).toBe(204);
    const response = await call(ctx.app, 'POST', `/api/v1/users/${creator.id}/user_access`, {
      token: childAdmin.token,
      body: { company_id: child.id, access_id: await accessId(ctx, 'agent') },
    });
    expect([response.statusCode, response.body_json.code]).toEqual([403, 'inherited_admin']);
    const seen = await call(ctx.app, 'GET', `/api/v1/companies/${child.id}`, { token: creator.token });
    expect(seen.body_json.company.access).toMatchObject({ code: 'admin', inherited: true });
  });

  it('protects an admin of the top of a deeper tree from a middle company’s admin too', async () => {
    // top → middle → bottom, made by the founder, who holds a direct admin access in each.
    const founder = await createUser(ctx);
    const top = await createCompany(ctx, founder);
    const middle = await createCompany(ctx, founder, { parent_company_id: top.id });
    const bottom = await createCompany(ctx, founder, { parent_company_id: middle.id });
    const middleAdmin = await member(ctx, middle.id, 'admin');
    // The founder leaves middle: their admin rights there now come from the top only.
    const [founderInMiddle] = (await accessesOf(founder.id)).filter((row) => row.companyId === middle.id);
    const left = await call(ctx.app, 'DELETE', `/api/v1/users/${founder.id}/user_access/${founderInMiddle!.id}`, {
      token: founder.token,
    });
    expect(left.statusCode).toBe(204);
    const [founderInBottom] = (await accessesOf(founder.id)).filter((row) => row.companyId === bottom.id);
    const url = `/api/v1/users/${founder.id}/user_access/${founderInBottom!.id}`;
    const demotion = await call(ctx.app, 'PUT', url, {
      token: middleAdmin.token,
      body: { access_id: await accessId(ctx, 'agent') },
    });
    expect([demotion.statusCode, demotion.body_json.code]).toEqual([403, 'inherited_admin']);
    const removal = await call(ctx.app, 'DELETE', url, { token: middleAdmin.token });
    expect([removal.statusCode, removal.body_json.code]).toEqual([403, 'inherited_admin']);
  });

  it('lets another admin of the parent, or platform staff, change that access', async () => {
    const { creator, parent, creatorInChild } = await parentAndChild();
    const coAdmin = await member(ctx, parent.id, 'admin');
    const url = `/api/v1/users/${creator.id}/user_access/${creatorInChild}`;
    const demotion = await call(ctx.app, 'PUT', url, {
      token: coAdmin.token,
      body: { access_id: await accessId(ctx, 'manager') },
    });
    expect(demotion.statusCode).toBe(200);
    const staff = await createUser(ctx, { superadmin: true });
    const removal = await call(ctx.app, 'DELETE', url, { token: staff.token });
    expect(removal.statusCode).toBe(204);
  });

  it('leaves people who do not administer the parent to the child’s admins', async () => {
    const { child, childAdmin } = await parentAndChild();
    const agent = await member(ctx, child.id, 'agent');
    const promoted = await call(ctx.app, 'PUT', `/api/v1/users/${agent.id}/user_access/${agent.userAccessId}`, {
      token: childAdmin.token,
      body: { access_id: await accessId(ctx, 'manager') },
    });
    expect(promoted.statusCode).toBe(200);
    const removed = await call(ctx.app, 'DELETE', `/api/v1/users/${agent.id}/user_access/${agent.userAccessId}`, {
      token: childAdmin.token,
    });
    expect(removed.statusCode).toBe(204);
  });
});
