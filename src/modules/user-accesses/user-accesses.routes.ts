import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
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
          'Gives a user an access in a company. Needs admin of `company_id` (or of an ancestor): 404 when the ' +
          'company is invisible, 403 when visible but not administered. The user must already be visible to the ' +
          'caller (a member of some company the caller administers), or the caller platform staff; anyone else ' +
          'answers 404 exactly like an unknown id: strangers join through invitations. Giving a direct access in a ' +
          'child company to an administrator of its parent needs admin of the parent too (403 `inherited_admin`), ' +
          'since it would override the access they inherit. One access per user and company (422); ' +
          '`primary: true` moves the user’s primary to this access in the same transaction.',
        params: UserParams,
        body: CreateUserAccessBody,
        response: {
          201: UserAccessEnvelope,
          403: problemResponse('You do not administer the company (or its parent: `inherited_admin`).'),
          404: problemResponse('The user, company or access does not exist, or is not visible to you.'),
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send({
        user_access: presentUserAccess(
          await service.create(principalOf(request), request.params.user_id, request.body),
        ),
      }),
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
        response: {
          200: Type.Object({ user_accesses: Type.Array(UserAccessJson) }),
          404: problemResponse('No such user, or not visible to you.'),
        },
      },
    },
    async (request) => ({
      user_accesses: (await service.list(principalOf(request), request.params.user_id)).map(presentUserAccess),
    }),
  );

  app.put(
    '/api/v1/users/:user_id/user_access/:user_access_id',
    {
      // The rule needs the access's company and person: the service applies it (src/modules/authz/authz.policies.ts).
      config: { policy: 'user' },
      schema: {
        operationId: 'updateUserAccess',
        tags,
        summary: 'Update user_accesses for a user',
        description:
          'Changes the access or the primary flag. Needs admin of the access’s company: 404 when the access or its ' +
          'company is invisible, 403 when visible but not administered. Changing the access of an administrator of ' +
          'the parent company needs admin of the parent too (403 `inherited_admin`). The last admin of a company ' +
          'cannot be demoted (422 `last_admin`).',
        params: UserAccessParams,
        body: UpdateUserAccessBody,
        response: {
          200: UserAccessEnvelope,
          403: problemResponse('Visible, but you do not administer its company (or its parent: `inherited_admin`).'),
          404: problemResponse('No such access of this user, or not visible to you.'),
          422: problemResponse('Invalid input, or `last_admin`: the company would be left without an administrator.'),
        },
      },
    },
    async (request) => ({
      user_access: presentUserAccess(
        await service.update(principalOf(request), request.params.user_id, request.params.user_access_id, request.body),
      ),
    }),
  );

  app.delete(
    '/api/v1/users/:user_id/user_access/:user_access_id',
    {
      // Leaving needs no permission, removing someone else does: the service applies the rule (authz.policies.ts).
      config: { policy: 'user' },
      schema: {
        operationId: 'deleteUserAccess',
        tags,
        summary: 'Remove an specific user_access',
        description:
          'Every user may remove their own access (leave the company), whatever their role. Removing someone ' +
          'else’s needs admin of the access’s company (404 when invisible, 403 when visible but not administered), ' +
          'and, for an administrator of the parent company, admin of the parent too (403 `inherited_admin`). The ' +
          'last admin of a company cannot be removed (422 `last_admin`). Takes effect on the next request. The ' +
          'person’s open leads go back through the distribution rules when the company has cycles enabled (their ' +
          'activity says so), and become unassigned otherwise; won and lost leads keep their history in the timeline.',
        params: UserAccessParams,
        response: {
          204: Type.Null(),
          403: problemResponse('Visible, but you do not administer its company (or its parent: `inherited_admin`).'),
          404: problemResponse('No such access of this user, or not visible to you.'),
          422: problemResponse('Invalid input, or `last_admin`: the company would be left without an administrator.'),
        },
      },
    },
    async (request, reply) => {
      await service.remove(principalOf(request), request.params.user_id, request.params.user_access_id);
      return reply.code(204).send(null);
    },
  );
};
