import { and, asc, eq, gt } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, stages } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import {
  accessId,
  companyWithTeam,
  createCompany,
  createUser,
  roundRobinCompany,
  uniqueEmail,
} from '../helpers/factories.ts';
import { runJobs } from '../helpers/jobs.ts';
import { multipart } from '../helpers/multipart.ts';

/**
 * The outbox (API.md "Integrations", issue 14 "One event per change, from every path"): every change writes its
 * events in its own transaction, exactly one per kind of change, each with the resource exactly as its GET shows it
 * after the change; a change that fails writes none.
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;
type Stored = { type: string; data: Json; leadId: number | null; assigneeUserAccessId: number | null; seq: number };

/** The company's events after `seq` (default: all), in seq order, as stored. */
async function eventsOf(companyId: number, afterSeq = 0): Promise<Stored[]> {
  return (await ctx.database.db
    .select({
      type: events.type,
      data: events.data,
      leadId: events.leadId,
      assigneeUserAccessId: events.assigneeUserAccessId,
      seq: events.seq,
    })
    .from(events)
    .where(and(eq(events.companyId, companyId), gt(events.seq, afterSeq)))
    .orderBy(asc(events.seq))) as Stored[];
}

/** The company's last seq now: `since(mark)` then gives exactly what happened after. */
async function mark(companyId: number): Promise<number> {
  return (await eventsOf(companyId)).at(-1)?.seq ?? 0;
}

const typesOf = (list: Stored[]) => list.map((event) => event.type);

const leadsUrl = (t: Team, path = '') => `/api/v1/companies/${t.company.id}/leads${path}`;

/** The lead as GET shows it, without the detail's notes (the lead object of lists, creations and events). */
async function getLead(t: Team, leadId: number): Promise<Json> {
  const response = await call(ctx.app, 'GET', leadsUrl(t, `/${leadId}`), { token: t.admin.token });
  expect(response.statusCode, response.body).toBe(200);
  const { notes: _notes, ...lead } = response.body_json.lead as Json;
  return lead;
}

async function createLead(t: Team, body: Json = {}): Promise<Json> {
  const response = await call(ctx.app, 'POST', leadsUrl(t), {
    token: t.admin.token,
    body: { email: uniqueEmail('lead'), ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.body_json.lead as Json;
}

async function stageId(code: string): Promise<number> {
  const [row] = await ctx.database.db.select().from(stages).where(eq(stages.code, code));
  return row!.id;
}

describe('lead events', () => {
  it('a lead created by the API: lead.created, and lead.assigned when it has an assignee, with the GET body', async () => {
    const t = await companyWithTeam(ctx);
    const start = await mark(t.company.id);
    const unassigned = await createLead(t);
    const assigned = await createLead(t, { assigned_user_access_id: t.agent.userAccessId, first_name: 'Ana' });
    const list = await eventsOf(t.company.id, start);
    expect(typesOf(list)).toEqual(['lead.created', 'lead.created', 'lead.assigned']);
    expect(list[0]!.data).toEqual(await getLead(t, unassigned.id));
    expect(list[0]).toMatchObject({ leadId: unassigned.id, assigneeUserAccessId: null });
    expect(list[1]!.data).toEqual(await getLead(t, assigned.id));
    expect(list[2]!.data).toEqual(list[1]!.data);
    expect(list[2]).toMatchObject({ leadId: assigned.id, assigneeUserAccessId: t.agent.userAccessId });
    // The creation's answer is the same object, key for key and in the same order.
    expect(JSON.stringify(list[1]!.data)).toBe(JSON.stringify(assigned));
  });

  it('an update: lead.updated, plus lead.stage_changed and lead.assigned for what changed; none when nothing did', async () => {
    const t = await companyWithTeam(ctx);
    const lead = await createLead(t);
    const patch = async (body: Json) => {
      const before = await mark(t.company.id);
      const response = await call(ctx.app, 'PATCH', leadsUrl(t, `/${lead.id}`), { token: t.admin.token, body });
      expect(response.statusCode, response.body).toBe(200);
      const list = await eventsOf(t.company.id, before);
      const current = await getLead(t, lead.id);
      for (const event of list) expect(event.data).toEqual(current);
      return list;
    };
    expect(typesOf(await patch({ first_name: 'Changed' }))).toEqual(['lead.updated']);
    expect(typesOf(await patch({ stage_id: await stageId('contacted') }))).toEqual([
      'lead.updated',
      'lead.stage_changed',
    ]);
    const both = await patch({ stage_id: await stageId('qualified'), assigned_user_access_id: t.agent.userAccessId });
    expect(typesOf(both)).toEqual(['lead.updated', 'lead.stage_changed', 'lead.assigned']);
    expect(both[2]!.assigneeUserAccessId).toBe(t.agent.userAccessId);
    expect(typesOf(await patch({ first_name: 'Changed' }))).toEqual([]);
  });

  it('a change that fails writes no event (and takes no seq)', async () => {
    const t = await companyWithTeam(ctx);
    const first = await createLead(t, { external_id: 'ext-1' });
    const second = await createLead(t, { external_id: 'ext-2' });
    const before = await mark(t.company.id);
    const taken = await call(ctx.app, 'POST', leadsUrl(t), {
      token: t.admin.token,
      body: { email: uniqueEmail(), external_id: 'ext-1' },
    });
    expect(taken.statusCode).toBe(409);
    const clash = await call(ctx.app, 'PATCH', leadsUrl(t, `/${second.id}`), {
      token: t.admin.token,
      body: { external_id: 'ext-1' },
    });
    expect(clash.statusCode).toBe(409);
    expect(await eventsOf(t.company.id, before)).toEqual([]);
    // The next event takes the next seq: a rolled-back change leaves no gap.
    await call(ctx.app, 'PATCH', leadsUrl(t, `/${first.id}`), { token: t.admin.token, body: { first_name: 'X' } });
    expect((await eventsOf(t.company.id, before)).map((event) => event.seq)).toEqual([before + 1]);
  });

  it('a deletion: lead.deleted with the tombstone, and appointment.canceled for each upcoming appointment', async () => {
    const t = await companyWithTeam(ctx);
    const lead = await createLead(t, { assigned_user_access_id: t.agent.userAccessId, external_id: 'gone-1' });
    const booked = await call(ctx.app, 'POST', leadsUrl(t, `/${lead.id}/appointments`), {
      token: t.admin.token,
      body: { starts_at: '2031-01-01T10:00:00Z', ends_at: '2031-01-01T11:00:00Z' },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const before = await mark(t.company.id);
    expect((await call(ctx.app, 'DELETE', leadsUrl(t, `/${lead.id}`), { token: t.admin.token })).statusCode).toBe(204);
    const list = await eventsOf(t.company.id, before);
    expect(typesOf(list)).toEqual(['lead.deleted', 'appointment.canceled']);
    expect(Object.keys(list[0]!.data)).toEqual(['id', 'deleted_at', 'external_id']);
    expect(list[0]!.data).toMatchObject({ id: lead.id, external_id: 'gone-1' });
    expect(Date.parse(list[0]!.data.deleted_at)).not.toBeNaN();
    expect(list[0]!.assigneeUserAccessId).toBe(t.agent.userAccessId);
    const appointment = await call(ctx.app, 'GET', `/api/v1/appointments/${booked.body_json.appointment.id}`, {
      token: t.admin.token,
    });
    expect(appointment.body_json.appointment.status).toBe('canceled');
    expect(list[1]!.data).toEqual(appointment.body_json.appointment);
  });
});

describe('notes and appointments', () => {
  it('note.created with the note as the notes list shows it, about its lead and its assignee', async () => {
    const t = await companyWithTeam(ctx);
    const lead = await createLead(t, { assigned_user_access_id: t.agent.userAccessId });
    const before = await mark(t.company.id);
    const created = await call(ctx.app, 'POST', leadsUrl(t, `/${lead.id}/notes`), {
      token: t.agent.token,
      body: { body: 'Called, no answer' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const list = await eventsOf(t.company.id, before);
    expect(typesOf(list)).toEqual(['note.created']);
    const notes = await call(ctx.app, 'GET', leadsUrl(t, `/${lead.id}/notes`), { token: t.admin.token });
    expect(list[0]!.data).toEqual(notes.body_json.notes[0]);
    expect(list[0]).toMatchObject({ leadId: lead.id, assigneeUserAccessId: t.agent.userAccessId });
    // Deleting a note has no event of its own (the contract lists none).
    const mark2 = await mark(t.company.id);
    await call(ctx.app, 'DELETE', leadsUrl(t, `/${lead.id}/notes/${created.body_json.note.id}`), {
      token: t.admin.token,
    });
    expect(await eventsOf(t.company.id, mark2)).toEqual([]);
  });

  it('appointment.created, .updated (only when something changed) and .canceled (once), each with the GET body', async () => {
    const t = await companyWithTeam(ctx);
    const lead = await createLead(t, { assigned_user_access_id: t.agent.userAccessId });
    const before = await mark(t.company.id);
    const booked = await call(ctx.app, 'POST', leadsUrl(t, `/${lead.id}/appointments`), {
      token: t.agent.token,
      body: { starts_at: '2031-02-01T10:00:00Z', ends_at: '2031-02-01T11:00:00Z', title: 'Visit' },
    });
    expect(booked.statusCode, booked.body).toBe(201);
    const url = `/api/v1/appointments/${booked.body_json.appointment.id}`;
    const get = async () => (await call(ctx.app, 'GET', url, { token: t.admin.token })).body_json.appointment;
    const afterCreate = await get();
    const patch = (body: Json) => call(ctx.app, 'PATCH', url, { token: t.agent.token, body });
    expect((await patch({ title: 'Second visit' })).statusCode).toBe(200);
    const afterUpdate = await get();
    expect((await patch({ title: 'Second visit' })).statusCode).toBe(200);
    expect((await call(ctx.app, 'DELETE', url, { token: t.agent.token })).statusCode).toBe(200);
    expect((await call(ctx.app, 'DELETE', url, { token: t.agent.token })).statusCode).toBe(200);
    const list = await eventsOf(t.company.id, before);
    expect(typesOf(list)).toEqual(['appointment.created', 'appointment.updated', 'appointment.canceled']);
    expect(list[0]!.data).toEqual(afterCreate);
    expect(list[1]!.data).toEqual(afterUpdate);
    expect(list[2]!.data).toEqual(await get());
    expect(list.every((event) => event.assigneeUserAccessId === t.agent.userAccessId)).toBe(true);
  });
});

async function upload(t: Team, csv: string) {
  const body = await multipart({ file: { data: Buffer.from(csv), filename: 'leads.csv', type: 'text/csv' } });
  const response = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/imports`, {
    token: t.admin.token,
    ...body,
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.body_json.import_file.id as number;
}

describe('imports', () => {
  it('an import of N rows writes N lead.created (one per lead, the GET body), its notes, then import.completed', async () => {
    const t = await companyWithTeam(ctx);
    const before = await mark(t.company.id);
    const rows = Array.from(
      { length: 40 },
      (_, i) => `Lead${i},lead${i}.${t.company.id}@example.com,${i % 4 ? '' : 'A note'}`,
    );
    const importId = await upload(t, `first_name,email,note\n${rows.join('\n')}\n`);
    await runJobs(ctx);
    const list = await eventsOf(t.company.id, before);
    const created = list.filter((event) => event.type === 'lead.created');
    expect(created).toHaveLength(40);
    expect(new Set(created.map((event) => event.leadId)).size).toBe(40);
    for (const event of created.slice(0, 5)) expect(event.data).toEqual(await getLead(t, event.leadId!));
    const notes = list.filter((event) => event.type === 'note.created');
    expect(notes).toHaveLength(10);
    expect(notes[0]!.data).toMatchObject({ body: 'A note', lead_id: notes[0]!.leadId });
    expect(list.at(-1)!.type).toBe('import.completed');
    expect(list.filter((event) => event.type.startsWith('import.'))).toHaveLength(1);
    const shown = await call(ctx.app, 'GET', `/api/v1/companies/${t.company.id}/imports/${importId}`, {
      token: t.admin.token,
    });
    expect(list.at(-1)!.data).toEqual(shown.body_json.import_file);
    expect(list.at(-1)).toMatchObject({ leadId: null, assigneeUserAccessId: null });
  });

  it('an import row merged into an existing lead (on_duplicate=update): lead.updated with the lead after it', async () => {
    const t = await companyWithTeam(ctx);
    const email = uniqueEmail('merged');
    const lead = await createLead(t, { email, first_name: 'Old' });
    const body = await multipart({
      file: { data: Buffer.from(`email,first_name\n${email},Newer\n`), filename: 'leads.csv', type: 'text/csv' },
      on_duplicate: 'update',
    });
    const response = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/imports`, {
      token: t.admin.token,
      ...body,
    });
    expect(response.statusCode, response.body).toBe(202);
    const before = await mark(t.company.id);
    await runJobs(ctx);
    const list = await eventsOf(t.company.id, before);
    expect(typesOf(list)).toEqual(['lead.updated', 'import.completed']);
    expect(list[0]!.data).toEqual(await getLead(t, lead.id));
    expect(list[0]!.data.first_name).toBe('Newer');
  });

  it('an import that fails writes import.failed with the import as its GET shows it', async () => {
    const t = await companyWithTeam(ctx);
    const body = await multipart({
      file: { data: Buffer.from('a,b\n1,2\n'), filename: 'leads.csv', type: 'text/csv' },
      mapping: JSON.stringify({ a: 'shoe_size' }),
    });
    const response = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/imports`, {
      token: t.admin.token,
      ...body,
    });
    expect(response.statusCode, response.body).toBe(202);
    const before = await mark(t.company.id);
    await runJobs(ctx);
    const list = await eventsOf(t.company.id, before);
    expect(typesOf(list)).toEqual(['import.failed']);
    const shown = await call(
      ctx.app,
      'GET',
      `/api/v1/companies/${t.company.id}/imports/${response.body_json.import_file.id}`,
      { token: t.admin.token },
    );
    expect(shown.body_json.import_file.status).toBe('failed');
    expect(list[0]!.data).toEqual(shown.body_json.import_file);
  });

  it('imported leads given out by the rules: lead.created and lead.assigned for each', async () => {
    const { admin, company, agents } = await roundRobinCompany(ctx, 2);
    const t = { admin, company } as unknown as Team;
    const importId = await upload(t, 'email\na@example.com\nb@example.com\nc@example.com\n');
    await runJobs(ctx);
    const list = await eventsOf(company.id);
    const leadEvents = list.filter((event) => event.type.startsWith('lead.'));
    expect(typesOf(leadEvents)).toEqual([
      'lead.created',
      'lead.assigned',
      'lead.created',
      'lead.assigned',
      'lead.created',
      'lead.assigned',
    ]);
    const assignees = leadEvents.filter((e) => e.type === 'lead.assigned').map((e) => e.assigneeUserAccessId);
    expect(assignees).toEqual([agents[0]!.userAccessId, agents[1]!.userAccessId, agents[0]!.userAccessId]);
    expect(importId).toBeGreaterThan(0);
  });
});

describe('redistribution and accesses', () => {
  it("removing an agent's access: each won or lost lead's assignee cleared, each open lead's given out (lead.updated and lead.assigned), then user_access.deleted", async () => {
    const { admin, company, agents } = await roundRobinCompany(ctx, 2);
    const t = { admin, company } as unknown as Team;
    const won = await createLead(t, {
      assigned_user_access_id: agents[0]!.userAccessId,
      stage_id: await stageId('won'),
    });
    const lead = await createLead(t, { assigned_user_access_id: agents[0]!.userAccessId });
    const listed = await call(ctx.app, 'GET', `/api/v1/users/${agents[0]!.id}/user_access`, { token: admin.token });
    const access = (listed.body_json.user_accesses as Json[]).find((a) => a.company.id === company.id)!;
    const before = await mark(company.id);
    const removed = await call(ctx.app, 'DELETE', `/api/v1/users/${agents[0]!.id}/user_access/${access.id}`, {
      token: admin.token,
    });
    expect(removed.statusCode, removed.body).toBe(204);
    const list = await eventsOf(company.id, before);
    expect(typesOf(list)).toEqual([
      'lead.updated',
      'lead.assigned',
      'lead.updated',
      'lead.assigned',
      'user_access.deleted',
    ]);
    // The won lead keeps its stage and history but has no assignee any more: said, not silently cleared.
    expect(list[1]).toMatchObject({ leadId: won.id, assigneeUserAccessId: null });
    expect(list[1]!.data).toEqual(await getLead(t, won.id));
    expect(list[1]!.data.stage.code).toBe('won');
    const timeline = await call(ctx.app, 'GET', `/api/v1/companies/${company.id}/leads/${won.id}/activities`, {
      token: admin.token,
    });
    expect(timeline.body_json.activities.at(-1)).toMatchObject({
      kind: 'assigned',
      data: { from: agents[0]!.userAccessId, to: null, reason: 'access_removed' },
    });
    expect(list[3]).toMatchObject({ leadId: lead.id, assigneeUserAccessId: agents[1]!.userAccessId });
    expect(list[3]!.data).toEqual(await getLead(t, lead.id));
    expect(list[4]!.data).toEqual(access);
  });

  it('user_access.created from the user-accesses route, an invitation accepted, a sign-up with a code, a new company', async () => {
    const t = await companyWithTeam(ctx);
    const staff = await createUser(ctx, { superadmin: true });
    const person = await createUser(ctx);
    let before = await mark(t.company.id);
    const granted = await call(ctx.app, 'POST', `/api/v1/users/${person.id}/user_access`, {
      token: staff.token,
      body: { company_id: t.company.id, access_id: await accessId(ctx, 'agent') },
    });
    expect(granted.statusCode, granted.body).toBe(201);
    let list = await eventsOf(t.company.id, before);
    expect(typesOf(list)).toEqual(['user_access.created']);
    expect(list[0]!.data).toEqual(granted.body_json.user_access);

    const invite = async (email: string) => {
      const response = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/invitations`, {
        token: t.admin.token,
        body: { email, access_id: await accessId(ctx, 'agent') },
      });
      expect(response.statusCode, response.body).toBe(201);
      return response.body_json.invitation.code as string;
    };
    const invitee = await createUser(ctx);
    const code = await invite(invitee.email);
    before = await mark(t.company.id);
    const accepted = await call(ctx.app, 'POST', `/api/v1/invitations/${code}/accept`, { token: invitee.token });
    expect(accepted.statusCode, accepted.body).toBe(201);
    list = await eventsOf(t.company.id, before);
    expect(typesOf(list)).toEqual(['user_access.created']);
    expect(list[0]!.data).toEqual(accepted.body_json.user_access);

    const email = uniqueEmail('signup');
    const signupCode = await invite(email);
    before = await mark(t.company.id);
    const signup = await call(ctx.app, 'POST', '/api/v1/users', {
      body: {
        first_name: 'New',
        last_name: 'Person',
        email,
        password: 'a long enough password',
        invitation_code: signupCode,
      },
    });
    expect(signup.statusCode, signup.body).toBe(201);
    list = await eventsOf(t.company.id, before);
    expect(typesOf(list)).toEqual(['user_access.created']);
    expect(list[0]!.data).toMatchObject({ company: { id: t.company.id }, user: { email } });

    const founder = await createUser(ctx);
    const company = await createCompany(ctx, founder);
    list = await eventsOf(company.id);
    expect(typesOf(list)).toEqual(['user_access.created']);
    expect(list[0]!.data).toMatchObject({
      company: { id: company.id },
      access: { code: 'admin' },
      user: { id: founder.id },
    });
    const shown = await call(ctx.app, 'GET', `/api/v1/users/${founder.id}/user_access`, { token: founder.token });
    expect(list[0]!.data).toEqual(shown.body_json.user_accesses[0]);
  });

  it('a refused grant writes nothing', async () => {
    const t = await companyWithTeam(ctx);
    const staff = await createUser(ctx, { superadmin: true });
    const before = await mark(t.company.id);
    // Already a member: 422 inside the transaction, after the company lock.
    const again = await call(ctx.app, 'POST', `/api/v1/users/${t.agent.id}/user_access`, {
      token: staff.token,
      body: { company_id: t.company.id, access_id: await accessId(ctx, 'agent') },
    });
    expect(again.statusCode).toBe(422);
    expect(await eventsOf(t.company.id, before)).toEqual([]);
  });
});

describe('the OpenAPI document', () => {
  it('names every event payload, and documents the stream as text/event-stream of them', async () => {
    const document = (await call(ctx.app, 'GET', '/openapi.json')).body_json;
    const schemas = document.components.schemas as Json;
    for (const name of ['LeadCreatedEvent', 'LeadStageChangedEvent', 'LeadDeletedEvent', 'UserAccessDeletedEvent']) {
      expect(schemas[name], name).toBeDefined();
    }
    expect(schemas.LeadDeletedEvent.properties.data).toEqual({ $ref: '#/components/schemas/LeadTombstone' });
    expect(schemas.LeadTombstone.required).toEqual(['id', 'deleted_at', 'external_id']);
    expect(schemas.Event.oneOf).toHaveLength(14);
    const stream = document.paths['/api/v1/companies/{company_id}/events'].get;
    expect(stream.operationId).toBe('streamCompanyEvents');
    expect(stream.responses['200'].content['text/event-stream'].schema.$ref).toMatch(/Event$/);
    expect(stream.parameters.map((p: Json) => `${p.in}:${p.name}`).sort()).toEqual([
      'header:last-event-id',
      'path:company_id',
      'query:follow',
      'query:last_event_id',
    ]);
  });
});
