import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leads } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam } from '../helpers/factories.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;
const leadsUrl = (team: Team) => `/api/v1/companies/${team.company.id}/leads`;

async function create(team: Team, body: Json = {}, token = team.admin.token) {
  const response = await call(ctx.app, 'POST', leadsUrl(team), {
    token,
    body: { email: `lead.${Math.random().toString(36).slice(2)}@example.com`, ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.body_json.lead as Json;
}

const patch = (team: Team, id: number, body: Json) =>
  call(ctx.app, 'PATCH', `${leadsUrl(team)}/${id}`, { token: team.admin.token, body });
const remove = (team: Team, id: number) =>
  call(ctx.app, 'DELETE', `${leadsUrl(team)}/${id}`, { token: team.admin.token });

const isTombstone = (item: Json) => !('company_id' in item);
/** The instant an item of a sync stands at: a lead's updated_at, a tombstone's deleted_at (the same instant). */
const stamp = (item: Json) => (isTombstone(item) ? item.deleted_at : item.updated_at) as string;

/** Every page of a sync, followed through next_cursor, as an integration would. */
async function sync(team: Team, params: Record<string, string>, token = team.admin.token, url = leadsUrl(team)) {
  const items: Json[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = new URLSearchParams({
      sort: 'updated_at',
      include_deleted: 'true',
      limit: '3',
      ...params,
      ...(cursor ? { cursor } : {}),
    });
    const response = await call(ctx.app, 'GET', `${url}?${query}`, { token });
    expect(response.statusCode, response.body).toBe(200);
    items.push(...response.body_json.leads);
    cursor = response.body_json.meta.next_cursor;
    pages++;
  } while (cursor && pages < 100);
  return items;
}

/** Applies a sync to a mirror: leads replace their copy, tombstones drop it. */
function apply(mirror: Map<number, Json>, items: Json[]) {
  for (const item of items) {
    if (isTombstone(item)) mirror.delete(item.id);
    else mirror.set(item.id, item);
  }
}

describe('mirroring a company with sort=updated_at, updated_since and include_deleted', () => {
  it('sees every creation, update and deletion exactly, in (updated_at, id) order, tombstones included', async () => {
    const team = await companyWithTeam(ctx);
    const first = [];
    for (let i = 0; i < 7; i++) first.push(await create(team, { first_name: `Lead ${i}`, external_id: `ext-${i}` }));
    await remove(team, first[6]!.id);

    const mirror = new Map<number, Json>();
    const initial = await sync(team, {});
    expect(initial.map((item) => item.id)).toEqual(first.map((lead) => lead.id));
    expect(initial.at(-1)).toEqual({ id: first[6]!.id, deleted_at: expect.any(String), external_id: 'ext-6' });
    apply(mirror, initial);
    const watermark = initial.map(stamp).sort().at(-1)!;

    // Changes after the first sync: two creations, two updates, two deletions (one of a new lead).
    const created = [await create(team, { first_name: 'New A' }), await create(team, { first_name: 'New B' })];
    expect((await patch(team, first[1]!.id, { city: 'Valencia' })).statusCode).toBe(200);
    expect((await patch(team, first[3]!.id, { first_name: 'Renamed' })).statusCode).toBe(200);
    expect((await remove(team, first[2]!.id)).statusCode).toBe(204);
    expect((await remove(team, created[1]!.id)).statusCode).toBe(204);

    const changes = await sync(team, { updated_since: watermark });
    // ≥ is inclusive: what stood exactly at the watermark is listed again, nothing older is.
    const atWatermark = initial.filter((item) => stamp(item) === watermark).map((item) => item.id);
    const changed = [created[0]!.id, first[1]!.id, first[3]!.id, first[2]!.id, created[1]!.id];
    expect(new Set(changes.map((item) => item.id))).toEqual(new Set([...changed, ...atWatermark]));
    const ordered = changes.map((item) => [stamp(item), item.id] as const);
    expect([...ordered].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]))).toEqual(ordered);
    const newTombstones = changes.filter((item) => isTombstone(item) && !atWatermark.includes(item.id));
    expect(newTombstones.map((item) => item.id)).toEqual([first[2]!.id, created[1]!.id]);
    apply(mirror, changes);

    // The mirror is the company: the same leads, each exactly as the list shows it now.
    const live = await sync(team, { include_deleted: 'false', limit: '100' });
    expect(live.some(isTombstone)).toBe(false);
    expect(new Map(live.map((lead) => [lead.id, lead]))).toEqual(mirror);
    expect(mirror.get(first[1]!.id)!.city).toBe('Valencia');
  });

  it('a soft delete moves updated_at, and the tombstone says when with that same instant', async () => {
    const team = await companyWithTeam(ctx);
    const lead = await create(team);
    await remove(team, lead.id);
    const [row] = await ctx.database.db.select().from(leads).where(eq(leads.id, lead.id));
    expect(row!.deletedAt).not.toBeNull();
    expect(row!.updatedAt.getTime()).toBe(row!.deletedAt!.getTime());
    expect(row!.updatedAt.getTime()).toBeGreaterThan(Date.parse(lead.updated_at));
    const items = await sync(team, { updated_since: row!.updatedAt.toISOString() });
    expect(items).toEqual([{ id: lead.id, deleted_at: row!.deletedAt!.toISOString(), external_id: null }]);
  });

  it('walks a descending order too, and counts tombstones with count=true', async () => {
    const team = await companyWithTeam(ctx);
    const made = [await create(team), await create(team), await create(team), await create(team)];
    await remove(team, made[1]!.id);
    const items = await sync(team, { sort: '-updated_at', limit: '2' });
    expect(items.map((item) => item.id)).toEqual([made[1]!.id, made[3]!.id, made[2]!.id, made[0]!.id]);
    const counted = await call(ctx.app, 'GET', `${leadsUrl(team)}?sort=updated_at&include_deleted=true&count=true`, {
      token: team.admin.token,
    });
    expect(counted.body_json.meta.total).toBe(4);
    const live = await call(ctx.app, 'GET', `${leadsUrl(team)}?count=true`, { token: team.admin.token });
    expect(live.body_json.meta.total).toBe(3);
  });

  it('the unassigned list takes the same parameters', async () => {
    const team = await companyWithTeam(ctx);
    const unassigned = await create(team);
    await create(team, { assigned_user_access_id: team.agent.userAccessId });
    await remove(team, unassigned.id);
    const items = await sync(team, {}, team.admin.token, `${leadsUrl(team)}/unassigned`);
    expect(items).toEqual([{ id: unassigned.id, deleted_at: expect.any(String), external_id: null }]);
  });
  it('answers JSON, with or without tombstones', async () => {
    const team = await companyWithTeam(ctx);
    await create(team);
    for (const query of ['', '?sort=updated_at&include_deleted=true']) {
      const page = await call(ctx.app, 'GET', `${leadsUrl(team)}${query}`, { token: team.admin.token });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('application/json; charset=utf-8');
    }
  });
});

describe('who sees which tombstones', () => {
  it("an agent sees tombstones of their own leads only; another company's caller sees none", async () => {
    const team = await companyWithTeam(ctx);
    const own = await create(team, {}, team.agent.token);
    const others = await create(team, { assigned_user_access_id: team.manager.userAccessId });
    await remove(team, own.id);
    await remove(team, others.id);

    const agentView = await sync(team, {}, team.agent.token);
    expect(agentView.map((item) => item.id)).toEqual([own.id]);
    const adminView = await sync(team, {});
    expect(adminView.map((item) => item.id)).toEqual([own.id, others.id]);

    const outsider = await call(ctx.app, 'GET', `${leadsUrl(team)}?sort=updated_at&include_deleted=true`, {
      token: team.outsider.token,
    });
    expect(outsider.statusCode).toBe(404);
    const theirs = await sync(team, {}, team.outsider.token, `/api/v1/companies/${team.otherCompany.id}/leads`);
    expect(theirs).toEqual([]);
  });
});

describe('validation', () => {
  it('refuses a bad updated_since, include_deleted or sort with 422 naming the parameter', async () => {
    const team = await companyWithTeam(ctx);
    const cases: [string, string][] = [
      ['updated_since=yesterday', 'updated_since'],
      ['updated_since=2026-02-30T00:00:00Z', 'updated_since'],
      ['updated_since=2026-01-01', 'updated_since'],
      ['updated_since=0000-01-01T00:00:00Z', 'updated_since'],
      ['include_deleted=maybe', 'include_deleted'],
      ['include_deleted=true', 'include_deleted'],
      ['include_deleted=true&sort=-created_at', 'include_deleted'],
      ['sort=updated', 'sort'],
    ];
    for (const [query, field] of cases) {
      const response = await call(ctx.app, 'GET', `${leadsUrl(team)}?${query}`, { token: team.admin.token });
      expect(response.statusCode, query).toBe(422);
      expect(
        response.body_json.errors?.map((e: Json) => e.field),
        query,
      ).toContain(field);
    }
  });

  it('an offset in updated_since is honoured; the filter is inclusive', async () => {
    const team = await companyWithTeam(ctx);
    const lead = await create(team);
    const at = new Date(lead.updated_at);
    const offset = `${new Date(at.getTime() + 2 * 3_600_000).toISOString().slice(0, 23)}+02:00`;
    for (const since of [lead.updated_at, offset]) {
      const query = new URLSearchParams({ updated_since: since, sort: 'updated_at' });
      const response = await call(ctx.app, 'GET', `${leadsUrl(team)}?${query}`, { token: team.admin.token });
      expect(
        response.body_json.leads.map((l: Json) => l.id),
        since,
      ).toEqual([lead.id]);
    }
    const later = new URLSearchParams({ updated_since: new Date(at.getTime() + 1).toISOString() });
    const none = await call(ctx.app, 'GET', `${leadsUrl(team)}?${later}`, { token: team.admin.token });
    expect(none.body_json.leads).toEqual([]);
  });
});

describe('the OpenAPI document', () => {
  it('lists updated_since and include_deleted, and tombstones as a kind of list item', async () => {
    const document = (await call(ctx.app, 'GET', '/openapi.json')).body_json;
    const list = document.paths['/api/v1/companies/{company_id}/leads'].get;
    const names = list.parameters.map((p: Json) => p.name);
    expect(names).toEqual(expect.arrayContaining(['updated_since', 'include_deleted', 'sort']));
    const item = list.responses['200'].content['application/json'].schema.properties.leads.items;
    expect(JSON.stringify(item)).toContain('#/components/schemas/LeadTombstone');
    expect(document.components.schemas.LeadTombstone.required).toContain('deleted_at');
  });
});
