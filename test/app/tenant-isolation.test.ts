import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invitations } from '../../src/db/schema/index.ts';
import { sha256 } from '../../src/lib/secrets.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { accessId, companyWithTeam } from '../helpers/factories.ts';
import { avatarUpload, multipart } from '../helpers/multipart.ts';
import { databaseFingerprint } from '../helpers/snapshot.ts';

/**
 * The tenant-isolation matrix, driven by the route table (the OpenAPI document generated from every route):
 * for each route whose path takes an id, a user of another company gets 404, and the database is unchanged.
 *
 * To plug a new resource in:
 * - add the id of a company A resource for each new path parameter to `fixtures` below;
 * - add a valid body to BODIES for each new route whose body has required fields (so that validation passes
 *   and the tenancy check is what answers);
 * - add a file to UPLOADS for each new multipart route;
 * - list a route in NOT_TENANT_SCOPED only if its ids are global (reference data, public look-ups).
 * Stored files (avatars) must be unchanged too.
 */
type Fixtures = Record<string, number | string>;

async function fixtures(ctx: TestContext) {
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
async function leadFixture(ctx: TestContext, team: Awaited<ReturnType<typeof companyWithTeam>>) {
  const lead = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/leads`, {
    token: team.admin.token,
    body: { email: 'isolation.lead@example.com', assigned_user_access_id: team.agent.userAccessId },
  });
  const leadId = lead.body_json.lead.id as number;
  const note = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/leads/${leadId}/notes`, {
    token: team.admin.token,
    body: { body: 'A note the outsider must not delete' },
  });
  return { lead_id: leadId, note_id: note.body_json.note.id as number };
}

/** A scheduled appointment of company A's agent with that lead. */
async function appointmentFixture(ctx: TestContext, team: Awaited<ReturnType<typeof companyWithTeam>>, leadId: number) {
  const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/leads/${leadId}/appointments`, {
    token: team.admin.token,
    body: { starts_at: '2030-01-01T10:00:00Z', ends_at: '2030-01-01T11:00:00Z' },
  });
  if (response.statusCode !== 201) throw new Error(`appointment creation failed: ${response.body}`);
  return response.body_json.appointment.id as number;
}

/** Inserted directly: the API would also send a mail in the background, racing the database fingerprint. */
async function invitationFixture(ctx: TestContext, companyId: number) {
  const code = 'isolation-fixture-invitation-code-0123456789';
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

/** A cycle and a territory of company A, with its agent as member. */
/** An import of company A (its job is not run: a pending import is what an outsider could try to cancel). */
async function importFixture(ctx: TestContext, team: Awaited<ReturnType<typeof companyWithTeam>>) {
  const body = await multipart({ file: { data: Buffer.from('email\na@example.com\n'), filename: 'a.csv' } });
  const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/imports`, {
    token: team.admin.token,
    ...body,
  });
  if (response.statusCode !== 202) throw new Error(`import upload failed: ${response.body}`);
  return { import_id: response.body_json.import_file.id as number };
}

async function distributionFixture(ctx: TestContext, team: Awaited<ReturnType<typeof companyWithTeam>>) {
  const post = async (path: string, body: Json) => {
    const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/${path}`, {
      token: team.admin.token,
      body,
    });
    if (response.statusCode !== 201) throw new Error(`${path} failed: ${response.body}`);
    return response.body_json;
  };
  const members = { user_access_ids: [team.agent.userAccessId] };
  const cycle = await post('cycles', { name: 'Isolation cycle', default: true, ...members });
  const territory = await post('territories', { territories: [{ name: 'Isolation', country: 'ES', ...members }] });
  return { cycle_id: cycle.cycle.id as number, territory_id: territory.territories[0].id as number };
}

/** Company A's source (with its agent assigned), a choice question, and a campaign asking it with its own options. */
async function pipelineFixture(ctx: TestContext, team: Awaited<ReturnType<typeof companyWithTeam>>) {
  const post = async (path: string, body: Json) => {
    const response = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/${path}`, {
      token: team.admin.token,
      body,
    });
    if (response.statusCode !== 201) throw new Error(`${path} failed: ${response.body}`);
    return response.body_json;
  };
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

const BODIES: Record<string, (f: Fixtures, ctx: TestContext) => Promise<Json> | Json> = {
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
  // A free slot next to company A's fixture: only the tenancy check may refuse it.
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
};

/** Multipart routes: the outsider sends a valid file, so that only the tenancy check can refuse it. */
const UPLOADS: Record<string, () => Promise<{ body: Buffer; headers: Record<string, string> }>> = {
  createImport: () => multipart({ file: { data: Buffer.from('email\nintruder@example.com\n'), filename: 'x.csv' } }),
  uploadUserAvatar: () => avatarUpload(),
  uploadCompanyAvatar: () => avatarUpload(),
};

/** Every stored file (avatars, imports), by path. */
const storedFiles = (ctx: TestContext) =>
  readdirSync(join(ctx.config.dataDir, 'files'), { recursive: true, encoding: 'utf8' }).sort();

/** Routes whose path ids are not a tenant's resources. */
const NOT_TENANT_SCOPED = new Set(['getAccess']);

type Operation = { method: string; path: string; operationId: string; hasRequiredBody: boolean; multipart: boolean };

function tenantScopedOperations(document: Json): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
    if (!path.includes('{')) continue;
    for (const [method, operation] of Object.entries(methods)) {
      if (NOT_TENANT_SCOPED.has(operation.operationId)) continue;
      if (Array.isArray(operation.security) && operation.security.length === 0) continue; // public
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId,
        hasRequiredBody: Array.isArray(schema?.required) && schema.required.length > 0,
        multipart: operation.requestBody?.content?.['multipart/form-data'] !== undefined,
      });
    }
  }
  return operations;
}

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

describe('tenant isolation', () => {
  it('answers 404 to a user of another company on every route that takes an id, and changes nothing', async () => {
    const { team, values } = await fixtures(ctx);
    const document = (await call(ctx.app, 'GET', '/openapi.json')).body_json;
    const operations = tenantScopedOperations(document);
    expect(operations.length).toBeGreaterThan(5);

    const before = await databaseFingerprint(ctx.database);
    const filesBefore = storedFiles(ctx);
    const failures: string[] = [];
    for (const operation of operations) {
      const url = operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
        if (!(name in values)) failures.push(`${operation.operationId}: no fixture for path parameter "${name}"`);
        return String(values[name] ?? 0);
      });
      const bodyOf = BODIES[operation.operationId];
      if (operation.hasRequiredBody && !bodyOf) failures.push(`${operation.operationId}: no body in BODIES`);
      const upload = UPLOADS[operation.operationId];
      if (operation.multipart && !upload) failures.push(`${operation.operationId}: no file in UPLOADS`);
      const request = upload ? await upload() : { body: bodyOf ? await bodyOf(values, ctx) : undefined };
      const response = await call(ctx.app, operation.method, url, { token: team.outsider.token, ...request });
      if (response.statusCode !== 404) {
        failures.push(`${operation.method} ${url} (${operation.operationId}) answered ${response.statusCode}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await databaseFingerprint(ctx.database)).toEqual(before);
    expect(storedFiles(ctx)).toEqual(filesBefore);
    expect(filesBefore.filter((file) => file.endsWith('.png'))).toHaveLength(2);
  });
});
