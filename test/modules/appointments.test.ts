import { Writable } from 'node:stream';
import { eq } from 'drizzle-orm';
import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { users } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import {
  companyWithTeam,
  createCompany,
  createUser,
  grant,
  member,
  subscribe,
  uniqueEmail,
} from '../helpers/factories.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;

const HOUR = 3_600_000;

/** Whole hours from the top of the next hour of the test clock, as ISO strings. */
function at(hours: number): string {
  const base = Math.ceil(ctx.clock.now().getTime() / HOUR) * HOUR;
  return new Date(base + hours * HOUR).toISOString();
}
const slot = (fromHour: number, toHour: number) => ({ starts_at: at(fromHour), ends_at: at(toHour) });

async function createLead(team: Team, assignee: number | null, name = ['Ada', 'Lovelace'], companyId?: number) {
  const response = await call(ctx.app, 'POST', `/api/v1/companies/${companyId ?? team.company.id}/leads`, {
    token: team.admin.token,
    body: {
      first_name: name[0],
      last_name: name[1],
      email: uniqueEmail('lead'),
      ...(assignee === null ? {} : { assigned_user_access_id: assignee }),
    },
  });
  if (response.statusCode !== 201) throw new Error(`lead creation failed: ${response.body}`);
  return response.body_json.lead as Json;
}

const book = (token: string, companyId: number, leadId: number, body: Json) =>
  call(ctx.app, 'POST', `/api/v1/companies/${companyId}/leads/${leadId}/appointments`, { token, body });

async function booked(token: string, companyId: number, leadId: number, body: Json): Promise<Json> {
  const response = await book(token, companyId, leadId, body);
  if (response.statusCode !== 201) throw new Error(`booking failed: ${response.body}`);
  return response.body_json.appointment as Json;
}

const show = (token: string, id: number) => call(ctx.app, 'GET', `/api/v1/appointments/${id}`, { token });
const patch = (token: string, id: number, body: Json) =>
  call(ctx.app, 'PATCH', `/api/v1/appointments/${id}`, { token, body });
const cancel = (token: string, id: number) => call(ctx.app, 'DELETE', `/api/v1/appointments/${id}`, { token });
const list = (token: string, query = '') => call(ctx.app, 'GET', `/api/v1/appointments${query}`, { token });

/** A team whose agent has a lead assigned, and a second agent. */
async function setup() {
  const team = await companyWithTeam(ctx);
  const agent2 = await member(ctx, team.company.id, 'agent');
  const lead = await createLead(team, team.agent.userAccessId);
  return { team, agent2, lead, companyId: team.company.id as number };
}

describe('book an appointment', () => {
  it('books the lead’s assignee by default and answers the appointment JSON', async () => {
    const { team, lead, companyId } = await setup();
    const response = await book(team.admin.token, companyId, lead.id, {
      ...slot(1, 2),
      title: '  Demo  ',
      location: 'Office',
      notes: 'Bring the contract',
    });
    expect(response.statusCode).toBe(201);
    const { appointment } = response.body_json;
    expect(Object.keys(appointment)).toEqual([
      'id',
      'company_id',
      'lead',
      'user_access_id',
      'agent',
      'starts_at',
      'ends_at',
      'title',
      'location',
      'notes',
      'status',
      'created_at',
      'updated_at',
      'canceled_at',
    ]);
    expect(appointment).toMatchObject({
      company_id: companyId,
      lead: { id: lead.id, full_name: 'Ada Lovelace' },
      user_access_id: team.agent.userAccessId,
      agent: { user_id: team.agent.id, full_name: 'Test User' },
      starts_at: at(1),
      ends_at: at(2),
      title: 'Demo',
      location: 'Office',
      notes: 'Bring the contract',
      status: 'scheduled',
      canceled_at: null,
    });
  });

  it('lets managers book anyone of the company, and agents their own leads for themselves', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const byManager = await book(team.manager.token, companyId, lead.id, {
      ...slot(1, 2),
      user_access_id: agent2.userAccessId,
    });
    expect(byManager.statusCode).toBe(201);
    expect(byManager.body_json.appointment.user_access_id).toBe(agent2.userAccessId);

    const byAgent = await book(team.agent.token, companyId, lead.id, slot(3, 4));
    expect(byAgent.statusCode).toBe(201);
    expect(byAgent.body_json.appointment.user_access_id).toBe(team.agent.userAccessId);
    const explicit = await book(team.agent.token, companyId, lead.id, {
      ...slot(5, 6),
      user_access_id: team.agent.userAccessId,
    });
    expect(explicit.statusCode).toBe(201);
  });

  it('refuses agents booking for someone else (403) or on leads not theirs (404)', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const forOther = await book(team.agent.token, companyId, lead.id, {
      ...slot(1, 2),
      user_access_id: agent2.userAccessId,
    });
    expect(forOther.statusCode).toBe(403);
    expect((await book(agent2.token, companyId, lead.id, slot(1, 2))).statusCode).toBe(404);
  });

  it('answers 404 for unknown leads, other companies’ leads and outsiders', async () => {
    const { team, lead, companyId } = await setup();
    expect((await book(team.admin.token, companyId, 999_999_999, slot(1, 2))).statusCode).toBe(404);
    expect((await book(team.outsider.token, companyId, lead.id, slot(1, 2))).statusCode).toBe(404);
    // The lead id through the outsider's own company: not a lead of that company.
    expect((await book(team.outsider.token, team.otherCompany.id, lead.id, slot(1, 2))).statusCode).toBe(404);
    expect(
      (
        await call(ctx.app, 'POST', `/api/v1/companies/${companyId}/leads/${lead.id}/appointments`, {
          body: slot(1, 2),
        })
      ).statusCode,
    ).toBe(401);
  });

  it('needs someone to book: no assignee and no user_access_id → 422', async () => {
    const { team, companyId } = await setup();
    const unassigned = await createLead(team, null);
    const response = await book(team.admin.token, companyId, unassigned.id, slot(1, 2));
    expect(response.statusCode).toBe(422);
    expect(response.body_json.code).toBe('no_assignee');
    const withAgent = await book(team.admin.token, companyId, unassigned.id, {
      ...slot(1, 2),
      user_access_id: team.agent.userAccessId,
    });
    expect(withAgent.statusCode).toBe(201);
  });

  it('books only active members of this company (422)', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const foreign = await book(team.admin.token, companyId, lead.id, {
      ...slot(1, 2),
      user_access_id: (await member(ctx, team.otherCompany.id, 'agent')).userAccessId,
    });
    expect(foreign.statusCode).toBe(422);
    expect(foreign.body_json.errors[0].field).toBe('user_access_id');
    await ctx.database.db.update(users).set({ status: 'inactive' }).where(eq(users.id, agent2.id));
    const inactive = await book(team.admin.token, companyId, lead.id, {
      ...slot(1, 2),
      user_access_id: agent2.userAccessId,
    });
    expect(inactive.statusCode).toBe(422);
  });

  it('validates the time range: end after start, at most 24 hours, well-formed', async () => {
    const { team, lead, companyId } = await setup();
    const cases: [Json, string][] = [
      [slot(2, 1), 'ends_at'],
      [slot(2, 2), 'ends_at'],
      [slot(1, 26), 'ends_at'],
      [{ ends_at: at(2) }, 'starts_at'],
      [{ starts_at: 'tomorrow', ends_at: at(2) }, 'starts_at'],
      [{ ...slot(1, 2), color: 'red' }, 'color'],
      [{ ...slot(1, 2), title: 'x'.repeat(201) }, 'title'],
    ];
    for (const [body, field] of cases) {
      const response = await book(team.admin.token, companyId, lead.id, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(422);
      expect(response.body_json.errors.map((e: Json) => e.field)).toContain(field);
    }
    expect((await book(team.admin.token, companyId, lead.id, slot(1, 25))).statusCode).toBe(201);
  });
});

describe('no double booking', () => {
  it('refuses overlaps, allows back-to-back, other agents, and re-booking a canceled slot', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const first = await booked(team.admin.token, companyId, lead.id, slot(10, 12));
    for (const body of [
      slot(11, 13),
      slot(9, 11),
      slot(10, 12),
      { starts_at: at(10.5), ends_at: at(11) },
      slot(9, 13),
    ]) {
      const response = await book(team.admin.token, companyId, lead.id, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(422);
      expect(response.body_json.code).toBe('appointment_overlap');
    }
    expect((await book(team.admin.token, companyId, lead.id, slot(12, 13))).statusCode).toBe(201);
    expect((await book(team.admin.token, companyId, lead.id, slot(9, 10))).statusCode).toBe(201);
    const other = await book(team.admin.token, companyId, lead.id, {
      ...slot(10, 12),
      user_access_id: agent2.userAccessId,
    });
    expect(other.statusCode).toBe(201);

    expect((await cancel(team.admin.token, first.id)).statusCode).toBe(200);
    expect((await book(team.admin.token, companyId, lead.id, slot(10, 12))).statusCode).toBe(201);
  });

  it('lets exactly one of two concurrent overlapping bookings through', async () => {
    const { team, lead, companyId } = await setup();
    const responses = await Promise.all([
      book(team.admin.token, companyId, lead.id, slot(20, 22)),
      book(team.manager.token, companyId, lead.id, slot(21, 23)),
    ]);
    expect(responses.map((r) => r.statusCode).sort()).toEqual([201, 422]);
    expect(responses.find((r) => r.statusCode === 422)!.body_json.code).toBe('appointment_overlap');
  });
});

describe('show an appointment', () => {
  it('is visible to its agent and the company’s admins and managers, 404 for everyone else', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const appointment = await booked(team.admin.token, companyId, lead.id, slot(1, 2));
    for (const user of [team.agent, team.manager, team.admin]) {
      const response = await show(user.token, appointment.id);
      expect(response.statusCode).toBe(200);
      expect(response.body_json.appointment).toEqual(appointment);
    }
    expect((await show(agent2.token, appointment.id)).statusCode).toBe(404);
    expect((await show(team.outsider.token, appointment.id)).statusCode).toBe(404);
    expect((await show(team.admin.token, 999_999_999)).statusCode).toBe(404);
    expect((await call(ctx.app, 'GET', `/api/v1/appointments/${appointment.id}`)).statusCode).toBe(401);
  });
});

describe('change an appointment', () => {
  it('moves it, edits and clears its texts', async () => {
    const { team, lead, companyId } = await setup();
    const appointment = await booked(team.admin.token, companyId, lead.id, { ...slot(1, 2), title: 'Call' });
    const moved = await patch(team.agent.token, appointment.id, { ...slot(3, 5), location: 'Café', title: null });
    expect(moved.statusCode).toBe(200);
    expect(moved.body_json.appointment).toMatchObject({
      starts_at: at(3),
      ends_at: at(5),
      location: 'Café',
      title: null,
      user_access_id: team.agent.userAccessId,
    });
    const endOnly = await patch(team.agent.token, appointment.id, { ends_at: at(4) });
    expect(endOnly.body_json.appointment).toMatchObject({ starts_at: at(3), ends_at: at(4) });
    // Moving onto itself never counts as an overlap.
    expect((await patch(team.agent.token, appointment.id, slot(3, 4))).statusCode).toBe(200);
  });

  it('validates like booking: range, duration, overlap, empty body', async () => {
    const { team, lead, companyId } = await setup();
    const appointment = await booked(team.admin.token, companyId, lead.id, slot(1, 2));
    await booked(team.admin.token, companyId, lead.id, slot(5, 6));
    expect((await patch(team.admin.token, appointment.id, { ends_at: at(0) })).statusCode).toBe(422);
    expect((await patch(team.admin.token, appointment.id, { ends_at: at(30) })).statusCode).toBe(422);
    const overlap = await patch(team.admin.token, appointment.id, slot(4.5, 5.5));
    expect(overlap.statusCode).toBe(422);
    expect(overlap.body_json.code).toBe('appointment_overlap');
    expect((await patch(team.admin.token, appointment.id, {})).statusCode).toBe(422);
  });

  it('reassigns only by admins and managers, to active members of the company', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const appointment = await booked(team.admin.token, companyId, lead.id, slot(1, 2));
    const byAgent = await patch(team.agent.token, appointment.id, { user_access_id: agent2.userAccessId });
    expect(byAgent.statusCode).toBe(403);
    // Naming oneself is no reassignment.
    expect(
      (await patch(team.agent.token, appointment.id, { user_access_id: team.agent.userAccessId })).statusCode,
    ).toBe(200);
    const foreign = await member(ctx, team.otherCompany.id, 'agent');
    expect((await patch(team.manager.token, appointment.id, { user_access_id: foreign.userAccessId })).statusCode).toBe(
      422,
    );

    const moved = await patch(team.manager.token, appointment.id, { user_access_id: agent2.userAccessId });
    expect(moved.statusCode).toBe(200);
    expect(moved.body_json.appointment.agent.user_id).toBe(agent2.id);
    expect((await show(team.agent.token, appointment.id)).statusCode).toBe(404);
    expect((await show(agent2.token, appointment.id)).statusCode).toBe(200);
  });

  it('answers 404 to other agents and outsiders, 409 once canceled', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const appointment = await booked(team.admin.token, companyId, lead.id, slot(1, 2));
    expect((await patch(agent2.token, appointment.id, { title: 'Mine' })).statusCode).toBe(404);
    expect((await patch(team.outsider.token, appointment.id, { title: 'Mine' })).statusCode).toBe(404);
    await cancel(team.agent.token, appointment.id);
    const changed = await patch(team.admin.token, appointment.id, { title: 'Too late' });
    expect(changed.statusCode).toBe(409);
    expect(changed.body_json.code).toBe('appointment_canceled');
  });
});

describe('cancel an appointment', () => {
  it('cancels once and answers the same appointment when canceled again', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const appointment = await booked(team.admin.token, companyId, lead.id, slot(1, 2));
    expect((await cancel(agent2.token, appointment.id)).statusCode).toBe(404);
    expect((await cancel(team.outsider.token, appointment.id)).statusCode).toBe(404);
    const first = await cancel(team.agent.token, appointment.id);
    expect(first.statusCode).toBe(200);
    expect(first.body_json.appointment).toMatchObject({ status: 'canceled', canceled_at: expect.any(String) });
    const again = await cancel(team.manager.token, appointment.id);
    expect(again.statusCode).toBe(200);
    expect(again.body_json.appointment).toEqual(first.body_json.appointment);
  });
});

describe('list my appointments', () => {
  it('shows the caller’s own upcoming scheduled appointments, in start order, across companies', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const later = await booked(team.admin.token, companyId, lead.id, slot(30, 31));
    const sooner = await booked(team.admin.token, companyId, lead.id, slot(5, 6));
    const past = await booked(team.admin.token, companyId, lead.id, slot(-10, -9));
    const inProgress = await booked(team.admin.token, companyId, lead.id, {
      starts_at: new Date(ctx.clock.now().getTime() - HOUR).toISOString(),
      ends_at: at(0.5),
    });
    const canceled = await booked(team.admin.token, companyId, lead.id, slot(7, 8));
    await cancel(team.admin.token, canceled.id);
    await booked(team.admin.token, companyId, lead.id, { ...slot(5, 6), user_access_id: agent2.userAccessId });

    // The same agent in a second company.
    const owner = await createUser(ctx);
    const second = await createCompany(ctx, owner);
    await subscribe(ctx, second.id);
    const secondAccess = await grant(ctx, team.agent, second.id, 'agent');
    const secondLead = await createLead({ ...team, admin: owner }, secondAccess, ['Grace', 'Hopper'], second.id);
    const elsewhere = await booked(owner.token, second.id, secondLead.id, slot(6, 7));

    const response = await list(team.agent.token);
    expect(response.statusCode).toBe(200);
    expect(response.body_json.appointments.map((a: Json) => a.id)).toEqual([
      inProgress.id,
      sooner.id,
      elsewhere.id,
      later.id,
    ]);
    expect(response.body_json.meta).toEqual({ next_cursor: null, limit: 25 });

    const canceledOnly = await list(team.agent.token, '?status=canceled');
    expect(canceledOnly.body_json.appointments.map((a: Json) => a.id)).toEqual([canceled.id]);
    const all = await list(team.agent.token, `?status=all&from=${encodeURIComponent(at(-24))}&count=true`);
    expect(all.body_json.appointments.map((a: Json) => a.id)).toEqual([
      past.id,
      inProgress.id,
      sooner.id,
      elsewhere.id,
      canceled.id,
      later.id,
    ]);
    expect(all.body_json.meta.total).toBe(6);
  });

  it('filters by date range and validates it', async () => {
    const { team, lead, companyId } = await setup();
    const a = await booked(team.admin.token, companyId, lead.id, slot(48, 49));
    const b = await booked(team.admin.token, companyId, lead.id, slot(72, 73));
    await booked(team.admin.token, companyId, lead.id, slot(96, 97));
    const range = (from: string, to: string) =>
      list(team.agent.token, `?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);

    const window = await range(at(40), at(80));
    expect(window.body_json.appointments.map((x: Json) => x.id)).toEqual([a.id, b.id]);
    // Half-open at the end: an appointment starting exactly at `to` is not in it.
    expect((await range(at(40), at(72))).body_json.appointments.map((x: Json) => x.id)).toEqual([a.id]);

    const backwards = await range(at(80), at(40));
    expect(backwards.statusCode).toBe(422);
    expect(backwards.body_json.errors[0].field).toBe('to');
    expect((await range(at(0), at(367 * 24))).statusCode).toBe(422);
    expect((await list(team.agent.token, `?to=${encodeURIComponent(at(-1))}`)).statusCode).toBe(422);
    expect((await list(team.agent.token, '?from=yesterday')).statusCode).toBe(422);
    expect((await list(team.agent.token, '?status=done')).statusCode).toBe(422);
  });

  it('pages with a keyset cursor, without gaps or repeats', async () => {
    const { team, lead, companyId } = await setup();
    const ids: number[] = [];
    for (let hour = 1; hour <= 5; hour++)
      ids.push((await booked(team.admin.token, companyId, lead.id, slot(hour, hour + 1))).id);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await list(team.agent.token, query);
      expect(page.statusCode).toBe(200);
      seen.push(...page.body_json.appointments.map((a: Json) => a.id));
      cursor = page.body_json.meta.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect((await list(team.agent.token, '?cursor=bogus')).statusCode).toBe(422);
  });

  it('needs a signed-in user; managers see only their own here', async () => {
    const { team, lead, companyId } = await setup();
    await booked(team.admin.token, companyId, lead.id, slot(1, 2));
    expect((await list(team.manager.token)).body_json.appointments).toEqual([]);
    expect((await call(ctx.app, 'GET', '/api/v1/appointments')).statusCode).toBe(401);
  });
});

describe('iCalendar feed', () => {
  const createFeed = (token: string, body?: Json) =>
    call(ctx.app, 'POST', '/api/v1/appointments/feed', { token, ...(body ? { body } : {}) });
  const fetchFeed = (token: string) =>
    call(ctx.app, 'GET', `/api/v1/appointments.ics?token=${encodeURIComponent(token)}`);

  function parse(text: string) {
    const calendar = new ICAL.Component(ICAL.parse(text));
    return calendar.getAllSubcomponents('vevent').map((component) => {
      const event = new ICAL.Event(component);
      return {
        uid: event.uid,
        summary: event.summary,
        location: event.location,
        description: event.description,
        start: event.startDate.toJSDate().toISOString(),
        end: event.endDate.toJSDate().toISOString(),
        status: component.getFirstPropertyValue('status'),
        lastModified: component.getFirstPropertyValue('last-modified') !== null,
      };
    });
  }

  it('serves the user’s appointments as iCalendar that parses back', async () => {
    const { team, agent2, lead, companyId } = await setup();
    const titled = await booked(team.admin.token, companyId, lead.id, {
      ...slot(2, 3),
      title: 'Demo; with, commas',
      location: 'Room 1',
      notes: 'Line one\nLine two',
    });
    const untitled = await booked(team.admin.token, companyId, lead.id, slot(5, 6));
    const canceled = await booked(team.admin.token, companyId, lead.id, slot(7, 8));
    await cancel(team.admin.token, canceled.id);
    await booked(team.admin.token, companyId, lead.id, { ...slot(-24 * 40, -24 * 40 + 1) });
    await booked(team.admin.token, companyId, lead.id, { ...slot(2, 3), user_access_id: agent2.userAccessId });

    const created = await createFeed(team.agent.token);
    expect(created.statusCode).toBe(201);
    const { feed } = created.body_json;
    expect(feed.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(feed.url).toBe(`http://leadsy.test/api/v1/appointments.ics?token=${feed.token}`);

    const response = await fetchFeed(feed.token);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/calendar; charset=utf-8');
    expect(response.headers['cache-control']).toBe('private, no-store');
    const events = parse(response.body);
    expect(events).toEqual([
      {
        uid: `appointment-${titled.id}@leadsy`,
        summary: 'Demo; with, commas',
        location: 'Room 1',
        description: expect.stringContaining('Line one\nLine two'),
        start: at(2),
        end: at(3),
        status: 'CONFIRMED',
        lastModified: true,
      },
      {
        uid: `appointment-${untitled.id}@leadsy`,
        summary: 'Appointment with Ada Lovelace',
        location: null,
        description: expect.stringContaining('Lead: Ada Lovelace'),
        start: at(5),
        end: at(6),
        status: 'CONFIRMED',
        lastModified: true,
      },
      {
        uid: `appointment-${canceled.id}@leadsy`,
        summary: 'Appointment with Ada Lovelace',
        location: null,
        description: expect.any(String),
        start: at(7),
        end: at(8),
        status: 'CANCELLED',
        lastModified: true,
      },
    ]);

    // A change keeps the UID, so calendar applications update the event in place.
    await patch(team.agent.token, untitled.id, slot(9, 10));
    const moved = parse((await fetchFeed(feed.token)).body).find((e) => e.uid === `appointment-${untitled.id}@leadsy`);
    expect(moved).toMatchObject({ start: at(9), end: at(10) });
  });

  it('stops working when revoked, for unknown tokens and for deactivated users', async () => {
    const { team } = await setup();
    const first = (await createFeed(team.agent.token)).body_json.feed;
    const second = (await createFeed(team.agent.token, {})).body_json.feed;
    expect(second.token).not.toBe(first.token);
    expect((await fetchFeed(first.token)).statusCode).toBe(200);

    const revoked = await call(ctx.app, 'DELETE', '/api/v1/appointments/feed', { token: team.agent.token });
    expect(revoked.statusCode).toBe(204);
    for (const token of [first.token, second.token]) {
      const response = await fetchFeed(token);
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    expect((await call(ctx.app, 'DELETE', '/api/v1/appointments/feed', { token: team.agent.token })).statusCode).toBe(
      204,
    );
    expect((await fetchFeed('A'.repeat(43))).statusCode).toBe(404);
    expect((await call(ctx.app, 'GET', '/api/v1/appointments.ics')).statusCode).toBe(422);

    const third = (await createFeed(team.manager.token)).body_json.feed;
    expect((await fetchFeed(third.token)).statusCode).toBe(200);
    await ctx.database.db.update(users).set({ status: 'inactive' }).where(eq(users.id, team.manager.id));
    expect((await fetchFeed(third.token)).statusCode).toBe(404);
  });

  it('needs a signed-in user to create or revoke, a bounded number of feeds, and no unknown fields', async () => {
    const { team } = await setup();
    expect((await call(ctx.app, 'POST', '/api/v1/appointments/feed')).statusCode).toBe(401);
    expect((await call(ctx.app, 'DELETE', '/api/v1/appointments/feed')).statusCode).toBe(401);
    expect((await createFeed(team.admin.token, { name: 'phone' })).statusCode).toBe(422);
    for (let i = 0; i < 10; i++) expect((await createFeed(team.admin.token)).statusCode).toBe(201);
    const tooMany = await createFeed(team.admin.token);
    expect(tooMany.statusCode).toBe(422);
    expect(tooMany.body_json.code).toBe('too_many_feeds');
  });

  it('keeps the token out of the request log', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logged = await buildApp({
      config: ctx.config,
      database: ctx.database,
      clock: ctx.clock,
      logger: { level: 'info', stream } as { level: string },
    });
    try {
      const { team } = await setup();
      const feed = (await call(logged, 'POST', '/api/v1/appointments/feed', { token: team.agent.token })).body_json
        .feed;
      expect((await call(logged, 'GET', `/api/v1/appointments.ics?token=${feed.token}`)).statusCode).toBe(200);
      expect((await call(logged, 'GET', '/api/v1/appointments.ics?token=unknown-token-0123456789')).statusCode).toBe(
        404,
      );
      expect(lines.some((line) => line.includes('/api/v1/appointments/feed'))).toBe(true);
      expect(lines.join('\n')).not.toContain(feed.token);
      expect(lines.join('\n')).not.toContain('unknown-token-0123456789');
    } finally {
      await logged.close();
    }
  });
});
