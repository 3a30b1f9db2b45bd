import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, type TestContext } from '../helpers/app.ts';
import { accessId, createCompany, createUser, PASSWORD, uniqueEmail } from '../helpers/factories.ts';
import { servedDocument } from '../helpers/openapi.ts';
import { BODIES, type Fixtures, fixtures, listOperations, requestFor, type Team } from '../helpers/route-fixtures.ts';

/**
 * API.md "Created resources": every route that answers 201 sets `Location`, and a GET of it answers 200. Driven by
 * the route table (the OpenAPI document generated from every route): a route declaring 201 is called as a caller
 * allowed to create (company A's admin, or the fixture user on /users/{user_id}/… routes) with the shared fixtures
 * and bodies, so that a new 201 route joins this check without a line here, unless it needs a caller of its own.
 */
let ctx: TestContext;
let team: Team;
let values: Fixtures;
beforeAll(async () => {
  ctx = await buildTestApp({ WEBHOOK_ALLOW_PRIVATE: 'true', PLAN_SELF_SERVICE: 'true' });
  ({ team, values } = await fixtures(ctx));
});
afterAll(() => ctx.close());

/** Who creates (`token`; none: a public route) and who then reads the Location (`reader`; none: no token). */
type Caller = { token?: string; reader?: () => Promise<string> | string };
type Setup = () => Promise<{ caller: Caller; body?: unknown; url?: string }>;

/** Bodies the shared fixtures leave to each matrix, and ones that must create something new here. */
const bodies = {
  ...BODIES,
  createCompany: () => ({ name: 'Located company' }),
  createUser: () => ({}),
  // The fixture agent is assigned to the source already.
  assignSourceUserAccess: () => ({ user_access_id: team.manager.userAccessId }),
};

/** Routes whose creation needs a caller or state of its own. */
const SETUPS: Record<string, Setup> = {
  // Sign-up: public; the new user reads their own profile.
  createUser: async () => {
    const email = uniqueEmail('location');
    return {
      caller: {
        reader: async () => {
          const login = await call(ctx.app, 'POST', '/api/v1/users/login', { body: { email, password: PASSWORD } });
          return login.body_json.token as string;
        },
      },
      body: { first_name: 'New', last_name: 'User', email, password: PASSWORD },
    };
  },
  // Accepting an invitation: its invitee, with an address of their own.
  acceptInvitation: async () => {
    const invitee = await createUser(ctx, { email: uniqueEmail('invitee'), emailVerifiedAt: new Date() });
    const invitation = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/invitations`, {
      token: team.admin.token,
      body: { email: invitee.email, access_id: await accessId(ctx, 'agent') },
    });
    expect(invitation.statusCode).toBe(201);
    return {
      caller: { token: invitee.token, reader: () => invitee.token },
      url: `/api/v1/invitations/${invitation.body_json.invitation.code}/accept`,
    };
  },
  // An access for someone the admin can see, in a company of the admin's without one for them yet.
  createUserAccess: async () => {
    const company = await createCompany(ctx, team.admin);
    return {
      caller: { token: team.admin.token, reader: () => team.admin.token },
      body: { company_id: company.id, access_id: await accessId(ctx, 'manager') },
    };
  },
  // The agent accepting a legal term for the first time.
  acceptLegalTerm: async () => ({
    caller: { token: team.agent.token, reader: () => team.agent.token },
  }),
  // The calendar feed: its URL carries its token, read without a bearer (as calendar applications do).
  createAppointmentFeed: async () => ({ caller: { token: team.agent.token } }),
};

describe('Location on 201', () => {
  it('every route declaring 201 answers with a Location that GETs 200', async () => {
    const operations = (await listOperations(ctx)).filter((operation) => operation.successes.includes(201));
    expect(operations.length).toBeGreaterThan(10);
    const document = await servedDocument(ctx.app);
    const failures: string[] = [];
    for (const operation of operations) {
      const documented = document.paths[operation.path][operation.method.toLowerCase()].responses['201'];
      if (!documented.headers?.location) failures.push(`${operation.operationId}: Location not in the document`);
      const request = await requestFor(ctx, operation, values, failures, { bodies });
      const setup = await SETUPS[operation.operationId]?.();
      const caller = setup?.caller ?? { token: team.admin.token, reader: () => team.admin.token };
      const response = await call(ctx.app, operation.method as 'POST', setup?.url ?? request.url, {
        ...(caller.token ? { token: caller.token } : {}),
        body: setup?.body ?? request.body,
        ...(request.headers ? { headers: request.headers } : {}),
      });
      if (response.statusCode !== 201) {
        failures.push(`${operation.operationId}: ${response.statusCode} ${response.body.slice(0, 200)}`);
        continue;
      }
      const location = response.headers.location;
      if (typeof location !== 'string') {
        failures.push(`${operation.operationId}: no Location`);
        continue;
      }
      const getToken = await caller.reader?.();
      const path = location.replace(/^https?:\/\/[^/]+/, '');
      const shown = await call(ctx.app, 'GET', path, getToken ? { token: getToken } : {});
      if (shown.statusCode !== 200) failures.push(`${operation.operationId}: GET ${location} → ${shown.statusCode}`);
    }
    expect(failures).toEqual([]);
  });

  it('the Location of a resource with a GET route of its own is that route', async () => {
    const lead = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/leads`, {
      token: team.admin.token,
      body: { email: 'located@example.com', assigned_user_access_id: team.agent.userAccessId },
    });
    expect(lead.headers.location).toBe(`/api/v1/companies/${team.company.id}/leads/${lead.body_json.lead.id}`);
    const appointment = await call(
      ctx.app,
      'POST',
      `/api/v1/companies/${team.company.id}/leads/${lead.body_json.lead.id}/appointments`,
      { token: team.admin.token, body: { starts_at: '2031-01-01T10:00:00Z', ends_at: '2031-01-01T11:00:00Z' } },
    );
    expect(appointment.statusCode).toBe(201);
    expect(appointment.headers.location).toBe(`/api/v1/appointments/${appointment.body_json.appointment.id}`);
    const company = await call(ctx.app, 'POST', '/api/v1/companies', {
      token: team.agent.token,
      body: { name: 'Located' },
    });
    expect(company.headers.location).toBe(`/api/v1/companies/${company.body_json.company.id}`);
    // Only 201s carry one.
    const shown = await call(ctx.app, 'GET', company.headers.location as string, { token: team.agent.token });
    expect(shown.headers.location).toBeUndefined();
  });
});
