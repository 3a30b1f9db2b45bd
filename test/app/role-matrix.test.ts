import { and, asc, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { questions, sources, userAccesses, users } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam, createCompany, createUser, grant } from '../helpers/factories.ts';
import {
  BODIES,
  type BodyOf,
  type Fixtures,
  fixtures,
  KEY_REFUSED_COMPANY_ROUTES,
  listOperations,
  type Operation,
  type QueryOf,
  requestFor,
  roleKey,
  type Team,
  USER_ROUTES_FOR_KEYS,
} from '../helpers/route-fixtures.ts';

/**
 * Who may do what, as ../shared/API.md says (its roles table and the "who" column of every endpoint), checked on
 * every route of the route table (the OpenAPI document generated from every route) × the four callers of a
 * `companyWithTeam`: its admin (the creator), manager, agent, and an outsider (admin of another company).
 * Allowed → the route's 2xx; visible but not allowed → 403; invisible → 404.
 *
 * The expectations come from this file's own reading of the contract (ROLES, COMPANY_ROUTES, USER_ROUTES), never
 * from src/lib/permissions.ts: the point is to check the code against the contract. A non-public route with no
 * expectation fails the test, so a new route joins this matrix as it joins the tenant-isolation one.
 *
 * Each caller gets a team and fixtures of their own, so that one caller's success (a DELETE) cannot change another's
 * answer; within one caller's run, routes that destroy what others need run last (see `runOrder`).
 *
 * Every role runs twice: as the person, and as an API key with that access (`roleKey`: a key of the team's company;
 * the outsider's is an admin key of their own company). A key gets the role's answers on company routes, except
 * where the agent's "own" resources are concerned (nothing is assigned to a key: KEY_AGENT), and 403
 * `api_key_not_allowed` on every route of the signed-in user (USER_ROUTES) but the reference data it may read
 * (USER_ROUTES_FOR_KEYS), and on the routes that manage keys (KEY_REFUSED_COMPANY_ROUTES).
 */
type Role = 'admin' | 'manager' | 'agent' | 'outsider';
const ROLE_NAMES: Role[] = ['admin', 'manager', 'agent', 'outsider'];
type Caller = { role: Role; key: boolean; name: string };
const CALLERS: Caller[] = ROLE_NAMES.flatMap((role) => [
  { role, key: false, name: role },
  { role, key: true, name: `${role}'s key` },
]);
/** A status, or OK: the route's 2xx (its only declared one, else any 2xx). */
type Expected = number | typeof OK;
const OK = 'ok';

/** What a role may do inside a company, in API.md's words. */
type Capability =
  | 'company:read' // members: show the company, its subscription
  | 'company:administer' // admin: update the company, its avatar, its plan
  | 'company_users:read'
  | 'invitations:read'
  | 'invitations:write' // managers: agents only (see EXTRA_ROWS)
  | 'imports:read'
  | 'imports:write'
  | 'leads:own' // read, create, update the leads assigned to oneself
  | 'leads:all' // every lead: duplicates, unassigned, delete
  | 'notes:own' // notes of the leads one may read
  | 'notes:all' // delete anyone's note
  | 'appointments:own' // appointments of one's leads
  | 'sources:read'
  | 'sources:write'
  | 'campaigns:read'
  | 'campaigns:write'
  | 'questions:read'
  | 'questions:write'
  | 'cycles:read'
  | 'cycles:write'
  | 'territories:read'
  | 'territories:write'
  | 'integrations' // admin: API keys, webhooks
  | 'events'; // everyone: the event stream ("admin, manager (agents: events of their own leads)")

/** API.md's roles table. Admin: everything inside the company; an outsider sees nothing of it (404). */
const ROLES: Record<'manager' | 'agent', ReadonlySet<Capability>> = {
  // "read and update the leads assigned to them, their notes and appointments; read stages, sources, campaigns,
  // questions" (+ "members" routes: the company, its territories). Not cycles, company users, invitations, imports.
  agent: new Set<Capability>([
    'company:read',
    'leads:own',
    'notes:own',
    'appointments:own',
    'sources:read',
    'campaigns:read',
    'questions:read',
    'territories:read',
    'events',
  ]),
  // "all leads, notes, appointments, sources, campaigns, questions, cycles, territories, imports; invite agents;
  // read company users"
  manager: new Set<Capability>([
    'company:read',
    'company_users:read',
    'invitations:read',
    'invitations:write',
    'imports:read',
    'imports:write',
    'leads:own',
    'leads:all',
    'notes:own',
    'notes:all',
    'appointments:own',
    'sources:read',
    'sources:write',
    'campaigns:read',
    'campaigns:write',
    'questions:read',
    'questions:write',
    'cycles:read',
    'cycles:write',
    'territories:read',
    'territories:write',
    'events',
  ]),
};

/** Routes inside one company (in its path, or resolved from the resource): the capability API.md's "who" names. */
const COMPANY_ROUTES: Record<string, Capability> = {
  getCompany: 'company:read',
  updateCompany: 'company:administer',
  uploadCompanyAvatar: 'company:administer',
  deleteCompanyAvatar: 'company:administer',
  // API.md is silent on reading the subscription; the company JSON shows it to members.
  getCompanyMembership: 'company:read',
  attachMembership: 'company:administer',
  cancelMembership: 'company:administer',
  listCompanyUsers: 'company_users:read',
  listCompanyInvitations: 'invitations:read',
  createInvitation: 'invitations:write',
  deleteInvitation: 'invitations:write',
  createImport: 'imports:write',
  listImports: 'imports:read',
  importTemplate: 'imports:read',
  getImport: 'imports:read',
  importErrors: 'imports:read',
  cancelImport: 'imports:write',
  createLead: 'leads:own',
  listLeads: 'leads:own',
  leadMetrics: 'leads:own',
  getLead: 'leads:own', // the fixture lead is assigned to the agent
  updateLead: 'leads:own',
  patchLead: 'leads:own',
  listLeadActivities: 'leads:own',
  listDuplicateLeads: 'leads:all',
  listUnassignedLeads: 'leads:all',
  deleteLead: 'leads:all',
  createLeadNote: 'notes:own',
  listLeadNotes: 'notes:own',
  deleteLeadNote: 'notes:all', // the fixture note's author is the admin
  createAppointment: 'appointments:own',
  getAppointment: 'appointments:own', // the fixture appointment is the agent's
  updateAppointment: 'appointments:own',
  cancelAppointment: 'appointments:own',
  createSource: 'sources:write',
  listSources: 'sources:read',
  reorderSources: 'sources:write',
  updateSource: 'sources:write',
  deleteSource: 'sources:write',
  assignSourceUserAccess: 'sources:write',
  unassignSourceUserAccess: 'sources:write',
  createCampaign: 'campaigns:write',
  listCampaigns: 'campaigns:read',
  getCampaign: 'campaigns:read',
  updateCampaign: 'campaigns:write',
  deleteCampaign: 'campaigns:write',
  createQuestion: 'questions:write',
  listQuestions: 'questions:read',
  getQuestion: 'questions:read',
  listCampaignQuestions: 'questions:read',
  reorderQuestions: 'questions:write',
  updateQuestion: 'questions:write',
  deleteQuestion: 'questions:write',
  updateCampaignQuestionOptions: 'questions:write',
  setCyclesEnabled: 'cycles:write',
  createCycle: 'cycles:write',
  listCycles: 'cycles:read',
  getCycle: 'cycles:read',
  updateCycle: 'cycles:write',
  deleteCycle: 'cycles:write',
  createTerritories: 'territories:write',
  listTerritories: 'territories:read',
  getTerritory: 'territories:read',
  updateTerritory: 'territories:write',
  deleteTerritory: 'territories:write',
  createApiKey: 'integrations',
  listApiKeys: 'integrations',
  getApiKey: 'integrations',
  revokeApiKey: 'integrations',
  createWebhook: 'integrations',
  listWebhooks: 'integrations',
  getWebhook: 'integrations',
  updateWebhook: 'integrations',
  deleteWebhook: 'integrations',
  rotateWebhookSecret: 'integrations',
  listWebhookDeliveries: 'integrations',
  getWebhookDelivery: 'integrations',
  retryWebhookDelivery: 'integrations',
  pingWebhook: 'integrations',
  streamCompanyEvents: 'events',
};

/**
 * Where an agent key's answer differs from the agent's: the fixture lead (and its notes, activities, appointment)
 * is assigned to the agent, and nothing is assigned to a key, so to the key that lead does not exist.
 */
const KEY_AGENT: Record<string, Expected> = {
  getLead: 404,
  updateLead: 404,
  patchLead: 404,
  listLeadActivities: 404,
  createLeadNote: 404,
  listLeadNotes: 404,
  deleteLeadNote: 404,
  createAppointment: 404,
  getAppointment: 404,
  updateAppointment: 404,
  cancelAppointment: 404,
};

/** A signed-in user's route answers an API key so, before anything else is looked at. */
const KEY_REFUSED = 'api_key_not_allowed';

function companyExpectation(capability: Capability): Record<Role, Expected> {
  const allowed = (role: 'manager' | 'agent') => (ROLES[role].has(capability) ? OK : 403);
  return { admin: OK, manager: allowed('manager'), agent: allowed('agent'), outsider: 404 };
}

const EVERYONE: Record<Role, Expected> = { admin: OK, manager: OK, agent: OK, outsider: OK };
/** "self, superadmin" on the agent (user_id): colleagues see the agent but may not act as them; the outsider sees nothing. */
const SELF_ONLY: Record<Role, Expected> = { admin: 403, manager: 403, agent: OK, outsider: 404 };

/**
 * Routes of the signed-in user (policy `user`) and of users/{user_id}/…, where `user_id` is the team's agent: each
 * caller's status, from API.md's "who" column.
 */
const USER_ROUTES: Record<string, Record<Role, Expected>> = {
  listStages: EVERYONE,
  listAccesses: EVERYONE,
  getAccess: EVERYONE,
  validateJwt: EVERYONE,
  listUsers: EVERYONE, // each sees the users they may see
  createCompany: EVERYONE,
  listCompanies: EVERYONE,
  listAppointments: EVERYONE,
  createAppointmentFeed: EVERYONE,
  revokeAppointmentFeeds: EVERYONE,
  // Any user for their own address; the agent's is verified already (see matrixFixtures): nothing waits for proof.
  resendEmailVerification: { admin: OK, manager: OK, agent: 409, outsider: OK },
  // The agent's address: found by whoever can see the agent; the agent administers and manages nothing (403); the
  // outsider cannot see the agent (404, as an unknown address).
  findUserByEmail: { admin: 200, manager: 200, agent: 403, outsider: 404 },
  // The agent's address: the owner only.
  listInvitationsByEmail: { admin: 403, manager: 403, agent: 200, outsider: 403 },
  // Someone else's invitation code: 404 for every non-addressee.
  acceptInvitation: { admin: 404, manager: 404, agent: 404, outsider: 404 },
  getUser: { admin: 200, manager: 200, agent: 200, outsider: 404 },
  updateUser: SELF_ONLY,
  patchUser: SELF_ONLY,
  acceptLegalTerm: SELF_ONLY,
  completeOnboarding: SELF_ONLY,
  uploadUserAvatar: SELF_ONLY,
  deleteUserAvatar: SELF_ONLY,
  listUserProviders: SELF_ONLY,
  // Self, and admins of the agent's companies (each sees its own companies' rows: the manager sees none of them).
  listUserAccesses: { admin: 200, manager: 200, agent: 200, outsider: 404 },
  // A manager access for the agent in a child company: admin of it (by inheritance) → 201; a member but not admin →
  // 403; a company (and a user) the caller cannot see → 404.
  createUserAccess: { admin: 201, manager: 403, agent: 403, outsider: 404 },
  updateUserAccess: { admin: 200, manager: 403, agent: 403, outsider: 404 },
  // The agent's own access: an admin may remove it, and the agent may leave.
  deleteUserAccess: { admin: 204, manager: 403, agent: 204, outsider: 404 },
};

/** Bodies for this matrix where the tenant matrix's would be refused for another reason than the caller's role. */
const MATRIX_BODIES: Record<string, BodyOf> = {
  ...BODIES,
  createCompany: () => ({ name: 'Another company' }),
  // Reorders list every live row of the company (createSource and createQuestion ran before them).
  reorderSources: async (f, ctx) => ({ source_ids: await liveIds(ctx, sources, Number(f.company_id)) }),
  reorderQuestions: async (f, ctx) => ({ question_ids: await liveIds(ctx, questions, Number(f.company_id)) }),
  // Keeps the campaign's question (its options are set next) and leaves questions optional (leads are created next).
  updateCampaign: (f) => ({ name: 'Changed', question_ids: [f.question_id] }),
  updateQuestion: () => ({ title: 'Changed' }),
  createUserAccess: async (f, ctx) => ({ company_id: f.child_company_id, access_id: await accessId(ctx, 'manager') }),
  // Keeps the agent an agent: the rest of the caller's run needs them as they were.
  updateUserAccess: async (_f, ctx) => ({ access_id: await accessId(ctx, 'agent') }),
  // The agent is already assigned to the fixture source.
  assignSourceUserAccess: (f) => ({ user_access_id: f.manager_user_access_id }),
  // Moving to the free plan stays with the admin (paid plans may need a payment step).
  attachMembership: (f) => ({ membership_id: f.free_membership_id }),
};

const QUERIES: Record<string, QueryOf> = {
  // A catch-up read, so the stream ends: live, it would stay open.
  streamCompanyEvents: () => ({ follow: 'false' }),
  findUserByEmail: (f) => ({ email: String(f.agent_email) }),
  listInvitationsByEmail: (f) => ({ email: String(f.agent_email) }),
};

/** Routes that change what others need, run in this order after every other route of a caller's run. */
const LAST = ['cancelMembership', 'deleteUserAccess'];

/** Routes run on a team of their own: the free plan's 3 seats are full once a caller's run has invited someone. */
const ON_A_FRESH_TEAM = new Set(['attachMembership']);

async function liveIds(ctx: TestContext, table: typeof sources | typeof questions, companyId: number) {
  const rows = await ctx.database.db
    .select({ id: table.id })
    .from(table)
    .where(and(eq(table.companyId, companyId), isNull(table.deletedAt)))
    .orderBy(asc(table.priority), asc(table.id));
  return rows.map((row) => row.id);
}

/** Everything but deletions first (in document order), then deletions (children before parents), then LAST. */
function runOrder(operations: Operation[]): Operation[] {
  const last = (operation: Operation) => LAST.indexOf(operation.operationId);
  const rest = operations.filter((operation) => last(operation) < 0);
  return [
    ...rest.filter((operation) => operation.method !== 'DELETE'),
    ...rest.filter((operation) => operation.method === 'DELETE').reverse(),
    ...operations.filter((operation) => last(operation) >= 0).sort((a, b) => last(a) - last(b)),
  ];
}

function expectationOf(operation: Operation): Record<Role, Expected> | undefined {
  const capability = COMPANY_ROUTES[operation.operationId];
  return capability ? companyExpectation(capability) : USER_ROUTES[operation.operationId];
}

/** What `caller` gets: the role's answer, or a key's (see KEY_AGENT and KEY_REFUSED). */
function expectedFor(operation: Operation, caller: Caller): Expected | typeof KEY_REFUSED | undefined {
  const expectation = expectationOf(operation);
  if (!expectation || !caller.key) return expectation?.[caller.role];
  const id = operation.operationId;
  if (KEY_REFUSED_COMPANY_ROUTES.has(id) || (!COMPANY_ROUTES[id] && !USER_ROUTES_FOR_KEYS.has(id))) return KEY_REFUSED;
  return (caller.role === 'agent' ? KEY_AGENT[operation.operationId] : undefined) ?? expectation[caller.role];
}

/** The token `caller` sends for `team`: the person's JWT, or a key made once per team and role. */
function tokenSource(ctx: TestContext) {
  const keys = new Map<Team, Promise<string>>();
  return (team: Team, caller: Caller): Promise<string> => {
    if (!caller.key) return Promise.resolve(team[caller.role].token);
    let key = keys.get(team);
    if (!key) {
      key = roleKey(ctx, team, caller.role);
      keys.set(team, key);
    }
    return key;
  };
}

/** The expected status as written in a report: the only 2xx the route declares, or "2xx". */
function resolve(expected: Expected | typeof KEY_REFUSED, operation: Operation): string {
  if (expected === KEY_REFUSED) return `403 ${KEY_REFUSED}`;
  if (expected !== OK) return String(expected);
  return operation.successes.length === 1 ? String(operation.successes[0]) : '2xx';
}

const answered = (response: { statusCode: number; body_json: Json }, expected: string) => {
  const status = response.statusCode;
  if (expected === `403 ${KEY_REFUSED}` && status === 403) return `403 ${response.body_json.code}`;
  return expected === '2xx' && status >= 200 && status < 300 ? '2xx' : String(status);
};

/** A caller's own team and fixtures, with what this matrix needs beyond the tenant matrix's. */
async function matrixFixtures(ctx: TestContext): Promise<{ team: Team; values: Fixtures }> {
  const { team, values } = await fixtures(ctx);
  const child = await createCompany(ctx, team.admin, { parent_company_id: team.company.id });
  const plans = (await call(ctx.app, 'GET', '/api/v1/memberships')).body_json.memberships as Json[];
  // Invitations are listed by email to their verified owner only: the agent has proven their mailbox.
  await ctx.database.db.update(users).set({ emailVerifiedAt: ctx.clock.now() }).where(eq(users.id, team.agent.id));
  return {
    team,
    values: {
      ...values,
      child_company_id: child.id,
      access_id: await accessId(ctx, 'agent'),
      agent_email: team.agent.email,
      manager_user_access_id: team.manager.userAccessId,
      free_membership_id: plans.find((plan) => plan.code === 'free')!.id,
    },
  };
}

/** A bare team (no invitations, no leads) for ON_A_FRESH_TEAM routes, with the fixtures that name no resource. */
async function freshTeam(ctx: TestContext, values: Fixtures): Promise<{ team: Team; values: Fixtures }> {
  const team = await companyWithTeam(ctx);
  return { team, values: { ...values, company_id: team.company.id } };
}

let ctx: TestContext;
let operations: Operation[];
beforeAll(async () => {
  ctx = await buildTestApp();
  operations = runOrder((await listOperations(ctx)).filter((operation) => !operation.public));
});
afterAll(() => ctx.close());

describe('role matrix: every route × admin, manager, agent, outsider, each as a person and as an API key', () => {
  it('has an expectation for every route that needs a token', () => {
    expect(operations.length).toBeGreaterThan(50);
    const missing = operations.filter((operation) => !expectationOf(operation)).map((o) => o.operationId);
    expect(missing, 'add these operations to COMPANY_ROUTES or USER_ROUTES').toEqual([]);
    const both = Object.keys(COMPANY_ROUTES).filter((operationId) => operationId in USER_ROUTES);
    expect(both).toEqual([]);
    const known = new Set(operations.map((operation) => operation.operationId));
    const stale = [...Object.keys(COMPANY_ROUTES), ...Object.keys(USER_ROUTES)].filter((id) => !known.has(id));
    expect(stale, 'operations that no longer exist (or became public)').toEqual([]);
  });

  it.each(CALLERS)('$name gets what the contract gives', async (caller) => {
    const own = await matrixFixtures(ctx);
    const tokenOf = tokenSource(ctx);
    const mismatches: string[] = [];
    for (const operation of operations) {
      const expectation = expectedFor(operation, caller);
      if (expectation === undefined) continue; // reported by the test above
      const { team, values } = ON_A_FRESH_TEAM.has(operation.operationId) ? await freshTeam(ctx, own.values) : own;
      const { url, ...request } = await requestFor(ctx, operation, values, mismatches, {
        bodies: MATRIX_BODIES,
        queries: QUERIES,
      });
      const token = await tokenOf(team, caller);
      const response = await call(ctx.app, operation.method, url, { token, ...request });
      const expected = resolve(expectation, operation);
      const got = answered(response, expected);
      if (got !== expected) {
        const problem = response.body_json;
        const fields = ((problem.errors ?? []) as Json[]).map((error) => `${error.field}: ${error.message}`);
        const detail = response.statusCode >= 400 ? ` ${[problem.code, problem.detail, ...fields].join(' | ')}` : '';
        mismatches.push(
          `${operation.method} ${operation.path} (${operation.operationId}): ${got}${detail}, not ${expected}`,
        );
      }
    }
    expect(mismatches).toEqual([]);
  });
});

/**
 * Rules the generated matrix cannot show with one target per route: each row is one request, built per caller
 * (fresh targets) unless the row reads only (`oneTeam`: one team and one request for the four callers), with the
 * status each caller gets. The generated matrix holds the former hand-written rows "show the company", "update the
 * company", "change an access" and "find a user by email"; "grant an access" is split into the visible member
 * (createUserAccess there) and the stranger (here).
 */
type Row = {
  name: string;
  oneTeam?: true;
  request: (team: Team, ctx: TestContext, role: Role) => Promise<{ method: string; url: string; body?: Json }>;
  expected: Record<Role, number>;
  /** Each role's API key: the same as `expected` unless given; `refused`: a user's route (403 api_key_not_allowed). */
  keyExpected?: Record<Role, number> | 'refused';
};

/** The caller's own access in their company (the outsider's is in their other company). */
async function ownAccessId(ctx: TestContext, userId: number): Promise<number> {
  const [row] = await ctx.database.db.select().from(userAccesses).where(eq(userAccesses.userId, userId));
  return row!.id;
}

const ROWS: Row[] = [
  {
    // Consent to membership: strangers join through invitations, never by an admin's say-so.
    name: 'grant an access to a stranger (as to a user that does not exist)',
    request: async (t, ctx) => {
      const stranger = await createUser(ctx);
      return {
        method: 'POST',
        url: `/api/v1/users/${stranger.id}/user_access`,
        body: { company_id: t.company.id, access_id: await accessId(ctx, 'agent') },
      };
    },
    expected: { admin: 404, manager: 403, agent: 403, outsider: 404 },
    keyExpected: 'refused',
  },
  {
    name: 'show a member (the manager)',
    oneTeam: true,
    request: async (t) => ({ method: 'GET', url: `/api/v1/users/${t.manager.id}` }),
    expected: { admin: 200, manager: 200, agent: 404, outsider: 404 },
    keyExpected: 'refused',
  },
  {
    name: 'create a child company',
    oneTeam: true,
    request: async (t) => ({
      method: 'POST',
      url: '/api/v1/companies',
      body: { name: 'Child', parent_company_id: t.company.id },
    }),
    expected: { admin: 201, manager: 403, agent: 403, outsider: 404 },
    keyExpected: 'refused',
  },
  {
    // The manager is a direct admin of the child, but not an admin of its parent.
    name: 'detach a child company from its parent',
    request: async (t, ctx) => {
      const child = await createCompany(ctx, t.admin, { parent_company_id: t.company.id });
      await grant(ctx, t.manager, child.id, 'admin');
      return { method: 'PATCH', url: `/api/v1/companies/${child.id}`, body: { parent_company_id: null } };
    },
    expected: { admin: 200, manager: 403, agent: 403, outsider: 404 },
  },
  {
    // Everyone may leave a company, except its last admin (the admin here; the outsider in their own company).
    name: "leave a company (delete one's own access)",
    request: async (t, ctx, role) => {
      const user = t[role];
      return { method: 'DELETE', url: `/api/v1/users/${user.id}/user_access/${await ownAccessId(ctx, user.id)}` };
    },
    expected: { admin: 422, manager: 204, agent: 204, outsider: 422 },
    keyExpected: 'refused',
  },
  {
    name: 'invite an admin (managers invite agents only)',
    request: async (t, ctx) => ({
      method: 'POST',
      url: `/api/v1/companies/${t.company.id}/invitations`,
      body: { email: 'new.admin@example.com', access_id: await accessId(ctx, 'admin') },
    }),
    expected: { admin: 201, manager: 403, agent: 403, outsider: 404 },
  },
  {
    name: 'show a lead assigned to someone else',
    oneTeam: true,
    request: async (t, ctx) => {
      const lead = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/leads`, {
        token: t.admin.token,
        body: { email: 'not.the.agents@example.com', assigned_user_access_id: t.manager.userAccessId },
      });
      return { method: 'GET', url: `/api/v1/companies/${t.company.id}/leads/${lead.body_json.lead.id}` };
    },
    expected: { admin: 200, manager: 200, agent: 404, outsider: 404 },
  },
  {
    name: "delete a note one wrote (the agent's, on their own lead)",
    request: async (t, ctx) => {
      const base = `/api/v1/companies/${t.company.id}/leads`;
      const lead = await call(ctx.app, 'POST', base, {
        token: t.admin.token,
        body: { email: 'agents.lead@example.com', assigned_user_access_id: t.agent.userAccessId },
      });
      const note = await call(ctx.app, 'POST', `${base}/${lead.body_json.lead.id}/notes`, {
        token: t.agent.token,
        body: { body: 'My note' },
      });
      return { method: 'DELETE', url: `${base}/${lead.body_json.lead.id}/notes/${note.body_json.note.id}` };
    },
    expected: { admin: 204, manager: 204, agent: 204, outsider: 404 },
    // The agent's lead is not the agent key's: nothing is assigned to a key.
    keyExpected: { admin: 204, manager: 204, agent: 404, outsider: 404 },
  },
];

describe('role matrix: rules beyond one target per route', () => {
  it.each(ROWS)('$name', async (row) => {
    const results: Record<string, number> = {};
    const keyResults: Record<string, number | string> = {};
    const shared = row.oneTeam && (await companyWithTeam(ctx));
    const sharedRequest = shared && (await row.request(shared, ctx, 'admin'));
    const refused = row.keyExpected === 'refused';
    for (const role of ROLE_NAMES) {
      const team = shared || (await companyWithTeam(ctx));
      const request = sharedRequest || (await row.request(team, ctx, role));
      const response = await call(ctx.app, request.method, request.url, {
        token: team[role].token,
        body: request.body,
      });
      results[role] = response.statusCode;
      // The key's own run: a fresh team where the person's success could have changed the answer; a user's route
      // refuses a key before looking at anything, so the same request serves.
      const keyTeam = shared || refused ? team : await companyWithTeam(ctx);
      const keyRequest = sharedRequest || (refused ? request : await row.request(keyTeam, ctx, role));
      const keyResponse = await call(ctx.app, keyRequest.method, keyRequest.url, {
        token: await roleKey(ctx, keyTeam, role),
        body: keyRequest.body,
      });
      keyResults[role] = refused ? `${keyResponse.statusCode} ${keyResponse.body_json.code}` : keyResponse.statusCode;
    }
    expect(results).toEqual(row.expected);
    const refusal = `403 ${KEY_REFUSED}`;
    const keyExpected = refused
      ? { admin: refusal, manager: refusal, agent: refusal, outsider: refusal }
      : (row.keyExpected ?? row.expected);
    expect(keyResults).toEqual(keyExpected);
  });
});
