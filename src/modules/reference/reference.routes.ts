import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { problemResponse } from '../../plugins/docs.ts';
import { AccessJson, AccessParams, StageJson } from './reference.schemas.ts';
import type { ReferenceService } from './reference.service.ts';

export const referenceRoutes: FastifyPluginAsyncTypebox<{ service: ReferenceService }> = async (app, { service }) => {
  app.get(
    '/api/v1/stages',
    {
      config: { policy: 'user', apiKeys: 'allowed' },
      schema: {
        operationId: 'listStages',
        tags: ['Stages'],
        summary: 'List stages',
        description: 'The pipeline stages, in order. `kind` tells open stages from won and lost ones.',
        response: { 200: Type.Object({ stages: Type.Array(StageJson) }) },
      },
    },
    async () => ({ stages: await service.stages() }),
  );

  app.get(
    '/api/v1/accesses',
    {
      config: { policy: 'user', apiKeys: 'allowed' },
      schema: {
        operationId: 'listAccesses',
        tags: ['Accesses'],
        summary: 'List all available accesses',
        description:
          'The accesses (roles) a user can hold in a company: `admin`, `manager`, `agent`, each with its permissions ' +
          '(what it may do in the company and its descendants). Reference data, the same for every company.',
        response: { 200: Type.Object({ accesses: Type.Array(AccessJson) }) },
      },
    },
    async () => ({ accesses: await service.accesses() }),
  );

  app.get(
    '/api/v1/accesses/:access_id',
    {
      config: { policy: 'user', apiKeys: 'allowed' },
      schema: {
        operationId: 'getAccess',
        tags: ['Accesses'],
        summary: 'List access by id',
        description: 'One access (role) with its permissions.',
        params: AccessParams,
        response: { 200: Type.Object({ access: AccessJson }), 404: problemResponse('No such access.') },
      },
    },
    async (request) => ({ access: await service.access(request.params.access_id) }),
  );
};
