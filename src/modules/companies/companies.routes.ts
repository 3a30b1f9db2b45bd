import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageMeta } from '../../lib/pagination.ts';
import { accessOf, principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import {
  CompanyEnvelope,
  CompanyJson,
  CompanyParams,
  CreateCompanyBody,
  ListCompaniesQuery,
  presentCompany,
  UpdateCompanyBody,
} from './companies.schemas.ts';
import type { CompaniesService } from './companies.service.ts';

export const companiesRoutes: FastifyPluginAsyncTypebox<{ service: CompaniesService }> = async (app, { service }) => {
  app.post(
    '/api/v1/companies',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'createCompany',
        tags: ['Companies'],
        summary: 'Create company',
        description:
          'The creator becomes its admin (and it becomes their primary company if they have none). ' +
          'A child company (`parent_company_id`) needs admin of the parent.',
        body: CreateCompanyBody,
        response: {
          201: CompanyEnvelope,
          403: problemResponse('You do not administer `parent_company_id`, or an API key (`api_key_not_allowed`).'),
          404: problemResponse('`parent_company_id` does not exist, or is not visible to you.'),
        },
      },
    },
    async (request, reply) => {
      const { company, access } = await service.create(principalOf(request), request.body);
      return reply.code(201).send({ company: presentCompany(company, access, await service.plan(company.id)) });
    },
  );

  app.get(
    '/api/v1/companies',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'listCompanies',
        tags: ['Companies'],
        summary: 'List companies',
        description: "The companies the caller can see (direct or inherited), each with the caller's access.",
        querystring: ListCompaniesQuery,
        response: { 200: Type.Object({ companies: Type.Array(CompanyJson), meta: PageMeta }) },
      },
    },
    async (request) => {
      const page = await service.list(principalOf(request), request.query);
      const plans = await service.plans(page.items.map((item) => item.company.id));
      const companies = page.items.map((item) => presentCompany(item.company, item.access, plans.get(item.company.id)));
      return { companies, meta: page.meta };
    },
  );

  app.get(
    '/api/v1/companies/:company_id',
    {
      config: { policy: { permission: 'companies:read' } },
      schema: {
        operationId: 'getCompany',
        tags: ['Companies'],
        summary: 'Get an specific company',
        description:
          "Any member of the company or of an ancestor. With the caller's effective access in it and the plan in " +
          'force (its limits).',
        params: CompanyParams,
        response: { 200: CompanyEnvelope },
      },
    },
    async (request) => {
      const company = await service.show(request.params.company_id);
      const access = await service.describeAccess(accessOf(request));
      return { company: presentCompany(company, access, await service.plan(company.id)) };
    },
  );

  app.patch(
    '/api/v1/companies/:company_id',
    {
      config: { policy: { permission: 'companies:write' }, revokesAccess: true },
      schema: {
        operationId: 'updateCompany',
        tags: ['Companies'],
        summary: 'Update a company',
        description:
          'Partial update. Setting, changing or clearing `parent_company_id` changes who inherits access to the ' +
          'company, so it needs admin of the current parent (403 otherwise) and of the new one (404 when invisible, ' +
          '403 when not administered); sending the current parent changes nothing. A company cannot become its own ' +
          'descendant, and hierarchies are at most 16 levels deep (422).',
        params: CompanyParams,
        body: UpdateCompanyBody,
        response: { 200: CompanyEnvelope },
      },
    },
    async (request) => {
      const company = await service.update(principalOf(request), request.params.company_id, request.body);
      const access = await service.describeAccess(accessOf(request));
      return { company: presentCompany(company, access, await service.plan(company.id)) };
    },
  );
};
