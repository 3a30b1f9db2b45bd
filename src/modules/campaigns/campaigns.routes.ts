import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  CampaignEnvelope,
  CampaignList,
  CampaignParams,
  CompanyParams,
  CreateCampaignBody,
  ListCampaignsQuery,
  MAX_CAMPAIGN_QUESTIONS,
  presentCampaign,
  UpdateCampaignBody,
} from './campaigns.schemas.ts';
import type { CampaignsService } from './campaigns.service.ts';

const tags = ['Campaigns'];
const read = { policy: { permission: 'campaigns:read' as const } };
const write = { policy: { permission: 'campaigns:write' as const } };

export const campaignsRoutes: FastifyPluginAsyncTypebox<{ service: CampaignsService }> = async (app, { service }) => {
  app.post(
    '/api/v1/companies/:company_id/campaigns',
    {
      config: write,
      schema: {
        operationId: 'createCampaign',
        tags,
        summary: 'Create a campaign',
        description:
          '`status` defaults to `active`. `source_id` must be a live source of this company and `question_ids` ' +
          `live questions of this company (at most ${MAX_CAMPAIGN_QUESTIONS}, each once), in the campaign's order; ` +
          '`ends_at` must be after `starts_at`. Every problem is listed in one 422.',
        params: CompanyParams,
        body: CreateCampaignBody,
        response: { 201: CampaignEnvelope },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send({ campaign: presentCampaign(await service.create(request.params.company_id, request.body)) }),
  );

  app.get(
    '/api/v1/companies/:company_id/campaigns',
    {
      config: read,
      schema: {
        operationId: 'listCampaigns',
        tags,
        summary: 'List campaigns for a company',
        description:
          'Live campaigns, newest first, optionally of one `status`. Keyset pages (`limit` ≤ 100, `cursor`).',
        params: CompanyParams,
        querystring: ListCampaignsQuery,
        response: { 200: CampaignList },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      return { campaigns: page.items.map(presentCampaign), meta: page.meta };
    },
  );

  app.get(
    '/api/v1/companies/:company_id/campaigns/:campaign_id',
    {
      config: read,
      schema: {
        operationId: 'getCampaign',
        tags,
        summary: 'Get campaign by id',
        description:
          'With `question_ids` in campaign order; `GET …/campaigns/{campaign_id}/questions` has the questions ' +
          'themselves with the options that apply to this campaign. A deleted source still shows as `source`.',
        params: CampaignParams,
        response: { 200: CampaignEnvelope },
      },
    },
    async (request) => ({
      campaign: presentCampaign(await service.get(request.params.company_id, request.params.campaign_id)),
    }),
  );

  app.patch(
    '/api/v1/companies/:company_id/campaigns/:campaign_id',
    {
      config: write,
      schema: {
        operationId: 'updateCampaign',
        tags,
        summary: 'Update a campaign',
        description:
          'Fields absent stay as they are; `null` clears `source_id`, `starts_at`, `ends_at`. `question_ids` ' +
          'replaces the whole set and order; the campaign-specific options of questions it drops are deleted. ' +
          'The date order is checked against the stored values too.',
        params: CampaignParams,
        body: UpdateCampaignBody,
        response: { 200: CampaignEnvelope },
      },
    },
    async (request) => {
      const { company_id, campaign_id } = request.params;
      return { campaign: presentCampaign(await service.update(company_id, campaign_id, request.body)) };
    },
  );

  app.delete(
    '/api/v1/companies/:company_id/campaigns/:campaign_id',
    {
      config: write,
      schema: {
        operationId: 'deleteCampaign',
        tags,
        summary: 'Delete a campaign',
        description:
          'Soft delete: leads keep their `campaign_id`; the campaign leaves the lists and its routes answer 404.',
        params: CampaignParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.remove(request.params.company_id, request.params.campaign_id);
      return reply.code(204).send(null);
    },
  );
};
