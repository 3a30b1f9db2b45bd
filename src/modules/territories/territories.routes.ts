import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_MEMBERS } from '../rotation-members/rotation-members.schemas.ts';
import {
  CompanyParams,
  CreateTerritoriesBody,
  ListTerritoriesQuery,
  MAX_BULK,
  MAX_TERRITORIES,
  presentTerritory,
  TerritoryArray,
  TerritoryEnvelope,
  TerritoryList,
  TerritoryParams,
  UpdateTerritoryBody,
} from './territories.schemas.ts';
import type { TerritoriesService } from './territories.service.ts';

const tags = ['Territories'];
const read = { policy: { permission: 'territories:read' as const } };
const write = { policy: { permission: 'territories:write' as const } };

const RULES =
  'A territory matches a lead by postal code (an exact code beats a prefix such as `06*`, a longer prefix a ' +
  'shorter one), else by region (case- and accent-insensitive), else by country; with a `country` it only takes ' +
  'leads of that country (the lead’s, else the company’s), and it matches by country alone only when it lists no ' +
  'regions and no postal codes. Ties go to the oldest territory. It needs at least one of `country`, `regions`, ' +
  `\`postal_codes\` (422 \`no_match_rule\`). \`user_access_ids\` (1..${MAX_MEMBERS}, each once) are direct user ` +
  'accesses of this company, in rotation order; `weights` (one integer 1..100 per id) gives proportional shares, ' +
  'strict round robin without it. Deactivated users stay listed (`active: false`) and are skipped.';

export const territoriesRoutes: FastifyPluginAsyncTypebox<{ service: TerritoriesService }> = async (
  app,
  { service },
) => {
  app.post(
    '/api/v1/companies/:company_id/territories',
    {
      config: write,
      schema: {
        operationId: 'createTerritories',
        tags,
        summary: 'Create territories for a company',
        description:
          `1..${MAX_BULK} territories, all or nothing: one invalid item answers 422 listing every problem with ` +
          `its path (\`territories.3.postal_codes.1\`) and nothing is written. ${RULES} At most ` +
          `${MAX_TERRITORIES} territories per company. Answers the created territories in the order sent.`,
        params: CompanyParams,
        body: CreateTerritoriesBody,
        response: { 201: TerritoryArray },
      },
    },
    async (request, reply) => {
      const created = await service.createMany(request.params.company_id, request.body.territories);
      return reply.code(201).send({ territories: created.map(presentTerritory) });
    },
  );

  app.get(
    '/api/v1/companies/:company_id/territories',
    {
      config: read,
      schema: {
        operationId: 'listTerritories',
        tags,
        summary: 'List territories for a company',
        description: 'Oldest first, each with its members. Keyset pages (`limit` ≤ 100, `cursor`).',
        params: CompanyParams,
        querystring: ListTerritoriesQuery,
        response: { 200: TerritoryList },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      return { territories: page.items.map(presentTerritory), meta: page.meta };
    },
  );

  app.get(
    '/api/v1/companies/:company_id/territories/:territory_id',
    {
      config: read,
      schema: {
        operationId: 'getTerritory',
        tags,
        summary: 'Get a territory',
        description: 'With its matching rules and its members in rotation order.',
        params: TerritoryParams,
        response: { 200: TerritoryEnvelope },
      },
    },
    async (request) => ({
      territory: presentTerritory(await service.show(request.params.company_id, request.params.territory_id)),
    }),
  );

  app.patch(
    '/api/v1/companies/:company_id/territories/:territory_id',
    {
      config: write,
      schema: {
        operationId: 'updateTerritory',
        tags,
        summary: 'Update a territory',
        description:
          `Partial update with the fields of one created item. ${RULES} \`country: null\` or an empty list clears ` +
          'that rule, as long as one remains. A new `user_access_ids` replaces the member list: members who stay ' +
          'keep their place in the running rotation and their `assigned_count`, new members start at 0, and every ' +
          'weight becomes the one sent (1 without `weights`); `weights` alone is refused (422).',
        params: TerritoryParams,
        body: UpdateTerritoryBody,
        response: { 200: TerritoryEnvelope },
      },
    },
    async (request) => ({
      territory: presentTerritory(
        await service.update(request.params.company_id, request.params.territory_id, request.body),
      ),
    }),
  );

  app.delete(
    '/api/v1/companies/:company_id/territories/:territory_id',
    {
      config: write,
      schema: {
        operationId: 'deleteTerritory',
        tags,
        summary: 'Delete a territory',
        description: 'Leads it assigned keep their assignee and their activity history.',
        params: TerritoryParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.remove(request.params.company_id, request.params.territory_id);
      return reply.code(204).send(null);
    },
  );
};
