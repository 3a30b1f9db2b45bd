import { leadAnswers, leads, stages } from '../../src/db/schema/index.ts';
import { CampaignEnvelope } from '../../src/modules/campaigns/campaigns.schemas.ts';
import { QuestionEnvelope } from '../../src/modules/questions/questions.schemas.ts';
import { SourceEnvelope } from '../../src/modules/sources/sources.schemas.ts';
import { answer, problem } from './answers.ts';
import { call, type Json, type Response, type TestContext } from './app.ts';

/**
 * Sources, campaigns and questions made through the API (201 asserted), for the pipeline tests: typed and checked by
 * their routes' response schemas.
 */
export const companyUrl = (companyId: number, path: string) => `/api/v1/companies/${companyId}/${path}`;

export async function createSource(ctx: TestContext, token: string, companyId: number, body: Json = {}) {
  const name = `Source ${Math.random().toString(36).slice(2, 8)}`;
  const response = await call(ctx.app, 'POST', companyUrl(companyId, 'sources'), { token, body: { name, ...body } });
  return answer(response, 201, SourceEnvelope).source;
}

export async function createQuestion(ctx: TestContext, token: string, companyId: number, body: Json = {}) {
  const response = await call(ctx.app, 'POST', companyUrl(companyId, 'questions'), {
    token,
    body: { title: 'How big is your team?', kind: 'text', ...body },
  });
  return answer(response, 201, QuestionEnvelope).question;
}

export async function createCampaign(ctx: TestContext, token: string, companyId: number, body: Json = {}) {
  const response = await call(ctx.app, 'POST', companyUrl(companyId, 'campaigns'), {
    token,
    body: { name: 'Spring', ...body },
  });
  return answer(response, 201, CampaignEnvelope).campaign;
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
  (problem(response, response.statusCode).errors ?? []).map((error) => error.field).sort();
