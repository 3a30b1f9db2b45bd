import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { problemResponse } from '../../plugins/docs.ts';
import {
  AssignUserAccessBody,
  CompanyParams,
  CreateSourceBody,
  ListSourcesQuery,
  MAX_SOURCES,
  presentSource,
  ReorderSourcesBody,
  SourceArray,
  SourceEnvelope,
  SourceList,
  SourceParams,
  SourceUserAccessParams,
  UpdateSourceBody,
} from './sources.schemas.ts';
import type { SourcesService } from './sources.service.ts';

const tags = ['Sources'];
const read = { policy: { permission: 'sources:read' as const } };
const write = { policy: { permission: 'sources:write' as const } };
const nameConflict = problemResponse('Another live source of the company has this name (case-insensitive).');

export const sourcesRoutes: FastifyPluginAsyncTypebox<{ service: SourcesService }> = async (app, { service }) => {
  app.post(
    '/api/v1/companies/:company_id/sources',
    {
      config: write,
      schema: {
        operationId: 'createSource',
        tags,
        summary: 'Create a source for a company',
        description:
          'Names are trimmed and unique per company among live sources, case-insensitively (409 ' +
          '`source_name_taken`). Without `priority` the source goes after the last; with one it takes that place ' +
          `and the sources at or after it move down. At most ${MAX_SOURCES} live sources per company (422).`,
        params: CompanyParams,
        body: CreateSourceBody,
        response: { 201: SourceEnvelope, 409: nameConflict },
      },
    },
    async (request, reply) =>
      reply.code(201).send({ source: presentSource(await service.create(request.params.company_id, request.body)) }),
  );

  app.get(
    '/api/v1/companies/:company_id/sources',
    {
      config: read,
      schema: {
        operationId: 'listSources',
        tags,
        summary: 'List sources for a company',
        description:
          'Live sources ordered by priority, then id, each with its assigned user accesses. Keyset pages ' +
          '(`limit` ≤ 100, `cursor`); deleted sources are not listed.',
        params: CompanyParams,
        querystring: ListSourcesQuery,
        response: { 200: SourceList },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      return { sources: page.items.map(presentSource), meta: page.meta };
    },
  );

  app.put(
    '/api/v1/companies/:company_id/sources/priority',
    {
      config: write,
      schema: {
        operationId: 'reorderSources',
        tags,
        summary: 'Modify sources priority order for a company',
        description:
          'The body lists every live source id of the company exactly once, in the new order; priorities become ' +
          '1..n in one transaction. An id that is not a live source of this company, a repeated id or a missing ' +
          'one answers 422 (each listed in `errors`) and changes nothing. Answers the whole list, unpaged.',
        params: CompanyParams,
        body: ReorderSourcesBody,
        response: { 200: SourceArray },
      },
    },
    async (request) => ({
      sources: (await service.reorder(request.params.company_id, request.body.source_ids)).map(presentSource),
    }),
  );

  app.patch(
    '/api/v1/companies/:company_id/sources/:source_id',
    {
      config: write,
      schema: {
        operationId: 'updateSource',
        tags,
        summary: 'Update a source',
        description:
          'Renames or moves a source. A new `priority` takes that place and the sources at or after it move down.',
        params: SourceParams,
        body: UpdateSourceBody,
        response: { 200: SourceEnvelope, 409: nameConflict },
      },
    },
    async (request) => ({
      source: presentSource(await service.update(request.params.company_id, request.params.source_id, request.body)),
    }),
  );

  app.delete(
    '/api/v1/companies/:company_id/sources/:source_id',
    {
      config: write,
      schema: {
        operationId: 'deleteSource',
        tags,
        summary: 'Delete a source for company',
        description:
          'Soft delete: leads and campaigns keep their `source_id` (their history stays), the source leaves the ' +
          'lists and its routes answer 404. Its name becomes free for a new source.',
        params: SourceParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.remove(request.params.company_id, request.params.source_id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/companies/:company_id/sources/:source_id/user_accesses',
    {
      config: write,
      schema: {
        operationId: 'assignSourceUserAccess',
        tags,
        summary: 'Assign a user access to a source',
        description:
          'The user access must be a direct access in this company (422 otherwise). Assigning one that is ' +
          'already assigned answers 409 `already_assigned`. Answers the source with its user accesses.',
        params: SourceParams,
        body: AssignUserAccessBody,
        response: { 201: SourceEnvelope, 409: problemResponse('Already assigned to this source.') },
      },
    },
    async (request, reply) => {
      const { company_id, source_id } = request.params;
      const view = await service.assign(company_id, source_id, request.body.user_access_id);
      return reply.code(201).send({ source: presentSource(view) });
    },
  );

  app.delete(
    '/api/v1/companies/:company_id/sources/:source_id/user_accesses/:user_access_id',
    {
      config: write,
      schema: {
        operationId: 'unassignSourceUserAccess',
        tags,
        summary: 'Remove a user access from a source',
        description: 'A user access that is not assigned to the source answers 404.',
        params: SourceUserAccessParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { company_id, source_id, user_access_id } = request.params;
      await service.unassign(company_id, source_id, user_access_id);
      return reply.code(204).send(null);
    },
  );
};
