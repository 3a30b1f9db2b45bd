import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userAccesses } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';

let ctx: TestContext;
let document: Json;
beforeAll(async () => {
  ctx = await buildTestApp();
  document = (await call(ctx.app, 'GET', '/openapi.json')).body_json;
});
afterAll(() => ctx.close());

/** The example a reference UI pre-fills for an operation's JSON body: the media type's, else its schema's. */
function exampleOf(operationId: string): Json {
  for (const item of Object.values(document.paths as Record<string, Record<string, Json>>)) {
    for (const operation of Object.values(item)) {
      if (operation.operationId !== operationId) continue;
      const media = operation.requestBody.content['application/json'];
      if (media.example !== undefined) return media.example;
      const ref = media.schema.$ref as string | undefined;
      return (ref ? document.components.schemas[ref.split('/').pop()!] : media.schema).examples[0];
    }
  }
  throw new Error(`no operation ${operationId}`);
}

/** Sends an example as a person trying the reference would, and expects it to succeed. */
async function send(method: string, url: string, operationId: string, token?: string, changes: Json = {}) {
  const response = await call(ctx.app, method as 'POST', url, {
    ...(token ? { token } : {}),
    body: { ...exampleOf(operationId), ...changes },
  });
  // The answer in the failure message: what the example got wrong.
  expect(response.statusCode < 300 ? 'succeeded' : `${operationId}: ${response.statusCode} ${response.body}`).toBe(
    'succeeded',
  );
  return response.body_json;
}

describe('the examples of the document', () => {
  it('succeed when sent to a fresh installation, in the order a newcomer follows', async () => {
    await send('POST', '/api/v1/users', 'createUser');
    const { token } = await send('POST', '/api/v1/users/login', 'login');
    const { company } = await send('POST', '/api/v1/companies', 'createCompany', token);
    const base = `/api/v1/companies/${company.id}`;
    const [admin] = await ctx.database.db
      .select({ id: userAccesses.id })
      .from(userAccesses)
      .where(eq(userAccesses.companyId, company.id));

    await send('POST', `${base}/sources`, 'createSource', token);
    await send('POST', `${base}/campaigns`, 'createCampaign', token);
    // Before the question: its example is a required one, which every later lead would have to answer.
    const { lead } = await send('POST', `${base}/leads`, 'createLead', token);
    await send('PATCH', `${base}/leads/${lead.id}`, 'patchLead', token);
    await send('POST', `${base}/leads/${lead.id}/notes`, 'createLeadNote', token);
    // The example's agent is "1": this installation's admin access is another id (the description says so).
    const { appointment } = await send('POST', `${base}/leads/${lead.id}/appointments`, 'createAppointment', token, {
      user_access_id: admin!.id,
    });
    await send('PATCH', `/api/v1/appointments/${appointment.id}`, 'updateAppointment', token);
    await send('POST', `${base}/questions`, 'createQuestion', token);
    const { webhook } = await send('POST', `${base}/webhooks`, 'createWebhook', token);
    await send('PATCH', `${base}/webhooks/${webhook.id}`, 'updateWebhook', token);
    await send('POST', `${base}/api_keys`, 'createApiKey', token);
    await send('POST', `${base}/invitations`, 'createInvitation', token);
  });
});
