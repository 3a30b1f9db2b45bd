import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import {
  CreateUserAccessBody,
  presentUserAccess,
  UpdateUserAccessBody,
  UserAccessEnvelope,
  UserAccessJson,
  UserAccessParams,
  UserParams,
} from './user-accesses.schemas.ts';
import type { UserAccessesService } from './user-accesses.service.ts';

const tags = ['User Company Relation'];

export const userAccessesRoutes: FastifyPluginAsyncTypebox<{ service: UserAccessesService }> = async (
  app,
  { service },
) => {
  // The company of an existing access: PUT and DELETE are authorized against it.
  const companyOfAccess = {
    permission: 'user_accesses:write' as const,
    company: (request: { params: unknown }) => {
      const params = request.params as { user_id: number; user_access_id: number };
      return service.companyOf(params.user_id, params.user_access_id);
    },
  };

  app.post(
    '/api/v1/users/:user_id/user_access',
    {
      config: {
        policy: {
          permission: 'user_accesses:write',
          company: (request) => (request.body as { company_id: number }).company_id,
        },
      },
      schema: {
        operationId: 'createUserAccess',
        tags,
        summary: 'Create user_accesses for a user',
        description:
          'Gives a user an access in a company. Needs admin of `company_id` (or of an ancestor). One access per ' +
          'user and company; `primary: true` clears the user’s other primary in the same transaction.',
        params: UserParams,
        body: CreateUserAccessBody,
        response: { 201: UserAccessEnvelope },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send({ user_access: presentUserAccess(await service.create(request.params.user_id, request.body)) }),
  );

  app.get(
    '/api/v1/users/:user_id/user_access',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'listUserAccesses',
        tags,
        summary: 'Show user_accesses for a user',
        description: 'Yourself and platform staff see every row; company admins see the rows of their companies.',
        params: UserParams,
        response: { 200: Type.Object({ user_accesses: Type.Array(UserAccessJson) }) },
      },
    },
    async (request) => ({
      user_accesses: (await service.list(principalOf(request), request.params.user_id)).map(presentUserAccess),
    }),
  );

  app.put(
    '/api/v1/users/:user_id/user_access/:user_access_id',
    {
      config: { policy: companyOfAccess },
      schema: {
        operationId: 'updateUserAccess',
        tags,
        summary: 'Update user_accesses for a user',
        description: 'Changes the access or the primary flag. The last admin of a company cannot be demoted (422).',
        params: UserAccessParams,
        body: UpdateUserAccessBody,
        response: { 200: UserAccessEnvelope },
      },
    },
    async (request) => ({
      user_access: presentUserAccess(
        await service.update(request.params.user_id, request.params.user_access_id, request.body),
      ),
    }),
  );

  app.delete(
    '/api/v1/users/:user_id/user_access/:user_access_id',
    {
      config: { policy: companyOfAccess },
      schema: {
        operationId: 'deleteUserAccess',
        tags,
        summary: 'Remove an specific user_access',
        description:
          'The last admin of a company cannot be removed (422). Takes effect on the next request. The person’s open ' +
          'leads go back through the distribution rules when the company has cycles enabled (their activity says ' +
          'so), and become unassigned otherwise; won and lost leads keep their history in the timeline.',
        params: UserAccessParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.remove(principalOf(request).userId, request.params.user_id, request.params.user_access_id);
      return reply.code(204).send(null);
    },
  );
};
