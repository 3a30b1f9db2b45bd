import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { accessOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import { CompanyJson, presentCompany } from '../companies/companies.schemas.ts';
import type { CompaniesService } from '../companies/companies.service.ts';
import { MAX_MEMBERS } from '../rotation-members/rotation-members.schemas.ts';
import {
  CompanyParams,
  CreateCycleBody,
  CycleEnvelope,
  CycleList,
  CycleParams,
  CyclesEnabledBody,
  ListCyclesQuery,
  MAX_CYCLES,
  presentCycle,
  UpdateCycleBody,
} from './cycles.schemas.ts';
import type { CyclesService } from './cycles.service.ts';

const tags = ['Cycles'];
const read = { policy: { permission: 'cycles:read' as const } };
const write = { policy: { permission: 'cycles:write' as const } };
const sourceConflict = problemResponse('Another cycle of the company is bound to this source (`source_has_cycle`).');

const MEMBER_RULES =
  `\`user_access_ids\` (1..${MAX_MEMBERS}, each once) are direct user accesses of this company, in rotation order; ` +
  'an unknown, foreign or repeated id answers 422 with its index (`user_access_ids.2`). `weights`, when sent, has ' +
  'one integer 1..100 per id (a member with weight 3 gets three leads for every one of a member with weight 1, ' +
  'interleaved); without it the rotation is strict round robin. Deactivated users stay listed (`active: false`) ' +
  'and are skipped. `source_id` must be a live source of this company (422); a source already bound to another ' +
  'cycle answers 409. `default: true` makes it the company default and clears the previous default in the same ' +
  'transaction.';

export const cyclesRoutes: FastifyPluginAsyncTypebox<{ service: CyclesService; companies: CompaniesService }> = async (
  app,
  { service, companies },
) => {
  app.put(
    '/api/v1/companies/:company_id/cycles/enabled',
    {
      config: write,
      schema: {
        operationId: 'setCyclesEnabled',
        tags,
        summary: 'Modify cycles flag in company',
        description:
          'With cycles enabled, a new lead without an assignee (API or import) goes to the most specific ' +
          'matching territory, else its source’s cycle or user accesses, else the default cycle. Disabled, new ' +
          'leads stay unassigned. Answers the company, with your access and its plan.',
        params: CompanyParams,
        body: CyclesEnabledBody,
        response: { 200: Type.Object({ company: CompanyJson }) },
      },
    },
    async (request) => {
      const company = await service.setEnabled(request.params.company_id, request.body.enabled);
      const access = await companies.describeAccess(accessOf(request));
      return { company: presentCompany(company, access, await companies.plan(company.id)) };
    },
  );

  app.post(
    '/api/v1/companies/:company_id/cycles',
    {
      config: write,
      schema: {
        operationId: 'createCycle',
        tags,
        summary: 'Create a cycle for company',
        description: `${MEMBER_RULES} At most ${MAX_CYCLES} cycles per company (422).`,
        params: CompanyParams,
        body: CreateCycleBody,
        response: { 201: CycleEnvelope, 409: sourceConflict },
      },
    },
    async (request, reply) =>
      reply.code(201).send({ cycle: presentCycle(await service.create(request.params.company_id, request.body)) }),
  );

  app.get(
    '/api/v1/companies/:company_id/cycles',
    {
      config: read,
      schema: {
        operationId: 'listCycles',
        tags,
        summary: 'List cycles for a company',
        description:
          'Admins and managers (agents get 403: cycles show colleagues’ names, weights and counts). Oldest first, ' +
          'each with its members in rotation order. Keyset pages (`limit` ≤ 100, `cursor`).',
        params: CompanyParams,
        querystring: ListCyclesQuery,
        response: { 200: CycleList },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      return { cycles: page.items.map(presentCycle), meta: page.meta };
    },
  );

  app.get(
    '/api/v1/companies/:company_id/cycles/:cycle_id',
    {
      config: read,
      schema: {
        operationId: 'getCycle',
        tags,
        summary: 'Get a cycle',
        description: 'Admins and managers (agents get 403), with its members in rotation order.',
        params: CycleParams,
        response: { 200: CycleEnvelope },
      },
    },
    async (request) => ({
      cycle: presentCycle(await service.show(request.params.company_id, request.params.cycle_id)),
    }),
  );

  app.patch(
    '/api/v1/companies/:company_id/cycles/:cycle_id',
    {
      config: write,
      schema: {
        operationId: 'updateCycle',
        tags,
        summary: 'Update a cycle',
        description:
          `Partial update. ${MEMBER_RULES} A new \`user_access_ids\` replaces the member list: members who stay ` +
          'keep their place in the running rotation and their `assigned_count`, new members start at 0, and ' +
          'every weight becomes the one sent (1 without `weights`). `weights` alone is refused (422): send it with ' +
          'the `user_access_ids` it weighs. `source_id: null` unbinds the source; `default: false` leaves the ' +
          'company without a default cycle.',
        params: CycleParams,
        body: UpdateCycleBody,
        response: { 200: CycleEnvelope, 409: sourceConflict },
      },
    },
    async (request) => ({
      cycle: presentCycle(await service.update(request.params.company_id, request.params.cycle_id, request.body)),
    }),
  );

  app.delete(
    '/api/v1/companies/:company_id/cycles/:cycle_id',
    {
      config: write,
      schema: {
        operationId: 'deleteCycle',
        tags,
        summary: 'Delete a cycle',
        description:
          'Leads it assigned keep their assignee and their activity history. Deleting the default cycle leaves the ' +
          'company without one.',
        params: CycleParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.remove(request.params.company_id, request.params.cycle_id);
      return reply.code(204).send(null);
    },
  );
};
