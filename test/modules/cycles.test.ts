import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cycleMembers, cycles, users } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, member } from '../helpers/factories.ts';
import { companyUrl, createSource, fieldsOf } from '../helpers/pipeline.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;
const url = (companyId: number, path = '') => companyUrl(companyId, `cycles${path}`);

async function agents(team: Team, count: number) {
  const list = [];
  for (let i = 0; i < count; i++) list.push(await member(ctx, team.company.id, 'agent'));
  return list;
}

async function createCycle(team: Team, body: Json, token = team.admin.token) {
  const response = await call(ctx.app, 'POST', url(team.company.id), { token, body: { name: 'Cycle', ...body } });
  expect(response.statusCode, response.body).toBe(201);
  return response.body_json.cycle as Json;
}

const cyclesInDb = (companyId: number) => ctx.database.db.select().from(cycles).where(eq(cycles.companyId, companyId));

describe('PUT /companies/{company_id}/cycles/enabled', () => {
  it('switches the flag and answers the company with the caller’s access and plan', async () => {
    const team = await companyWithTeam(ctx);
    const on = await call(ctx.app, 'PUT', url(team.company.id, '/enabled'), {
      token: team.manager.token,
      body: { enabled: true },
    });
    expect(on.statusCode, on.body).toBe(200);
    expect(on.body_json.company).toMatchObject({
      id: team.company.id,
      cycles_enabled: true,
      access: { code: 'manager', user_access_id: team.manager.userAccessId, inherited: false },
      membership: { code: 'business' },
    });
    const off = await call(ctx.app, 'PUT', url(team.company.id, '/enabled'), {
      token: team.admin.token,
      body: { enabled: false },
    });
    expect(off.body_json.company).toMatchObject({ cycles_enabled: false, access: { code: 'admin' } });
    const shown = await call(ctx.app, 'GET', `/api/v1/companies/${team.company.id}`, { token: team.admin.token });
    expect(shown.body_json.company.cycles_enabled).toBe(false);
  });

  it('refuses agents (403), outsiders (404) and a body that is not a boolean (422)', async () => {
    const team = await companyWithTeam(ctx);
    const put = (token: string, body: unknown) =>
      call(ctx.app, 'PUT', url(team.company.id, '/enabled'), { token, body });
    expect((await put(team.agent.token, { enabled: true })).statusCode).toBe(403);
    expect((await put(team.outsider.token, { enabled: true })).statusCode).toBe(404);
    const wrong = await put(team.admin.token, { enabled: 'yes' });
    expect(wrong.statusCode).toBe(422);
    expect(fieldsOf(wrong)).toEqual(['enabled']);
    expect(fieldsOf(await put(team.admin.token, {}))).toEqual(['enabled']);
    expect((await call(ctx.app, 'PUT', url(team.company.id, '/enabled'), { body: { enabled: true } })).statusCode).toBe(
      401,
    );
  });
});

describe('POST /companies/{company_id}/cycles', () => {
  it('creates a cycle with ordered, weighted members, a source and the default flag', async () => {
    const team = await companyWithTeam(ctx);
    const [a, b] = await agents(team, 2);
    const source = await createSource(ctx, team.admin.token, team.company.id);
    const cycle = await createCycle(team, {
      name: '  Inbound  ',
      user_access_ids: [b!.userAccessId, a!.userAccessId, team.manager.userAccessId],
      weights: [3, 1, 2],
      source_id: source.id,
      default: true,
    });
    expect(Object.keys(cycle).sort()).toEqual(
      ['company_id', 'created_at', 'default', 'id', 'members', 'name', 'source', 'updated_at'].sort(),
    );
    expect(cycle).toMatchObject({
      company_id: team.company.id,
      name: 'Inbound',
      source: { id: source.id, name: source.name },
      default: true,
    });
    expect(cycle.members).toEqual([
      {
        user_access_id: b!.userAccessId,
        user_id: b!.id,
        full_name: 'Test User',
        position: 0,
        weight: 3,
        assigned_count: 0,
        active: true,
      },
      expect.objectContaining({ user_access_id: a!.userAccessId, position: 1, weight: 1 }),
      expect.objectContaining({ user_access_id: team.manager.userAccessId, position: 2, weight: 2 }),
    ]);
    expect(new Date(cycle.created_at).toISOString()).toBe(cycle.created_at);
  });

  it('weighs every member 1 without weights, has no source by default, and shows deactivated users as inactive', async () => {
    const team = await companyWithTeam(ctx);
    const [a] = await agents(team, 1);
    await ctx.database.db.update(users).set({ status: 'inactive' }).where(eq(users.id, a!.id));
    const cycle = await createCycle(team, { user_access_ids: [team.agent.userAccessId, a!.userAccessId] });
    expect(cycle).toMatchObject({ source: null, default: false });
    expect(cycle.members.map((m: Json) => [m.weight, m.active])).toEqual([
      [1, true],
      [1, false],
    ]);
  });

  it('refuses foreign, unknown and repeated user accesses with their index, and mismatched weights (422)', async () => {
    const team = await companyWithTeam(ctx);
    const foreign = await member(ctx, team.otherCompany.id, 'agent');
    const response = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: {
        name: 'Bad',
        user_access_ids: [team.agent.userAccessId, team.agent.userAccessId, foreign.userAccessId, 999_999_999],
        weights: [1, 2],
      },
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'user_access_ids.1', code: 'duplicate' }),
        expect.objectContaining({ field: 'user_access_ids.2', code: 'invalid_reference' }),
        expect.objectContaining({ field: 'user_access_ids.3', code: 'invalid_reference' }),
        expect.objectContaining({ field: 'weights', code: 'length_mismatch' }),
      ]),
    );
    expect(fieldsOf(response)).toHaveLength(4);
    expect(await cyclesInDb(team.company.id)).toEqual([]);
  });

  it('validates the body: name, 1..200 members, weights 1..100, no unknown fields (422)', async () => {
    const team = await companyWithTeam(ctx);
    const post = (body: Json) => call(ctx.app, 'POST', url(team.company.id), { token: team.admin.token, body });
    const ids = [team.agent.userAccessId];
    expect(fieldsOf(await post({ user_access_ids: ids }))).toEqual(['name']);
    expect(fieldsOf(await post({ name: '   ', user_access_ids: ids }))).toEqual(['name']);
    expect(fieldsOf(await post({ name: 'X', user_access_ids: [] }))).toEqual(['user_access_ids']);
    expect(fieldsOf(await post({ name: 'X', user_access_ids: Array.from({ length: 201 }, (_, i) => i + 1) }))).toEqual([
      'user_access_ids',
    ]);
    expect(fieldsOf(await post({ name: 'X', user_access_ids: ids, weights: [0] }))).toEqual(['weights.0']);
    expect(fieldsOf(await post({ name: 'X', user_access_ids: ids, weights: [101] }))).toEqual(['weights.0']);
    expect(fieldsOf(await post({ name: 'X', user_access_ids: ids, company_id: 1 }))).toEqual(['company_id']);
    expect(await cyclesInDb(team.company.id)).toEqual([]);
  });

  it('needs a live source of this company (422) and binds a source to one cycle only (409)', async () => {
    const team = await companyWithTeam(ctx);
    const ids = [team.agent.userAccessId];
    const source = await createSource(ctx, team.admin.token, team.company.id);
    const foreign = await createSource(ctx, team.outsider.token, team.otherCompany.id);
    const deleted = await createSource(ctx, team.admin.token, team.company.id);
    await call(ctx.app, 'DELETE', companyUrl(team.company.id, `sources/${deleted.id}`), { token: team.admin.token });
    for (const sourceId of [foreign.id, deleted.id, 999_999_999]) {
      const response = await call(ctx.app, 'POST', url(team.company.id), {
        token: team.admin.token,
        body: { name: 'X', user_access_ids: ids, source_id: sourceId },
      });
      expect(response.statusCode).toBe(422);
      expect(response.body_json.errors).toEqual([
        expect.objectContaining({ field: 'source_id', code: 'invalid_reference' }),
      ]);
    }
    const first = await createCycle(team, { user_access_ids: ids, source_id: source.id });
    const second = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: { name: 'Second', user_access_ids: ids, source_id: source.id },
    });
    expect(second.statusCode).toBe(409);
    expect(second.body_json).toMatchObject({
      code: 'source_has_cycle',
      errors: [{ field: 'source_id', code: 'taken' }],
    });
    // Freed once the first cycle lets go of it.
    await call(ctx.app, 'PATCH', url(team.company.id, `/${first.id}`), {
      token: team.admin.token,
      body: { source_id: null },
    });
    await createCycle(team, { user_access_ids: ids, source_id: source.id });
  });

  it('binds a source to exactly one of many concurrent creations, never a 500', async () => {
    const team = await companyWithTeam(ctx);
    const source = await createSource(ctx, team.admin.token, team.company.id);
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(ctx.app, 'POST', url(team.company.id), {
          token: team.admin.token,
          body: { name: `C${i}`, user_access_ids: [team.agent.userAccessId], source_id: source.id },
        }),
      ),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([201, ...Array(9).fill(409)]);
  });

  it('keeps one default: a new default clears the previous one, even under concurrency', async () => {
    const team = await companyWithTeam(ctx);
    const ids = [team.agent.userAccessId];
    const first = await createCycle(team, { user_access_ids: ids, default: true });
    const second = await createCycle(team, { user_access_ids: ids, default: true });
    const shown = await call(ctx.app, 'GET', url(team.company.id, `/${first.id}`), { token: team.admin.token });
    expect(shown.body_json.cycle.default).toBe(false);
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(ctx.app, 'POST', url(team.company.id), {
          token: team.admin.token,
          body: { name: 'Race', user_access_ids: ids, default: true },
        }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(8).fill(201));
    const defaults = (await cyclesInDb(team.company.id)).filter((row) => row.isDefault);
    expect(defaults).toHaveLength(1);
    expect(defaults[0]!.id).not.toBe(second.id);
  });
});

describe('GET /companies/{company_id}/cycles', () => {
  it('lists cycles oldest first with their members, in keyset pages, to admins and managers', async () => {
    const team = await companyWithTeam(ctx);
    const [a] = await agents(team, 1);
    const made = [];
    for (let i = 0; i < 3; i++) {
      made.push(
        await createCycle(team, { name: `C${i}`, user_access_ids: [a!.userAccessId, team.agent.userAccessId] }),
      );
    }
    // Another company's cycle never shows.
    const theirs = await call(ctx.app, 'POST', url(team.otherCompany.id), {
      token: team.outsider.token,
      body: { name: 'Theirs', user_access_ids: [(await member(ctx, team.otherCompany.id, 'agent')).userAccessId] },
    });
    expect(theirs.statusCode).toBe(201);
    const first = await call(ctx.app, 'GET', url(team.company.id, '?limit=2&count=true'), {
      token: team.manager.token,
    });
    expect(first.statusCode).toBe(200);
    expect(first.body_json.meta).toMatchObject({ limit: 2, total: 3 });
    expect(first.body_json.cycles.map((c: Json) => c.name)).toEqual(['C0', 'C1']);
    expect(first.body_json.cycles[1].members.map((m: Json) => m.user_access_id)).toEqual([
      a!.userAccessId,
      team.agent.userAccessId,
    ]);
    const rest = await call(
      ctx.app,
      'GET',
      url(team.company.id, `?limit=2&cursor=${first.body_json.meta.next_cursor}`),
      {
        token: team.manager.token,
      },
    );
    expect(rest.body_json.cycles.map((c: Json) => c.id)).toEqual([made[2]!.id]);
    expect(rest.body_json.meta.next_cursor).toBeNull();
    expect((await call(ctx.app, 'GET', url(team.company.id), { token: team.outsider.token })).statusCode).toBe(404);
    expect(
      (await call(ctx.app, 'GET', url(team.company.id, '?cursor=bogus'), { token: team.admin.token })).statusCode,
    ).toBe(422);
  });
});

describe('GET /companies/{company_id}/cycles/{cycle_id}', () => {
  it('shows a cycle to admins and managers and answers 404 for another company’s cycle or an unknown id', async () => {
    const team = await companyWithTeam(ctx);
    const cycle = await createCycle(team, { user_access_ids: [team.agent.userAccessId] });
    const shown = await call(ctx.app, 'GET', url(team.company.id, `/${cycle.id}`), { token: team.manager.token });
    expect(shown.statusCode).toBe(200);
    expect(shown.body_json.cycle).toEqual(cycle);
    const theirs = await call(ctx.app, 'POST', url(team.otherCompany.id), {
      token: team.outsider.token,
      body: { name: 'Theirs', user_access_ids: [(await member(ctx, team.otherCompany.id, 'agent')).userAccessId] },
    });
    const foreignId = theirs.body_json.cycle.id as number;
    expect(
      (await call(ctx.app, 'GET', url(team.company.id, `/${foreignId}`), { token: team.admin.token })).statusCode,
    ).toBe(404);
    expect(
      (await call(ctx.app, 'GET', url(team.company.id, '/999999999'), { token: team.admin.token })).statusCode,
    ).toBe(404);
    expect(
      (await call(ctx.app, 'GET', url(team.company.id, `/${cycle.id}`), { token: team.outsider.token })).statusCode,
    ).toBe(404);
  });
});

describe('agents and cycles (issue 10, repro 8)', () => {
  it('refuses agents every cycle read, even of a cycle they rotate in: colleagues’ names and counts are not theirs', async () => {
    const team = await companyWithTeam(ctx);
    const cycle = await createCycle(team, { name: 'Night shift', user_access_ids: [team.agent.userAccessId] });
    for (const path of ['', `/${cycle.id}`]) {
      const response = await call(ctx.app, 'GET', url(team.company.id, path), { token: team.agent.token });
      expect([path, response.statusCode, response.body_json.code]).toEqual([path, 403, 'forbidden']);
      expect(response.body).not.toContain(cycle.name);
    }
  });
});

describe('PATCH /companies/{company_id}/cycles/{cycle_id}', () => {
  it('renames and replaces members: those who stay keep their rotation state, new ones start at 0', async () => {
    const team = await companyWithTeam(ctx);
    const [a, b, c] = await agents(team, 3);
    const cycle = await createCycle(team, { user_access_ids: [a!.userAccessId, b!.userAccessId], weights: [2, 1] });
    await ctx.database.db
      .update(cycleMembers)
      .set({ currentWeight: -1, assignedCount: 7 })
      .where(and(eq(cycleMembers.cycleId, cycle.id), eq(cycleMembers.userAccessId, b!.userAccessId)));
    const response = await call(ctx.app, 'PATCH', url(team.company.id, `/${cycle.id}`), {
      token: team.manager.token,
      body: { name: 'Renamed', user_access_ids: [c!.userAccessId, b!.userAccessId], weights: [1, 5] },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.body_json.cycle.name).toBe('Renamed');
    expect(
      response.body_json.cycle.members.map((m: Json) => [m.user_access_id, m.position, m.weight, m.assigned_count]),
    ).toEqual([
      [c!.userAccessId, 0, 1, 0],
      [b!.userAccessId, 1, 5, 7],
    ]);
    const rows = await ctx.database.db.select().from(cycleMembers).where(eq(cycleMembers.cycleId, cycle.id));
    expect(Object.fromEntries(rows.map((row) => [row.userAccessId, row.currentWeight]))).toEqual({
      [c!.userAccessId]: 0,
      [b!.userAccessId]: -1,
    });
    // Without weights every member weighs 1 again.
    const plain = await call(ctx.app, 'PATCH', url(team.company.id, `/${cycle.id}`), {
      token: team.admin.token,
      body: { user_access_ids: [b!.userAccessId] },
    });
    expect(plain.body_json.cycle.members.map((m: Json) => [m.weight, m.assigned_count])).toEqual([[1, 7]]);
  });

  it('moves the default, binds and unbinds a source, and leaves unsent fields alone', async () => {
    const team = await companyWithTeam(ctx);
    const ids = [team.agent.userAccessId];
    const first = await createCycle(team, { user_access_ids: ids, default: true });
    const second = await createCycle(team, { user_access_ids: ids });
    const source = await createSource(ctx, team.admin.token, team.company.id);
    const patch = (id: number, body: Json) =>
      call(ctx.app, 'PATCH', url(team.company.id, `/${id}`), { token: team.admin.token, body });
    const moved = await patch(second.id, { default: true, source_id: source.id });
    expect(moved.body_json.cycle).toMatchObject({ default: true, source: { id: source.id }, members: [{ weight: 1 }] });
    expect((await cyclesInDb(team.company.id)).find((row) => row.id === first.id)?.isDefault).toBe(false);
    // Its own source again is no conflict.
    expect((await patch(second.id, { source_id: source.id })).statusCode).toBe(200);
    const taken = await patch(first.id, { source_id: source.id });
    expect(taken.statusCode).toBe(409);
    expect(taken.body_json.code).toBe('source_has_cycle');
    const unbound = await patch(second.id, { source_id: null, default: false });
    expect(unbound.body_json.cycle).toMatchObject({ source: null, default: false, name: 'Cycle' });
  });

  it('refuses weights without members, foreign members, an empty body (422); agents 403; other companies 404', async () => {
    const team = await companyWithTeam(ctx);
    const cycle = await createCycle(team, { user_access_ids: [team.agent.userAccessId] });
    const patch = (body: Json, token = team.admin.token, companyId = team.company.id) =>
      call(ctx.app, 'PATCH', url(companyId, `/${cycle.id}`), { token, body });
    const weightsOnly = await patch({ weights: [2] });
    expect(weightsOnly.statusCode).toBe(422);
    expect(weightsOnly.body_json.errors).toEqual([
      expect.objectContaining({ field: 'weights', code: 'requires_user_access_ids' }),
    ]);
    const foreign = await member(ctx, team.otherCompany.id, 'agent');
    expect(fieldsOf(await patch({ user_access_ids: [team.agent.userAccessId, foreign.userAccessId] }))).toEqual([
      'user_access_ids.1',
    ]);
    expect((await patch({})).statusCode).toBe(422);
    expect((await patch({ name: 'X' }, team.agent.token)).statusCode).toBe(403);
    expect((await patch({ name: 'X' }, team.outsider.token)).statusCode).toBe(404);
    expect((await patch({ name: 'X' }, team.outsider.token, team.otherCompany.id)).statusCode).toBe(404);
    const unchanged = await call(ctx.app, 'GET', url(team.company.id, `/${cycle.id}`), { token: team.admin.token });
    expect(unchanged.body_json.cycle).toEqual(cycle);
  });
});

describe('DELETE /companies/{company_id}/cycles/{cycle_id}', () => {
  it('deletes a cycle and its members (204); agents 403; outsiders and repeats 404', async () => {
    const team = await companyWithTeam(ctx);
    const cycle = await createCycle(team, { user_access_ids: [team.agent.userAccessId], default: true });
    const remove = (token: string) => call(ctx.app, 'DELETE', url(team.company.id, `/${cycle.id}`), { token });
    expect((await remove(team.agent.token)).statusCode).toBe(403);
    expect((await remove(team.outsider.token)).statusCode).toBe(404);
    const removed = await remove(team.manager.token);
    expect(removed.statusCode).toBe(204);
    expect(removed.body).toBe('');
    expect((await remove(team.admin.token)).statusCode).toBe(404);
    expect(
      (await call(ctx.app, 'GET', url(team.company.id, `/${cycle.id}`), { token: team.admin.token })).statusCode,
    ).toBe(404);
    expect(await ctx.database.db.select().from(cycleMembers).where(eq(cycleMembers.cycleId, cycle.id))).toEqual([]);
  });
});

describe('role matrix', () => {
  it('lets admins and managers read and write; agents neither (403), outsiders nothing (404)', async () => {
    const team = await companyWithTeam(ctx);
    const body = { name: 'Roles', user_access_ids: [team.agent.userAccessId] };
    const expected = { admin: [201, 200], manager: [201, 200], agent: [403, 403], outsider: [404, 404] };
    for (const [role, [write, read]] of Object.entries(expected)) {
      const token = (team as unknown as Record<string, { token: string }>)[role]!.token;
      const created = await call(ctx.app, 'POST', url(team.company.id), { token, body });
      const listed = await call(ctx.app, 'GET', url(team.company.id), { token });
      expect([role, created.statusCode, listed.statusCode]).toEqual([role, write, read]);
    }
  });
});

describe('distribution through managed cycles', () => {
  it('assigns new leads in the cycle’s order once the flag is on, and counts them per member', async () => {
    const team = await companyWithTeam(ctx);
    const [a, b] = await agents(team, 2);
    const cycle = await createCycle(team, { user_access_ids: [a!.userAccessId, b!.userAccessId], default: true });
    const lead = async () => {
      const response = await call(ctx.app, 'POST', companyUrl(team.company.id, 'leads'), {
        token: team.admin.token,
        body: { email: `lead.${Math.random().toString(36).slice(2)}@example.com` },
      });
      expect(response.statusCode, response.body).toBe(201);
      return response.body_json.lead.assigned_user_access_id as number | null;
    };
    expect(await lead()).toBeNull();
    await call(ctx.app, 'PUT', url(team.company.id, '/enabled'), { token: team.admin.token, body: { enabled: true } });
    expect([await lead(), await lead(), await lead()]).toEqual([a!.userAccessId, b!.userAccessId, a!.userAccessId]);
    const shown = await call(ctx.app, 'GET', url(team.company.id, `/${cycle.id}`), { token: team.admin.token });
    expect(shown.body_json.cycle.members.map((m: Json) => m.assigned_count)).toEqual([2, 1]);
  });
});
