import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CampaignQuestionsService } from './campaign-questions.service.ts';
import {
  CampaignOptionsBody,
  CampaignParams,
  CampaignQuestionArray,
  CompanyParams,
  CreateQuestionBody,
  ListQuestionsQuery,
  MAX_QUESTIONS,
  presentCampaignQuestion,
  presentQuestion,
  QuestionArray,
  QuestionEnvelope,
  QuestionList,
  QuestionParams,
  ReorderQuestionsBody,
  UpdateQuestionBody,
} from './questions.schemas.ts';
import type { QuestionsService } from './questions.service.ts';

const tags = ['Questions'];
const read = { policy: { permission: 'questions:read' as const } };
const write = { policy: { permission: 'questions:write' as const } };

export const questionsRoutes: FastifyPluginAsyncTypebox<{
  service: QuestionsService;
  campaignQuestions: CampaignQuestionsService;
}> = async (app, { service, campaignQuestions }) => {
  app.post(
    '/api/v1/companies/:company_id/questions',
    {
      config: write,
      schema: {
        operationId: 'createQuestion',
        tags,
        summary: 'Create a question for company',
        description:
          'Choice kinds need at least one option; other kinds take none (422). An option’s `value` defaults to a ' +
          'slug of its label and must be unique within the question. Without `priority` the question goes after ' +
          `the last. At most ${MAX_QUESTIONS} live questions per company.`,
        params: CompanyParams,
        body: CreateQuestionBody,
        response: { 201: QuestionEnvelope },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send({ question: presentQuestion(await service.create(request.params.company_id, request.body)) }),
  );

  app.get(
    '/api/v1/companies/:company_id/questions',
    {
      config: read,
      schema: {
        operationId: 'listQuestions',
        tags,
        summary: 'List questions for a company',
        description:
          'Live questions ordered by priority, then id, with their company options. Keyset pages (`limit` ≤ 100).',
        params: CompanyParams,
        querystring: ListQuestionsQuery,
        response: { 200: QuestionList },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      return { questions: page.items.map(presentQuestion), meta: page.meta };
    },
  );

  app.put(
    '/api/v1/companies/:company_id/questions/priority',
    {
      config: write,
      schema: {
        operationId: 'reorderQuestions',
        tags,
        summary: 'Modify questions priority order for a company',
        description:
          'The body lists every live question id of the company exactly once, in the new order; priorities ' +
          'become 1..n in one transaction. An unknown, deleted or other company’s id, a repeated id or a missing ' +
          'one answers 422 (each listed in `errors`) and changes nothing. Answers the whole list, unpaged.',
        params: CompanyParams,
        body: ReorderQuestionsBody,
        response: { 200: QuestionArray },
      },
    },
    async (request) => ({
      questions: (await service.reorder(request.params.company_id, request.body.question_ids)).map(presentQuestion),
    }),
  );

  app.get(
    '/api/v1/companies/:company_id/questions/:question_id',
    {
      config: read,
      schema: {
        operationId: 'getQuestion',
        tags,
        summary: 'Get question for ID',
        description: 'With its company options (campaign-specific ones are under the campaign’s questions).',
        params: QuestionParams,
        response: { 200: QuestionEnvelope },
      },
    },
    async (request) => ({
      question: presentQuestion(await service.get(request.params.company_id, request.params.question_id)),
    }),
  );

  app.patch(
    '/api/v1/companies/:company_id/questions/:question_id',
    {
      config: write,
      schema: {
        operationId: 'updateQuestion',
        tags,
        summary: 'Update a question',
        description:
          '`options` replaces the company options (option ids change; answers store values, so they stay). ' +
          '`kind` may change only while no lead has answered the question (422 `question_answered` otherwise); ' +
          'becoming a choice question needs `options`, and a question that stops being one loses every option, ' +
          'campaign-specific ones included.',
        params: QuestionParams,
        body: UpdateQuestionBody,
        response: { 200: QuestionEnvelope },
      },
    },
    async (request) => {
      const { company_id, question_id } = request.params;
      return { question: presentQuestion(await service.update(company_id, question_id, request.body)) };
    },
  );

  app.delete(
    '/api/v1/companies/:company_id/questions/:question_id',
    {
      config: write,
      schema: {
        operationId: 'deleteQuestion',
        tags,
        summary: 'Delete a question for company',
        description:
          'Soft delete: leads’ answers stay; the question leaves the lists and every campaign, and its routes ' +
          'answer 404.',
        params: QuestionParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.remove(request.params.company_id, request.params.question_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/companies/:company_id/campaigns/:campaign_id/questions',
    {
      config: read,
      schema: {
        operationId: 'listCampaignQuestions',
        tags,
        summary: 'List questions for a campaign',
        description:
          'The campaign’s live questions in campaign order (all of them, unpaged), each with the options that ' +
          'apply to this campaign: its own when it has some for that question (`options_source: "campaign"`), ' +
          'else the company’s (`"company"`).',
        params: CampaignParams,
        response: { 200: CampaignQuestionArray },
      },
    },
    async (request) => {
      const { company_id, campaign_id } = request.params;
      return { questions: (await campaignQuestions.list(company_id, campaign_id)).map(presentCampaignQuestion) };
    },
  );

  app.put(
    '/api/v1/companies/:company_id/campaigns/:campaign_id/questions/options',
    {
      config: write,
      schema: {
        operationId: 'updateCampaignQuestionOptions',
        tags,
        summary: 'Bulk update question options for a campaign',
        description:
          'Replaces the campaign-specific options of each listed question, all in one transaction: any invalid ' +
          'entry (a question not in this campaign, not a choice kind, listed twice, or with repeated option ' +
          'values) answers 422 with its index in the field path (`questions.2.question_id`) and changes nothing. ' +
          'An empty `options` removes the campaign’s own set, so the company options apply again. Answers the ' +
          'campaign’s questions as the list does.',
        params: CampaignParams,
        body: CampaignOptionsBody,
        response: { 200: CampaignQuestionArray },
      },
    },
    async (request) => {
      const { company_id, campaign_id } = request.params;
      const views = await campaignQuestions.replaceOptions(company_id, campaign_id, request.body);
      return { questions: views.map(presentCampaignQuestion) };
    },
  );
};
