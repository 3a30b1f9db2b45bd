import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createCompany, createUser, subscribe } from '../helpers/factories.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;
const leadsUrl = (team: Team) => `/api/v1/companies/${team.company.id}/leads`;
const create = (team: Team, body: Json, token = team.admin.token) =>
  call(ctx.app, 'POST', leadsUrl(team), { token, body });

async function teamIn(country = 'ES') {
  const team = await companyWithTeam(ctx);
  await call(ctx.app, 'PATCH', `/api/v1/companies/${team.company.id}`, { token: team.admin.token, body: { country } });
  return team;
}

describe('create and normalize', () => {
  it('normalizes emails (case, spaces) and phones (national and international formats) to E.164', async () => {
    const team = await teamIn('ES');
    const cases: [Json, string | null, string | null][] = [
      [{ email: '  Ana.Perez@Example.COM ' }, 'ana.perez@example.com', null],
      [{ phone: '612 34 56 78' }, null, '+34612345678'],
      [{ phone: '+34 612-345-678' }, null, '+34612345678'],
      [{ phone: '0034 612 345 678' }, null, '+34612345678'],
      [{ phone: '(212) 555-0123', country: 'us' }, null, '+12125550123'],
      [{ phone: '06 12 34 56 78', country: 'FR' }, null, '+33612345678'],
      [{ phone: '+44 20 7946 0958' }, null, '+442079460958'],
    ];
    for (const [body, email, phone] of cases) {
      const response = await create(team, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(201);
      expect(response.body_json.lead).toMatchObject({ email, phone, phone_raw: body.phone?.trim() ?? null });
    }
  });

  it('uses the first open stage by default and answers the full lead JSON', async () => {
    const team = await teamIn();
    const response = await create(team, {
      first_name: 'Ana',
      last_name: 'Pérez',
      email: 'ana@example.com',
      value: 1500.5,
      currency: 'EUR',
      external_id: 'crm-1',
      attributes: { utm_source: 'google', score: 7, vip: true },
    });
    expect(response.statusCode).toBe(201);
    const { lead } = response.body_json;
    expect(Object.keys(lead)).toEqual([
      'id',
      'company_id',
      'first_name',
      'last_name',
      'full_name',
      'email',
      'phone',
      'phone_raw',
      'country',
      'region',
      'city',
      'postal_code',
      'source',
      'campaign',
      'stage',
      'assigned_user_access_id',
      'assignee',
      'value',
      'currency',
      'external_id',
      'answers',
      'attributes',
      'created_at',
      'updated_at',
    ]);
    expect(lead).toMatchObject({
      company_id: team.company.id,
      full_name: 'Ana Pérez',
      stage: { code: 'new', kind: 'open' },
      value: 1500.5,
      external_id: 'crm-1',
      attributes: { utm_source: 'google', score: 7, vip: true },
    });
  });

  it('refuses bad input with every field listed, and needs an email or a phone', async () => {
    const team = await teamIn();
    const bad = await create(team, {
      email: 'not-an-email',
      phone: '12',
      country: 'ZZ',
      currency: 'XYZ',
      stage_id: 999_999,
      source_id: 999_999,
      assigned_user_access_id: team.outsider.id,
    });
    expect(bad.statusCode).toBe(422);
    const fields = bad.body_json.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(
      ['assigned_user_access_id', 'country', 'currency', 'email', 'phone', 'source_id', 'stage_id'].sort(),
    );
    const empty = await create(team, { first_name: 'Nobody' });
    expect(empty.statusCode).toBe(422);
    expect(empty.body_json.errors[0]).toMatchObject({ field: 'email', code: 'contact_required' });
    const unknown = await create(team, { email: 'a@b.co', color: 'red' });
    expect(unknown.statusCode).toBe(422);
    const tooMany = await create(team, {
      email: 'a@b.co',
      attributes: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])),
    });
    expect(tooMany.statusCode).toBe(422);
  });

  it('keeps external_id unique per company (409), but not across companies', async () => {
    const a = await teamIn();
    const b = await teamIn();
    expect((await create(a, { email: 'x@y.co', external_id: 'ext-1' })).statusCode).toBe(201);
    const again = await create(a, { email: 'z@y.co', external_id: 'ext-1' });
    expect(again.statusCode).toBe(409);
    expect(again.body_json.errors[0].field).toBe('external_id');
    expect((await create(b, { email: 'x@y.co', external_id: 'ext-1' })).statusCode).toBe(201);
  });

  it('assigns an agent’s own leads to the agent and refuses assigning others', async () => {
    const team = await teamIn();
    const own = await create(team, { email: 'mine@x.co' }, team.agent.token);
    expect(own.statusCode).toBe(201);
    expect(own.body_json.lead.assigned_user_access_id).toBe(team.agent.userAccessId);
    expect(own.body_json.lead.assignee).toMatchObject({ user_id: team.agent.id });
    const other = await create(
      team,
      { email: 'theirs@x.co', assigned_user_access_id: team.manager.userAccessId },
      team.agent.token,
    );
    expect(other.statusCode).toBe(403);
  });
});

describe('read, update, delete', () => {
  it('lets agents see and change only their own leads', async () => {
    const team = await teamIn();
    const mine = (await create(team, { email: 'mine@x.co' }, team.agent.token)).body_json.lead;
    const notMine = (await create(team, { email: 'other@x.co' })).body_json.lead;
    const list = await call(ctx.app, 'GET', leadsUrl(team), { token: team.agent.token });
    expect(list.body_json.leads.map((l: Json) => l.id)).toEqual([mine.id]);
    expect(
      (await call(ctx.app, 'GET', `${leadsUrl(team)}/${notMine.id}`, { token: team.agent.token })).statusCode,
    ).toBe(404);
    const patch = await call(ctx.app, 'PATCH', `${leadsUrl(team)}/${notMine.id}`, {
      token: team.agent.token,
      body: { first_name: 'X' },
    });
    expect(patch.statusCode).toBe(404);
    const ownPatch = await call(ctx.app, 'PATCH', `${leadsUrl(team)}/${mine.id}`, {
      token: team.agent.token,
      body: { first_name: 'Mine' },
    });
    expect(ownPatch.statusCode).toBe(200);
    const reassign = await call(ctx.app, 'PATCH', `${leadsUrl(team)}/${mine.id}`, {
      token: team.agent.token,
      body: { assigned_user_access_id: team.manager.userAccessId },
    });
    expect(reassign.statusCode).toBe(403);
    const managerList = await call(ctx.app, 'GET', `${leadsUrl(team)}?count=true`, { token: team.manager.token });
    expect(managerList.body_json.meta.total).toBe(2);
    const metrics = await call(ctx.app, 'GET', `${leadsUrl(team)}/metrics`, { token: team.agent.token });
    expect(metrics.body_json.metrics.find((m: Json) => m.stage.code === 'new').count).toBe(1);
    const deleteByAgent = await call(ctx.app, 'DELETE', `${leadsUrl(team)}/${mine.id}`, { token: team.agent.token });
    expect(deleteByAgent.statusCode).toBe(403);
  });

  it('updates with PUT and PATCH partially and records the activity timeline', async () => {
    const team = await teamIn();
    const lead = (await create(team, { email: 'a@x.co', first_name: 'A' })).body_json.lead;
    const stages = (await call(ctx.app, 'GET', '/api/v1/stages', { token: team.admin.token })).body_json.stages;
    const qualified = stages.find((s: Json) => s.code === 'qualified');
    const put = await call(ctx.app, 'PUT', `${leadsUrl(team)}/${lead.id}`, {
      token: team.admin.token,
      body: { stage_id: qualified.id },
    });
    expect(put.body_json.lead).toMatchObject({ first_name: 'A', email: 'a@x.co', stage: { code: 'qualified' } });
    const patch = await call(ctx.app, 'PATCH', `${leadsUrl(team)}/${lead.id}`, {
      token: team.admin.token,
      body: { assigned_user_access_id: team.agent.userAccessId, city: 'Madrid' },
    });
    expect(patch.body_json.lead).toMatchObject({ city: 'Madrid', assigned_user_access_id: team.agent.userAccessId });
    const clearBoth = await call(ctx.app, 'PATCH', `${leadsUrl(team)}/${lead.id}`, {
      token: team.admin.token,
      body: { email: null },
    });
    expect(clearBoth.statusCode).toBe(422);

    const activities = await call(ctx.app, 'GET', `${leadsUrl(team)}/${lead.id}/activities`, {
      token: team.admin.token,
    });
    const kinds = activities.body_json.activities.map((a: Json) => a.kind);
    expect(kinds).toEqual(['created', 'stage_changed', 'assigned', 'updated']);
    expect(activities.body_json.activities[2].data).toMatchObject({ to: team.agent.userAccessId, rule: 'manual' });
    expect(activities.body_json.activities[3].data.changes).toHaveProperty('city');
  });

  it('soft-deletes: the lead leaves lists and counts, and answers 404', async () => {
    const team = await teamIn();
    const lead = (await create(team, { email: 'gone@x.co' })).body_json.lead;
    expect(
      (await call(ctx.app, 'DELETE', `${leadsUrl(team)}/${lead.id}`, { token: team.manager.token })).statusCode,
    ).toBe(204);
    expect((await call(ctx.app, 'GET', `${leadsUrl(team)}/${lead.id}`, { token: team.admin.token })).statusCode).toBe(
      404,
    );
    const list = await call(ctx.app, 'GET', `${leadsUrl(team)}?count=true`, { token: team.admin.token });
    expect(list.body_json.meta.total).toBe(0);
    expect(
      (await call(ctx.app, 'DELETE', `${leadsUrl(team)}/${lead.id}`, { token: team.admin.token })).statusCode,
    ).toBe(404);
  });
});

describe('deleting a lead with appointments', () => {
  it('cancels its upcoming appointments and says so in the timeline', async () => {
    const team = await teamIn();
    const lead = (await create(team, { email: 'booked@x.co', assigned_user_access_id: team.agent.userAccessId }))
      .body_json.lead;
    const start = new Date(ctx.clock.now().getTime() + 86_400_000);
    const booked = await call(ctx.app, 'POST', `${leadsUrl(team)}/${lead.id}/appointments`, {
      token: team.admin.token,
      body: { starts_at: start.toISOString(), ends_at: new Date(start.getTime() + 3_600_000).toISOString() },
    });
    expect(booked.statusCode).toBe(201);
    expect(
      (await call(ctx.app, 'DELETE', `${leadsUrl(team)}/${lead.id}`, { token: team.admin.token })).statusCode,
    ).toBe(204);
    const appointment = await call(ctx.app, 'GET', `/api/v1/appointments/${booked.body_json.appointment.id}`, {
      token: team.admin.token,
    });
    expect(appointment.body_json.appointment.status).toBe('canceled');
    const activities = await ctx.database.db.execute<{ data: Json }>(
      sql`select data from lead_activities where lead_id = ${lead.id} and kind = 'deleted'`,
    );
    expect(activities.rows[0]?.data).toEqual({ canceled_appointments: [booked.body_json.appointment.id] });
  });
});

describe('lists', () => {
  it('filters, searches and sorts, with an index behind each', async () => {
    const team = await teamIn();
    const a = (await create(team, { first_name: 'Zoe', email: 'zoe@x.co' })).body_json.lead;
    const b = (
      await create(team, { first_name: 'Max', phone: '612000111', assigned_user_access_id: team.agent.userAccessId })
    ).body_json.lead;
    const ids = async (query: string) =>
      (await call(ctx.app, 'GET', `${leadsUrl(team)}?${query}`, { token: team.admin.token })).body_json.leads.map(
        (l: Json) => l.id,
      );
    expect(await ids('')).toEqual([b.id, a.id]);
    expect(await ids('sort=created_at')).toEqual([a.id, b.id]);
    expect(await ids('q=zoe')).toEqual([a.id]);
    expect(await ids('q=612000')).toEqual([b.id]);
    expect(await ids(`assigned_user_access_id=${team.agent.userAccessId}`)).toEqual([b.id]);
    expect(await ids('created_from=2000-01-01T00:00:00Z&created_to=2001-01-01T00:00:00Z')).toEqual([]);
    const unassigned = await call(ctx.app, 'GET', `${leadsUrl(team)}/unassigned`, { token: team.manager.token });
    expect(unassigned.body_json.leads.map((l: Json) => l.id)).toEqual([a.id]);
    expect((await call(ctx.app, 'GET', `${leadsUrl(team)}/unassigned`, { token: team.agent.token })).statusCode).toBe(
      403,
    );
    expect((await call(ctx.app, 'GET', `${leadsUrl(team)}?sort=name`, { token: team.admin.token })).statusCode).toBe(
      422,
    );
  });

  it('pages with no gaps or repeats while leads are being inserted', async () => {
    const team = await teamIn();
    const initial: number[] = [];
    for (let i = 0; i < 12; i++) initial.push((await create(team, { email: `p${i}@x.co` })).body_json.lead.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const query: string = `limit=5${cursor ? `&cursor=${cursor}` : ''}`;
      const [page] = await Promise.all([
        call(ctx.app, 'GET', `${leadsUrl(team)}?${query}`, { token: team.admin.token }),
        create(team, { email: `new${round}@x.co` }),
        create(team, { email: `newer${round}@x.co` }),
      ]);
      seen.push(...page.body_json.leads.map((l: Json) => l.id));
      cursor = page.body_json.meta.next_cursor;
      round++;
    } while (cursor && round < 20);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of initial) expect(seen).toContain(id);
  });

  it('groups duplicates by normalized email and by phone', async () => {
    const team = await teamIn('ES');
    const one = (await create(team, { email: 'Dup@X.co', phone: '612 111 222' })).body_json.lead;
    const two = (await create(team, { email: ' dup@x.co ' })).body_json.lead;
    const three = (await create(team, { phone: '+34612111222' })).body_json.lead;
    await create(team, { email: 'single@x.co' });
    const response = await call(ctx.app, 'GET', `${leadsUrl(team)}/duplicates`, { token: team.manager.token });
    expect(response.statusCode).toBe(200);
    const groups = response.body_json.duplicates.map((g: Json) => [g.match, g.key, g.leads.map((l: Json) => l.id)]);
    expect(groups).toEqual([
      ['email', 'dup@x.co', [one.id, two.id]],
      ['phone', '+34612111222', [one.id, three.id]],
    ]);
    const phones = await call(ctx.app, 'GET', `${leadsUrl(team)}/duplicates?match=phone`, { token: team.admin.token });
    expect(phones.body_json.duplicates).toHaveLength(1);
    expect((await call(ctx.app, 'GET', `${leadsUrl(team)}/duplicates`, { token: team.agent.token })).statusCode).toBe(
      403,
    );
  });
});

describe('notes', () => {
  it('creates, lists and deletes notes with the author rule', async () => {
    const team = await teamIn();
    const lead = (await create(team, { email: 'n@x.co', assigned_user_access_id: team.agent.userAccessId })).body_json
      .lead;
    const notesUrl = `${leadsUrl(team)}/${lead.id}/notes`;
    const byAgent = await call(ctx.app, 'POST', notesUrl, {
      token: team.agent.token,
      body: { body: 'Called, no answer' },
    });
    expect(byAgent.statusCode).toBe(201);
    expect(byAgent.body_json.note).toMatchObject({ body: 'Called, no answer', author: { id: team.agent.id } });
    const byManager = await call(ctx.app, 'POST', notesUrl, { token: team.manager.token, body: { body: 'Follow up' } });
    expect(
      (await call(ctx.app, 'POST', notesUrl, { token: team.manager.token, body: { body: '  ' } })).statusCode,
    ).toBe(422);
    const list = await call(ctx.app, 'GET', notesUrl, { token: team.agent.token });
    expect(list.body_json.notes.map((n: Json) => n.body)).toEqual(['Follow up', 'Called, no answer']);
    const detail = await call(ctx.app, 'GET', `${leadsUrl(team)}/${lead.id}`, { token: team.agent.token });
    expect(detail.body_json.lead.notes).toHaveLength(2);

    const agentDeletesManagers = await call(ctx.app, 'DELETE', `${notesUrl}/${byManager.body_json.note.id}`, {
      token: team.agent.token,
    });
    expect(agentDeletesManagers.statusCode).toBe(403);
    expect(
      (await call(ctx.app, 'DELETE', `${notesUrl}/${byAgent.body_json.note.id}`, { token: team.agent.token }))
        .statusCode,
    ).toBe(204);
    expect(
      (await call(ctx.app, 'DELETE', `${notesUrl}/${byManager.body_json.note.id}`, { token: team.admin.token }))
        .statusCode,
    ).toBe(204);
    expect((await call(ctx.app, 'DELETE', `${notesUrl}/999999`, { token: team.admin.token })).statusCode).toBe(404);
  });
});

describe('plan limits', () => {
  it('refuses the lead that would cross max_leads_per_month, and changes nothing', async () => {
    const owner = await createUser(ctx);
    const company = await createCompany(ctx, owner);
    await subscribe(ctx, company.id, 'free');
    const { leadMonthlyUsage } = await import('../../src/db/schema/index.ts');
    const month = `${ctx.clock.now().toISOString().slice(0, 7)}-01`;
    await ctx.database.db.insert(leadMonthlyUsage).values({ companyId: company.id, month, count: 499 });
    const url = `/api/v1/companies/${company.id}/leads`;
    expect((await call(ctx.app, 'POST', url, { token: owner.token, body: { email: 'last@x.co' } })).statusCode).toBe(
      201,
    );
    const over = await call(ctx.app, 'POST', url, { token: owner.token, body: { email: 'over@x.co' } });
    expect(over.statusCode).toBe(422);
    expect(over.body_json.code).toBe('plan_limit_reached');
    const list = await call(ctx.app, 'GET', `${url}?count=true`, { token: owner.token });
    expect(list.body_json.meta.total).toBe(1);
  });
});

describe('answers', () => {
  it('validates answers against each question kind and its options, and requires required questions', async () => {
    const team = await teamIn();
    const question = async (body: Json) =>
      (await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/questions`, { token: team.admin.token, body }))
        .body_json.question;
    const budget = await question({ title: 'Budget', kind: 'number', required: true });
    const when = await question({ title: 'When', kind: 'date' });
    const product = await question({
      title: 'Product',
      kind: 'single_choice',
      options: [{ label: 'Solar panels' }, { label: 'Heat pump' }],
    });
    const extras = await question({
      title: 'Extras',
      kind: 'multiple_choice',
      options: [{ label: 'Battery' }, { label: 'Charger' }],
    });
    const missing = await create(team, { email: 'q@x.co' });
    expect(missing.statusCode).toBe(422);
    expect(missing.body_json.errors[0]).toMatchObject({ field: 'answers', code: 'required' });

    const bad = await create(team, {
      email: 'q@x.co',
      answers: [
        { question_id: budget.id, value: 'lots' },
        { question_id: when.id, value: '2026-02-30x' },
        { question_id: product.id, value: 'nuclear' },
        { question_id: extras.id, value: ['battery', 'battery'] },
        { question_id: 999_999, value: 'x' },
      ],
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body_json.errors.map((e: Json) => e.field).sort()).toEqual([
      'answers',
      'answers.0.value',
      'answers.1.value',
      'answers.2.value',
      'answers.3.value',
      'answers.4.question_id',
    ]);

    const good = await create(team, {
      email: 'q@x.co',
      answers: [
        { question_id: budget.id, value: 12000 },
        { question_id: product.id, value: product.options[1].value },
        { question_id: extras.id, value: [extras.options[0].value, extras.options[1].value] },
      ],
    });
    expect(good.statusCode).toBe(201);
    expect(good.body_json.lead.answers).toEqual([
      { question_id: budget.id, value: 12000 },
      { question_id: product.id, value: 'heat_pump' },
      { question_id: extras.id, value: ['battery', 'charger'] },
    ]);
    const cleared = await call(ctx.app, 'PATCH', `${leadsUrl(team)}/${good.body_json.lead.id}`, {
      token: team.admin.token,
      body: { answers: [{ question_id: extras.id, value: null }] },
    });
    expect(cleared.body_json.lead.answers.map((a: Json) => a.question_id)).toEqual([budget.id, product.id]);
  });
});
