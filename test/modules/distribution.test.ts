import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  companies,
  cycleMembers,
  cycles,
  sources,
  sourceUserAccesses,
  territories,
  territoryMembers,
  users,
} from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, member } from '../helpers/factories.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;

async function setup(agents: number, enabled = true) {
  const team = await companyWithTeam(ctx);
  await ctx.database.db
    .update(companies)
    .set({ cyclesEnabled: enabled, country: 'ES' })
    .where(eq(companies.id, team.company.id));
  const members = [];
  for (let i = 0; i < agents; i++) members.push(await member(ctx, team.company.id, 'agent'));
  return { team, members };
}

async function cycle(
  team: Team,
  accessIds: number[],
  options: { weights?: number[]; sourceId?: number; isDefault?: boolean } = {},
) {
  const [row] = await ctx.database.db
    .insert(cycles)
    .values({
      companyId: team.company.id,
      name: 'Cycle',
      sourceId: options.sourceId,
      isDefault: options.isDefault ?? false,
    })
    .returning();
  await ctx.database.db.insert(cycleMembers).values(
    accessIds.map((userAccessId, position) => ({
      cycleId: row!.id,
      companyId: team.company.id,
      userAccessId,
      position,
      weight: options.weights?.[position] ?? 1,
    })),
  );
  return row!.id;
}

async function territory(
  team: Team,
  accessIds: number[],
  where: { country?: string; regions?: string[]; postalCodes?: string[] },
) {
  const [row] = await ctx.database.db
    .insert(territories)
    .values({ companyId: team.company.id, name: 'Territory', ...where })
    .returning();
  await ctx.database.db.insert(territoryMembers).values(
    accessIds.map((userAccessId, position) => ({
      territoryId: row!.id,
      companyId: team.company.id,
      userAccessId,
      position,
    })),
  );
  return row!.id;
}

async function source(team: Team, accessIds: number[] = []) {
  const [row] = await ctx.database.db
    .insert(sources)
    .values({ companyId: team.company.id, name: `Source ${Math.random()}`, priority: 1 })
    .returning();
  if (accessIds.length) {
    await ctx.database.db
      .insert(sourceUserAccesses)
      .values(accessIds.map((userAccessId) => ({ companyId: team.company.id, sourceId: row!.id, userAccessId })));
  }
  return row!.id;
}

const create = (team: Team, body: Json = {}) =>
  call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/leads`, {
    token: team.admin.token,
    body: { email: `lead.${Math.random().toString(36).slice(2)}@x.co`, ...body },
  });

const assignee = async (team: Team, body: Json = {}) => {
  const response = await create(team, body);
  expect(response.statusCode, response.body).toBe(201);
  return response.body_json.lead.assigned_user_access_id as number | null;
};

function counts(ids: (number | null)[]) {
  const result = new Map<number | null, number>();
  for (const id of ids) result.set(id, (result.get(id) ?? 0) + 1);
  return result;
}

describe('fair rotation', () => {
  it('gives each of N members exactly k of k·N concurrent creations (200 at once)', async () => {
    const { team, members } = await setup(8);
    await cycle(
      team,
      members.map((m) => m.userAccessId),
      { isDefault: true },
    );
    const responses = await Promise.all(Array.from({ length: 200 }, () => create(team)));
    expect(responses.every((r) => r.statusCode === 201)).toBe(true);
    const byMember = counts(responses.map((r) => r.body_json.lead.assigned_user_access_id));
    expect([...byMember.keys()].sort()).toEqual(members.map((m) => m.userAccessId).sort());
    expect([...byMember.values()]).toEqual(Array(8).fill(25));
  });

  it('is strict round robin: nobody twice in a row while others wait', async () => {
    const { team, members } = await setup(3);
    const ids = members.map((m) => m.userAccessId);
    await cycle(team, ids, { isDefault: true });
    const sequence = [];
    for (let i = 0; i < 7; i++) sequence.push(await assignee(team));
    expect(sequence).toEqual([ids[0], ids[1], ids[2], ids[0], ids[1], ids[2], ids[0]]);
  });

  it('gives weighted members proportional shares in a smooth interleaving', async () => {
    const { team, members } = await setup(2);
    const [a, b] = members.map((m) => m.userAccessId);
    await cycle(team, [a!, b!], { isDefault: true, weights: [3, 1] });
    const sequence = [];
    for (let i = 0; i < 8; i++) sequence.push(await assignee(team));
    expect(sequence).toEqual([a, a, b, a, a, a, b, a]);
  });

  it('skips removed accesses and deactivated users', async () => {
    const { team, members } = await setup(3);
    const ids = members.map((m) => m.userAccessId);
    await cycle(team, ids, { isDefault: true });
    await ctx.database.db.update(users).set({ status: 'inactive' }).where(eq(users.id, members[1]!.id));
    const removed = await call(ctx.app, 'DELETE', `/api/v1/users/${members[2]!.id}/user_access/${ids[2]}`, {
      token: team.admin.token,
    });
    expect(removed.statusCode).toBe(204);
    const sequence = [];
    for (let i = 0; i < 3; i++) sequence.push(await assignee(team));
    expect(sequence).toEqual([ids[0], ids[0], ids[0]]);
  });
});

describe('who gets a new lead', () => {
  it('follows postal code > region > country > source > default, and records why', async () => {
    const { team, members } = await setup(7);
    const [exact, prefix, region, country, sourceCycleMember, sourceMember, fallback] = members.map(
      (m) => m.userAccessId,
    );
    await territory(team, [exact!], { postalCodes: ['28001'] });
    await territory(team, [prefix!], { postalCodes: ['28*'] });
    await territory(team, [region!], { regions: ['Cataluña'] });
    await territory(team, [country!], { country: 'PT' });
    const withCycle = await source(team);
    await cycle(team, [sourceCycleMember!], { sourceId: withCycle });
    const withAccesses = await source(team, [sourceMember!]);
    await cycle(team, [fallback!], { isDefault: true });

    expect(await assignee(team, { postal_code: '28001', region: 'Cataluña' })).toBe(exact);
    expect(await assignee(team, { postal_code: '28 013' })).toBe(prefix);
    expect(await assignee(team, { region: 'cataluna', postal_code: '08001' })).toBe(region);
    expect(await assignee(team, { country: 'PT', phone: '+351 912 345 678' })).toBe(country);
    expect(await assignee(team, { source_id: withCycle })).toBe(sourceCycleMember);
    expect(await assignee(team, { source_id: withAccesses })).toBe(sourceMember);
    expect(await assignee(team, {})).toBe(fallback);

    const lead = (await create(team, { postal_code: '28001' })).body_json.lead;
    const activities = await call(ctx.app, 'GET', `/api/v1/companies/${team.company.id}/leads/${lead.id}/activities`, {
      token: team.admin.token,
    });
    const assigned = activities.body_json.activities.find((a: Json) => a.kind === 'assigned');
    expect(assigned.data).toMatchObject({
      to: exact,
      rule: 'territory',
      match: 'postal_code',
      rotation: { kind: 'territory' },
    });
  });

  it('keeps an explicit assignee, and leaves leads unassigned with cycles off', async () => {
    const { team, members } = await setup(2);
    await cycle(team, [members[0]!.userAccessId], { isDefault: true });
    expect(await assignee(team, { assigned_user_access_id: members[1]!.userAccessId })).toBe(members[1]!.userAccessId);
    await ctx.database.db.update(companies).set({ cyclesEnabled: false }).where(eq(companies.id, team.company.id));
    expect(await assignee(team)).toBeNull();
  });
});

describe('reassignment', () => {
  it('redistributes a removed person’s open leads by the rules, or unassigns them with cycles off', async () => {
    const { team, members } = await setup(3);
    const [a, b, c] = members.map((m) => m.userAccessId);
    await cycle(team, [a!, b!, c!], { isDefault: true });
    const leads = [];
    for (let i = 0; i < 6; i++) leads.push((await create(team)).body_json.lead);
    const ofA = leads.filter((l) => l.assigned_user_access_id === a).map((l) => l.id);
    expect(ofA).toHaveLength(2);
    const removed = await call(ctx.app, 'DELETE', `/api/v1/users/${members[0]!.id}/user_access/${a}`, {
      token: team.admin.token,
    });
    expect(removed.statusCode).toBe(204);
    for (const id of ofA) {
      const lead = (
        await call(ctx.app, 'GET', `/api/v1/companies/${team.company.id}/leads/${id}`, { token: team.admin.token })
      ).body_json.lead;
      expect([b, c]).toContain(lead.assigned_user_access_id);
      const activities = await call(ctx.app, 'GET', `/api/v1/companies/${team.company.id}/leads/${id}/activities`, {
        token: team.admin.token,
      });
      expect(activities.body_json.activities.at(-1).data).toMatchObject({ from: a, reason: 'access_removed' });
    }

    await ctx.database.db.update(companies).set({ cyclesEnabled: false }).where(eq(companies.id, team.company.id));
    const ofB = (
      await call(ctx.app, 'GET', `/api/v1/companies/${team.company.id}/leads?assigned_user_access_id=${b}`, {
        token: team.admin.token,
      })
    ).body_json.leads;
    await call(ctx.app, 'DELETE', `/api/v1/users/${members[1]!.id}/user_access/${b}`, { token: team.admin.token });
    for (const lead of ofB) {
      const after = (
        await call(ctx.app, 'GET', `/api/v1/companies/${team.company.id}/leads/${lead.id}`, { token: team.admin.token })
      ).body_json.lead;
      expect(after.assigned_user_access_id).toBeNull();
    }
  });
});
