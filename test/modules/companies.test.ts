import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createCompany, createUser, grant, member } from '../helpers/factories.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

describe('companies', () => {
  it('creates a company whose creator becomes its admin and gets it as primary', async () => {
    const user = await createUser(ctx);
    const response = await call(ctx.app, 'POST', '/api/v1/companies', {
      token: user.token,
      body: { name: '  Acme  ', country: 'ES', time_zone: 'Europe/Madrid' },
    });
    expect(response.statusCode).toBe(201);
    const { company } = response.body_json;
    expect(company).toMatchObject({
      name: 'Acme',
      default: false,
      parent_company_id: null,
      avatar_route: null,
      cycles_enabled: false,
      country: 'ES',
      time_zone: 'Europe/Madrid',
      access: { code: 'admin', inherited: false },
    });
    const accesses = await call(ctx.app, 'GET', `/api/v1/users/${user.id}/user_access`, { token: user.token });
    expect(accesses.body_json.user_accesses).toMatchObject([{ primary: true, company: { id: company.id } }]);
  });

  it('validates country, time zone and unknown fields', async () => {
    const user = await createUser(ctx);
    const response = await call(ctx.app, 'POST', '/api/v1/companies', {
      token: user.token,
      body: { name: 'X', country: 'ZZ', time_zone: 'Mars/Base' },
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['country', 'time_zone']);
    const unknown = await call(ctx.app, 'POST', '/api/v1/companies', {
      token: user.token,
      body: { name: 'X', cycles_enabled: true },
    });
    expect(unknown.statusCode).toBe(422);
  });

  it('lists the companies the caller can see, with inherited access, paged', async () => {
    const user = await createUser(ctx);
    const root = await createCompany(ctx, user);
    const child = await createCompany(ctx, user, { parent_company_id: root.id });
    const other = await createUser(ctx);
    const foreign = await createCompany(ctx, other);
    const grandchild = await createCompany(ctx, other);
    // `other` owns a company that is not under `user`'s tree: invisible to `user`.
    const first = await call(ctx.app, 'GET', '/api/v1/companies?limit=1', { token: user.token });
    expect(first.body_json.companies).toHaveLength(1);
    const rest = await call(ctx.app, 'GET', `/api/v1/companies?cursor=${first.body_json.meta.next_cursor}`, {
      token: user.token,
    });
    const seen = [...first.body_json.companies, ...rest.body_json.companies];
    expect(seen.map((c: { id: number }) => c.id)).toEqual([root.id, child.id]);
    expect(seen.map((c: { access: { code: string } }) => c.access.code)).toEqual(['admin', 'admin']);
    expect(rest.body_json.meta.next_cursor).toBeNull();
    expect(seen.map((c: { id: number }) => c.id)).not.toContain(foreign.id);
    expect(seen.map((c: { id: number }) => c.id)).not.toContain(grandchild.id);

    // A grant in a descendant of a company where the user is admin shows it as inherited there.
    const viewer = await createUser(ctx);
    await grant(ctx, viewer, root.id, 'manager');
    const viewed = await call(ctx.app, 'GET', '/api/v1/companies', { token: viewer.token });
    expect(
      viewed.body_json.companies.map((c: any) => [c.id, c.access.code, c.access.inherited, c.access.user_access_id]),
    ).toEqual([
      [root.id, 'manager', false, expect.any(Number)],
      [child.id, 'manager', true, expect.any(Number)],
    ]);
  });

  it('shows a company to its members and to members of its ancestors; 404 to others', async () => {
    const { company, admin, manager, agent, outsider } = await companyWithTeam(ctx);
    for (const member of [admin, manager, agent]) {
      const response = await call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: member.token });
      expect(response.statusCode).toBe(200);
      expect(response.body_json.company.id).toBe(company.id);
    }
    expect((await call(ctx.app, 'GET', `/api/v1/companies/${company.id}`, { token: outsider.token })).statusCode).toBe(
      404,
    );
    expect((await call(ctx.app, 'GET', '/api/v1/companies/99999999', { token: admin.token })).statusCode).toBe(404);
    expect((await call(ctx.app, 'GET', '/api/v1/companies/abc', { token: admin.token })).statusCode).toBe(422);
  });

  it('lets admins (and admins of a parent) update; managers and agents get 403', async () => {
    const { company, admin, manager, agent } = await companyWithTeam(ctx);
    for (const member of [manager, agent]) {
      const response = await call(ctx.app, 'PATCH', `/api/v1/companies/${company.id}`, {
        token: member.token,
        body: { name: 'Nope' },
      });
      expect(response.statusCode).toBe(403);
    }
    const child = await createCompany(ctx, admin, { parent_company_id: company.id });
    const response = await call(ctx.app, 'PATCH', `/api/v1/companies/${child.id}`, {
      token: admin.token,
      body: { name: 'Renamed', default: true, country: 'MX' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.body_json.company).toMatchObject({ name: 'Renamed', default: true, country: 'MX' });
  });

  it('a direct access in a descendant overrides the inherited one', async () => {
    const { company, admin } = await companyWithTeam(ctx);
    const child = await createCompany(ctx, admin, { parent_company_id: company.id });
    const user = await createUser(ctx);
    await grant(ctx, user, company.id, 'admin');
    await grant(ctx, user, child.id, 'agent');
    const parentPatch = await call(ctx.app, 'PATCH', `/api/v1/companies/${company.id}`, {
      token: user.token,
      body: { name: 'Fine' },
    });
    expect(parentPatch.statusCode).toBe(200);
    const childPatch = await call(ctx.app, 'PATCH', `/api/v1/companies/${child.id}`, {
      token: user.token,
      body: { name: 'Not fine' },
    });
    expect(childPatch.statusCode).toBe(403);
  });

  it('moves a company under another parent it administers, never under its own descendant', async () => {
    const user = await createUser(ctx);
    const root = await createCompany(ctx, user);
    const child = await createCompany(ctx, user, { parent_company_id: root.id });
    const grandchild = await createCompany(ctx, user, { parent_company_id: child.id });
    for (const parent of [root.id, grandchild.id]) {
      const cycle = await call(ctx.app, 'PATCH', `/api/v1/companies/${root.id}`, {
        token: user.token,
        body: { parent_company_id: parent },
      });
      expect(cycle.statusCode).toBe(422);
      expect(cycle.body_json.errors[0]).toMatchObject({ field: 'parent_company_id', code: 'cycle' });
    }
    const other = await createCompany(ctx, user);
    const move = await call(ctx.app, 'PATCH', `/api/v1/companies/${grandchild.id}`, {
      token: user.token,
      body: { parent_company_id: other.id },
    });
    expect(move.statusCode).toBe(200);
    expect(move.body_json.company.parent_company_id).toBe(other.id);

    const stranger = await createUser(ctx);
    const foreign = await createCompany(ctx, stranger);
    const intoForeign = await call(ctx.app, 'PATCH', `/api/v1/companies/${grandchild.id}`, {
      token: user.token,
      body: { parent_company_id: foreign.id },
    });
    expect(intoForeign.statusCode).toBe(404);
  });

  it('a child company’s admin cannot cut it off its parent (issue 10, repro 3)', async () => {
    const creator = await createUser(ctx);
    const parent = await createCompany(ctx, creator);
    const coAdmin = await member(ctx, parent.id, 'admin');
    const child = await createCompany(ctx, creator, { parent_company_id: parent.id });
    const childAdmin = await member(ctx, child.id, 'admin');
    const theirOwn = await createCompany(ctx, childAdmin);
    const own = await call(ctx.app, 'GET', `/api/v1/users/${creator.id}/user_access`, { token: creator.token });
    const creatorInChild = own.body_json.user_accesses.find(
      (ua: { company: { id: number } }) => ua.company.id === child.id,
    );

    // Step one of the attack: remove the creator's direct admin access in the child.
    const removal = await call(ctx.app, 'DELETE', `/api/v1/users/${creator.id}/user_access/${creatorInChild.id}`, {
      token: childAdmin.token,
    });
    expect(removal.statusCode).toBe(403);
    // Step two: detach the child, or move it under a company the child admin owns. 403, not 404: they can see the
    // child, and so its parent's id.
    for (const parentId of [null, theirOwn.id]) {
      const move = await call(ctx.app, 'PATCH', `/api/v1/companies/${child.id}`, {
        token: childAdmin.token,
        body: { parent_company_id: parentId },
      });
      expect([parentId, move.statusCode, move.body_json.code]).toEqual([parentId, 403, 'forbidden']);
    }
    // Sending the parent it already has moves nothing, and needs nothing of the parent.
    const rename = await call(ctx.app, 'PATCH', `/api/v1/companies/${child.id}`, {
      token: childAdmin.token,
      body: { name: 'Still a child', parent_company_id: parent.id },
    });
    expect(rename.statusCode).toBe(200);
    expect(rename.body_json.company).toMatchObject({ name: 'Still a child', parent_company_id: parent.id });

    // The parent's admins keep seeing (and administering) the child.
    for (const admin of [creator, coAdmin]) {
      const seen = await call(ctx.app, 'GET', `/api/v1/companies/${child.id}`, { token: admin.token });
      expect(seen.statusCode).toBe(200);
      expect(seen.body_json.company.access.code).toBe('admin');
      const listed = await call(ctx.app, 'GET', '/api/v1/companies', { token: admin.token });
      expect(listed.body_json.companies.map((c: { id: number }) => c.id)).toContain(child.id);
    }
  });

  it('moves or detaches a company only for admins of its current parent and of the new one', async () => {
    const user = await createUser(ctx);
    const root = await createCompany(ctx, user);
    const child = await createCompany(ctx, user, { parent_company_id: root.id });
    // Visible to the user, but not administered by them: 403.
    const managed = await createCompany(ctx, await createUser(ctx));
    await grant(ctx, user, managed.id, 'manager');
    const underManaged = await call(ctx.app, 'PATCH', `/api/v1/companies/${child.id}`, {
      token: user.token,
      body: { parent_company_id: managed.id },
    });
    expect(underManaged.statusCode).toBe(403);
    const detached = await call(ctx.app, 'PATCH', `/api/v1/companies/${child.id}`, {
      token: user.token,
      body: { parent_company_id: null },
    });
    expect(detached.statusCode).toBe(200);
    expect(detached.body_json.company.parent_company_id).toBeNull();
    const reattached = await call(ctx.app, 'PATCH', `/api/v1/companies/${child.id}`, {
      token: user.token,
      body: { parent_company_id: root.id },
    });
    expect(reattached.statusCode).toBe(200);
    expect(reattached.body_json.company.parent_company_id).toBe(root.id);
  });

  it('a child company needs admin of the parent', async () => {
    const { company, manager, outsider } = await companyWithTeam(ctx);
    const byManager = await call(ctx.app, 'POST', '/api/v1/companies', {
      token: manager.token,
      body: { name: 'Child', parent_company_id: company.id },
    });
    expect(byManager.statusCode).toBe(403);
    const byOutsider = await call(ctx.app, 'POST', '/api/v1/companies', {
      token: outsider.token,
      body: { name: 'Child', parent_company_id: company.id },
    });
    expect(byOutsider.statusCode).toBe(404);
  });
});

describe('reference data', () => {
  it('lists the seeded stages in pipeline order and the accesses with their permissions', async () => {
    const user = await createUser(ctx);
    const stages = await call(ctx.app, 'GET', '/api/v1/stages', { token: user.token });
    expect(stages.statusCode).toBe(200);
    expect(stages.body_json.stages.map((s: { code: string }) => s.code)).toEqual([
      'new',
      'contacted',
      'qualified',
      'appointment_set',
      'proposal',
      'won',
      'lost',
    ]);
    expect(new Set(stages.body_json.stages.map((s: { kind: string }) => s.kind))).toEqual(
      new Set(['open', 'won', 'lost']),
    );
    const accesses = await call(ctx.app, 'GET', '/api/v1/accesses', { token: user.token });
    expect(accesses.body_json.accesses.map((a: { code: string }) => a.code)).toEqual(['admin', 'manager', 'agent']);
    const agent = accesses.body_json.accesses[2];
    expect(agent.permissions).toContain('leads:read');
    expect(agent.permissions).not.toContain('user_accesses:write');
    const one = await call(ctx.app, 'GET', `/api/v1/accesses/${agent.id}`, { token: user.token });
    expect(one.body_json.access).toEqual(agent);
    expect((await call(ctx.app, 'GET', '/api/v1/accesses/9999', { token: user.token })).statusCode).toBe(404);
    expect((await call(ctx.app, 'GET', '/api/v1/stages')).statusCode).toBe(401);
  });
});
