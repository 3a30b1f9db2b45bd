import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { invitations } from '../../src/db/schema/index.ts';
import { sha256 } from '../../src/lib/secrets.ts';
import { call, type Json, type TestContext } from './app.ts';
import { accessId, companyWithTeam } from './factories.ts';
import { avatarUpload, multipart } from './multipart.ts';
import { servedDocument } from './openapi.ts';

/**
 * What the route-table-driven matrices (tenant isolation, roles) need to call every route with valid input:
 * a company A with a team and one resource of each kind (`fixtures`), a valid body per route (BODIES), a file per
 * multipart route (UPLOADS), and the operations of the OpenAPI document generated from every route.
 *
 * To plug a new resource in:
 * - add the id of a company A resource for each new path parameter to `fixtures` below;
 * - add a valid body to BODIES for each new route whose body has required fields (so that validation passes
 *   and the check under test is what answers);
 * - add a file to UPLOADS for each new multipart route.
 */
export type Fixtures = Record<string, number | string>;
export type Team = Awaited<ReturnType<typeof companyWithTeam>>;

export async function fixtures(ctx: TestContext): Promise<{ team: Team; values: Fixtures }> {
  const team = await companyWithTeam(ctx);
  const values: Fixtures = {
    company_id: team.company.id,
    user_id: team.agent.id,
    user_access_id: team.agent.userAccessId,
    ...(await invitationFixture(ctx, team.company.id)),
    ...(await leadFixture(ctx, team)),
    ...(await pipelineFixture(ctx, team)),
    ...(await distributionFixture(ctx, team)),
    ...(await importFixture(ctx, team)),
    ...(await apiKeyFixture(ctx, team)),
    ...(await webhookFixture(ctx, team)),
  };
  values.appointment_id = await appointmentFixture(ctx, team, Number(values.lead_id));
  // Avatars an outsider's DELETE must not remove.
  for (const [user, url] of [
    [team.agent, `/api/v1/users/${team.agent.id}/avatar`],
    [team.admin, `/api/v1/companies/${team.company.id}/avatar`],
  ] as const) {
    const response = await call(ctx.app, 'POST', url, { token: user.token, ...(await avatarUpload()) });
    if (response.statusCode !== 200) throw new Error(`avatar upload failed: ${response.body}`);
  }
  return { team, values };
}

/** A lead of company A, assigned to its agent, with a note. */
export async function leadFixture(ctx: TestContext, team: Team) {
  const lead = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/leads`, {
    token: team.admin.token,
    body: { email: 'isolation.lead@example.com', assigned_user_access_id: team.agent.userAccessId },
  });
  if (lead.statusCode !== 201) throw new Error(`lead creation failed: ${lead.body}`);
  const leadId = lead.body_json.lead.id as number;
  const note = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/leads/${leadId}/notes`, {
    token: team.admin.token,
    body: { body: 'A note the outsider must not delete' },
  });
  if (note.statusCode !== 201) throw new Error(`note creation failed: ${note.body}`);
  return { lead_id: leadId, note_id: note.body_json.note.id as number };
}

/** A scheduled appointment of company A's agent with that lead. */
export async function appointmentFixture(ctx: TestContext, team: Team, leadId: number) {
  const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/leads/${leadId}/appointments`, {
    token: team.admin.token,
    body: { starts_at: '2030-01-01T10:00:00Z', ends_at: '2030-01-01T11:00:00Z' },
  });
  if (response.statusCode !== 201) throw new Error(`appointment creation failed: ${response.body}`);
  return response.body_json.appointment.id as number;
}

/**
 * Inserted directly: the API would also send a mail in the background, racing the database fingerprint.
 * The code is unique per call: codes are unique, and a test may build several teams.
 */
export async function invitationFixture(ctx: TestContext, companyId: number) {
  const code = `isolation-fixture-invitation-code-${randomBytes(16).toString('hex')}`;
  const [row] = await ctx.database.db
    .insert(invitations)
    .values({
      companyId,
      email: 'isolation.invitee@example.com',
      accessId: await accessId(ctx, 'agent'),
      codeHash: sha256(code),
      expiresAt: new Date(ctx.clock.now().getTime() + 86_400_000),
    })
    .returning();
  return { invitation_id: row!.id, code };
}

/** An import of company A (its job is not run: a pending import is what an outsider could try to cancel). */
export async function importFixture(ctx: TestContext, team: Team) {
  const body = await multipart({ file: { data: Buffer.from('email\na@example.com\n'), filename: 'a.csv' } });
  const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/imports`, {
    token: team.admin.token,
    ...body,
  });
  if (response.statusCode !== 202) throw new Error(`import upload failed: ${response.body}`);
  return { import_id: response.body_json.import_file.id as number };
}

/**
 * A webhook of company A and one delivery of it (a ping's). Jobs do not run in the matrices, so the https URL of a
 * public name is never contacted.
 */
export async function webhookFixture(ctx: TestContext, team: Team) {
  const post = companyPost(ctx, team);
  const created = await post('webhooks', { url: 'https://hooks.example.com/leadsy', events: ['lead.created'] });
  const webhookId = created.webhook.id as number;
  const ping = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/webhooks/${webhookId}/ping`, {
    token: team.admin.token,
  });
  if (ping.statusCode !== 202) throw new Error(`webhook ping failed: ${ping.body}`);
  return { webhook_id: webhookId, delivery_id: ping.body_json.delivery.id as number };
}

/** An API key of company A (made by its admin, with the agent access). */
export async function apiKeyFixture(ctx: TestContext, team: Team) {
  const key = await createApiKey(ctx, team.admin, team.company.id, 'agent');
  return { api_key_id: key.id };
}

/** A key made through the API by `owner` (an admin of the company): its id and its secret. */
export async function createApiKey(
  ctx: TestContext,
  owner: { token: string },
  companyId: number,
  code: 'admin' | 'manager' | 'agent',
): Promise<{ id: number; secret: string }> {
  const response = await call(ctx.app, 'POST', `/api/v1/companies/${companyId}/api_keys`, {
    token: owner.token,
    body: { name: `${code} key`, access_id: await accessId(ctx, code) },
  });
  if (response.statusCode !== 201) throw new Error(`api key creation failed: ${response.body}`);
  return { id: response.body_json.api_key.id as number, secret: response.body_json.secret as string };
}

/**
 * Routes whose answer to any API key is 403 `api_key_not_allowed`, whatever the company (API.md: keys never reach
 * users' routes; these company routes are also for people only: a key must not mint keys). `USER_ROUTES_FOR_KEYS`:
 * the users' routes a key may read anyway (reference data an integration needs, such as the stages).
 */
export const KEY_REFUSED_COMPANY_ROUTES = new Set(['createApiKey', 'listApiKeys', 'getApiKey', 'revokeApiKey']);
export const USER_ROUTES_FOR_KEYS = new Set(['listStages', 'listAccesses', 'getAccess']);

/**
 * The API key that stands for a team's `role` in the matrices: a key of company A with that role's access, made
 * by its admin; for the outsider, an admin key of their own company (its admin's strongest key).
 */
export async function roleKey(ctx: TestContext, team: Team, role: 'admin' | 'manager' | 'agent' | 'outsider') {
  const key =
    role === 'outsider'
      ? await createApiKey(ctx, team.outsider, team.otherCompany.id, 'admin')
      : await createApiKey(ctx, team.admin, team.company.id, role);
  return key.secret;
}

/** A cycle and a territory of company A, with its agent as member. */
export async function distributionFixture(ctx: TestContext, team: Team) {
  const post = companyPost(ctx, team);
  const members = { user_access_ids: [team.agent.userAccessId] };
  const cycle = await post('cycles', { name: 'Isolation cycle', default: true, ...members });
  const territory = await post('territories', { territories: [{ name: 'Isolation', country: 'ES', ...members }] });
  return { cycle_id: cycle.cycle.id as number, territory_id: territory.territories[0].id as number };
}

/** Company A's source (with its agent assigned), a choice question, and a campaign asking it with its own options. */
export async function pipelineFixture(ctx: TestContext, team: Team) {
  const post = companyPost(ctx, team);
  const sourceId = (await post('sources', { name: 'Isolation source' })).source.id as number;
  await post(`sources/${sourceId}/user_accesses`, { user_access_id: team.agent.userAccessId });
  const question = await post('questions', { title: 'Size?', kind: 'single_choice', options: [{ label: 'Big' }] });
  const questionId = question.question.id as number;
  const campaignId = (await post('campaigns', { name: 'Isolation', question_ids: [questionId] })).campaign.id as number;
  const options = await call(
    ctx.app,
    'PUT',
    `/api/v1/companies/${team.company.id}/campaigns/${campaignId}/questions/options`,
    {
      token: team.admin.token,
      body: { questions: [{ question_id: questionId, options: [{ label: 'Own' }] }] },
    },
  );
  if (options.statusCode !== 200) throw new Error(`campaign options failed: ${options.body}`);
  return { source_id: sourceId, question_id: questionId, campaign_id: campaignId };
}

/** A POST by company A's admin under the company, which must answer 201. */
function companyPost(ctx: TestContext, team: Team) {
  return async (path: string, body: Json) => {
    const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/${path}`, {
      token: team.admin.token,
      body,
    });
    if (response.statusCode !== 201) throw new Error(`${path} failed: ${response.body}`);
    return response.body_json;
  };
}

export type BodyOf = (f: Fixtures, ctx: TestContext) => Promise<Json> | Json;
export type QueryOf = (f: Fixtures) => Record<string, string>;

/** A valid body for each route whose body has required fields (and a few more), built from company A's fixtures. */
export const BODIES: Record<string, BodyOf> = {
  createUserAccess: async (f, ctx) => ({ company_id: f.company_id, access_id: await accessId(ctx, 'manager') }),
  updateUserAccess: async (_f, ctx) => ({ access_id: await accessId(ctx, 'admin') }),
  updateUser: () => ({ first_name: 'Changed' }),
  patchUser: () => ({ first_name: 'Changed' }),
  updateCompany: () => ({ name: 'Changed' }),
  acceptLegalTerm: async (_f, ctx) => ({
    legal_term_id: (await call(ctx.app, 'GET', '/api/v1/legal_terms/current')).body_json.legal_terms[0].id,
  }),
  completeOnboarding: () => ({ completed: true }),
  attachMembership: async (_f, ctx) => ({
    membership_id: (await call(ctx.app, 'GET', '/api/v1/memberships')).body_json.memberships[1].id,
  }),
  createLead: () => ({ email: 'isolation.other@example.com' }),
  updateLead: () => ({ first_name: 'Changed' }),
  patchLead: () => ({ first_name: 'Changed' }),
  createLeadNote: () => ({ body: 'Intruding note' }),
  // A free slot next to company A's fixture: only the check under test may refuse it.
  createAppointment: () => ({ starts_at: '2030-01-01T12:00:00Z', ends_at: '2030-01-01T13:00:00Z' }),
  updateAppointment: () => ({ title: 'Intruding title' }),
  createInvitation: async (_f, ctx) => ({
    email: 'isolation.new@example.com',
    access_id: await accessId(ctx, 'agent'),
  }),
  createSource: () => ({ name: 'Intruding source' }),
  updateSource: () => ({ name: 'Changed', priority: 1 }),
  reorderSources: (f) => ({ source_ids: [f.source_id] }),
  assignSourceUserAccess: (f) => ({ user_access_id: f.user_access_id }),
  createCampaign: (f) => ({ name: 'Intruding campaign', question_ids: [f.question_id] }),
  updateCampaign: () => ({ name: 'Changed', question_ids: [] }),
  createQuestion: () => ({ title: 'Intruding question', kind: 'text' }),
  updateQuestion: () => ({ title: 'Changed', required: true }),
  reorderQuestions: (f) => ({ question_ids: [f.question_id] }),
  updateCampaignQuestionOptions: (f) => ({ questions: [{ question_id: f.question_id, options: [] }] }),
  setCyclesEnabled: () => ({ enabled: true }),
  createCycle: (f) => ({ name: 'Intruding cycle', user_access_ids: [f.user_access_id], default: true }),
  updateCycle: () => ({ name: 'Changed', default: false }),
  createTerritories: (f) => ({
    territories: [{ name: 'Intruding', country: 'ES', user_access_ids: [f.user_access_id] }],
  }),
  updateTerritory: () => ({ name: 'Changed', country: 'PT' }),
  createApiKey: async (_f, ctx) => ({ name: 'Intruding key', access_id: await accessId(ctx, 'agent') }),
  createWebhook: () => ({ url: 'https://hooks.example.com/intruder', events: ['lead.created'] }),
  updateWebhook: () => ({ description: 'Changed' }),
};

export type Upload = () => Promise<{ body: Buffer; headers: Record<string, string> }>;

/** Multipart routes: a valid file, so that only the check under test can refuse it. */
export const UPLOADS: Record<string, Upload> = {
  createImport: () => multipart({ file: { data: Buffer.from('email\nintruder@example.com\n'), filename: 'x.csv' } }),
  uploadUserAvatar: () => avatarUpload(),
  uploadCompanyAvatar: () => avatarUpload(),
};

/** Every stored file (avatars, imports), by path. */
export const storedFiles = (ctx: TestContext) =>
  readdirSync(join(ctx.config.dataDir, 'files'), { recursive: true, encoding: 'utf8' }).sort();

export type Operation = {
  method: string;
  path: string;
  operationId: string;
  /** No token needed (`security: []`). */
  public: boolean;
  /** The permission of a company route (`x-permission`); undefined for public and signed-in users' routes. */
  permission: string | undefined;
  hasRequiredBody: boolean;
  multipart: boolean;
  /** Query parameters the route requires. */
  requiredQuery: string[];
  /** The 2xx statuses the document declares. */
  successes: number[];
};

/** Every operation of the OpenAPI document the server generates from its routes, in document order. */
export async function listOperations(ctx: TestContext): Promise<Operation[]> {
  const document = await servedDocument(ctx.app);
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
    for (const [method, operation] of Object.entries(methods)) {
      const media = operation.requestBody?.content?.['application/json']?.schema;
      // A named body is a $ref into components.schemas (plugins/docs-schemas.ts).
      const schema = media?.$ref ? document.components.schemas[String(media.$ref).split('/').pop()!] : media;
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId,
        public: Array.isArray(operation.security) && operation.security.length === 0,
        permission: operation['x-permission'] as string | undefined,
        hasRequiredBody: Array.isArray(schema?.required) && schema.required.length > 0,
        multipart: operation.requestBody?.content?.['multipart/form-data'] !== undefined,
        requiredQuery: ((operation.parameters ?? []) as Json[])
          .filter((parameter) => parameter.in === 'query' && parameter.required)
          .map((parameter) => parameter.name as string),
        successes: Object.keys(operation.responses ?? {})
          .map(Number)
          .filter((status) => status >= 200 && status < 300),
      });
    }
  }
  return operations;
}

/**
 * The request for `operation` with company A's fixtures: its URL (path parameters filled in, and the query from
 * `queries`), and its JSON body (from `bodies`) or file. Whatever is missing (a fixture, a required query
 * parameter, a body, a file) is pushed to `failures`, so that a new route cannot join the route table without
 * joining the matrices.
 */
export async function requestFor(
  ctx: TestContext,
  operation: Operation,
  values: Fixtures,
  failures: string[],
  { bodies = BODIES, queries = {} }: { bodies?: Record<string, BodyOf>; queries?: Record<string, QueryOf> } = {},
): Promise<{ url: string; body?: unknown; headers?: Record<string, string> }> {
  const path = operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    if (!(name in values)) failures.push(`${operation.operationId}: no fixture for path parameter "${name}"`);
    return String(values[name] ?? 0);
  });
  const query = queries[operation.operationId]?.(values) ?? {};
  for (const name of operation.requiredQuery) {
    if (!(name in query)) failures.push(`${operation.operationId}: no value for query parameter "${name}"`);
  }
  const search = new URLSearchParams(query).toString();
  const url = search ? `${path}?${search}` : path;
  const bodyOf = bodies[operation.operationId];
  if (operation.hasRequiredBody && !bodyOf) failures.push(`${operation.operationId}: no body in BODIES`);
  const upload = UPLOADS[operation.operationId];
  if (operation.multipart && !upload) failures.push(`${operation.operationId}: no file in UPLOADS`);
  if (upload) return { url, ...(await upload()) };
  return { url, body: bodyOf ? await bodyOf(values, ctx) : undefined };
}
