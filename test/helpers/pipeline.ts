import { expect } from 'vitest';
import { leadAnswers, leads, stages } from '../../src/db/schema/index.ts';
import { call, type Json, type Response, type TestContext } from './app.ts';

/** Sources, campaigns and questions made through the API (201 asserted), for the pipeline tests. */
export const companyUrl = (companyId: number, path: string) => `/api/v1/companies/${companyId}/${path}`;

async function created(response: Response, key: string): Promise<Json> {
  expect(response.statusCode, response.body).toBe(201);
  return response.body_json[key] as Json;
}

export async function createSource(ctx: TestContext, token: string, companyId: number, body: Json = {}) {
  const name = `Source ${Math.random().toString(36).slice(2, 8)}`;
  return created(
    await call(ctx.app, 'POST', companyUrl(companyId, 'sources'), { token, body: { name, ...body } }),
    'source',
  );
}

export async function createQuestion(ctx: TestContext, token: string, companyId: number, body: Json = {}) {
  return created(
    await call(ctx.app, 'POST', companyUrl(companyId, 'questions'), {
      token,
      body: { title: 'How big is your team?', kind: 'text', ...body },
    }),
    'question',
  );
}

export async function createCampaign(ctx: TestContext, token: string, companyId: number, body: Json = {}) {
  return created(
    await call(ctx.app, 'POST', companyUrl(companyId, 'campaigns'), { token, body: { name: 'Spring', ...body } }),
    'campaign',
  );
}

/** A lead written directly (the leads module is not what these tests exercise), optionally with answers. */
export async function insertLead(
  ctx: TestContext,
  companyId: number,
  values: { sourceId?: number; campaignId?: number; answers?: { questionId: number; value: unknown }[] } = {},
) {
  const [stage] = await ctx.database.db.select().from(stages).limit(1);
  const [lead] = await ctx.database.db
    .insert(leads)
    .values({
      companyId,
      email: `lead.${Math.random().toString(36).slice(2, 10)}@example.com`,
      stageId: stage!.id,
      sourceId: values.sourceId ?? null,
      campaignId: values.campaignId ?? null,
    })
    .returning();
  for (const answer of values.answers ?? []) {
    await ctx.database.db
      .insert(leadAnswers)
      .values({ companyId, leadId: lead!.id, questionId: answer.questionId, value: answer.value });
  }
  return lead!;
}

/** The `field` of every entry of a 422's `errors`, sorted. */
export const fieldsOf = (response: Response) =>
  ((response.body_json.errors ?? []) as { field: string }[]).map((error) => error.field).sort();
