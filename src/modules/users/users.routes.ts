import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PageMeta } from '../../lib/pagination.ts';
import { principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import type { UserRow } from './users.repository.ts';
import {
  FindByEmailQuery,
  ListUsersQuery,
  OnboardingBody,
  presentUser,
  SignupBody,
  UpdateUserBody,
  UserJson,
  UserParams,
} from './users.schemas.ts';
import type { UsersService } from './users.service.ts';

const UserEnvelope = Type.Object({ user: UserJson });
const notVisible = problemResponse('No such user, or not visible to you.');
const notYours = problemResponse('Not your profile (you can see this user), or an API key (`api_key_not_allowed`).');

export const usersRoutes: FastifyPluginAsyncTypebox<{ service: UsersService; rateLimit: number }> = async (
  app,
  { service, rateLimit },
) => {
  const present = async (row: UserRow) => presentUser(row, (await service.legalTermsAccepted([row.id])).has(row.id));

  app.post(
    '/api/v1/users',
    {
      config: { policy: 'public', rateLimit: { max: rateLimit, timeWindow: '1 minute' } },
      schema: {
        operationId: 'createUser',
        tags: ['Users'],
        summary: 'Create a user',
        description:
          'Public sign-up. The email is stored lower-cased; passwords are 8 to 128 characters. With ' +
          '`invitation_code`, the new user joins the inviting company with the invited access in the same step; ' +
          'a code that is unknown, used, expired or for another email is 422 on `invitation_code`, and no user is ' +
          'created; accepting the code proves the address (`email_verified: true`). Without one, a single-use ' +
          'verification token is mailed (`POST /api/v1/users/verify_email`); signing in and creating companies do ' +
          'not wait for it. A taken address answers 409 `email_taken`, behind the per-IP limit of this route (as ' +
          'GitHub and Stripe do).',
        body: SignupBody,
        response: { 201: UserEnvelope, 409: problemResponse('The email is already registered.') },
      },
    },
    async (request, reply) => reply.code(201).send({ user: await present(await service.signup(request.body)) }),
  );

  app.get(
    '/api/v1/users',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'listUsers',
        tags: ['Users'],
        summary: 'Show all users',
        description: 'Platform staff see everyone; others see the members of the companies they administer or manage.',
        querystring: ListUsersQuery,
        response: { 200: Type.Object({ users: Type.Array(UserJson), meta: PageMeta }) },
      },
    },
    async (request) => {
      const page = await service.list(principalOf(request), request.query);
      const accepted = await service.legalTermsAccepted(page.items.map((user) => user.id));
      return { users: page.items.map((user) => presentUser(user, accepted.has(user.id))), meta: page.meta };
    },
  );

  app.get(
    '/api/v1/users/find_by_email',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'findUserByEmail',
        tags: ['Users'],
        summary: 'Find a user by email',
        description:
          'For platform staff (anyone) and for administrators and managers of some company, who find only people ' +
          'they can already see: themselves and the members of the companies they administer or manage. Any other ' +
          'address answers 404 exactly like an unknown one; to bring someone new in, invite them by email.',
        querystring: FindByEmailQuery,
        response: {
          200: UserEnvelope,
          403: problemResponse('The caller manages no company.'),
          404: problemResponse('No user you can see has this email.'),
        },
      },
    },
    async (request) => ({ user: await present(await service.findByEmail(principalOf(request), request.query.email)) }),
  );

  app.get(
    '/api/v1/users/:user_id',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'getUser',
        tags: ['Users'],
        summary: 'Show a user',
        description: 'Yourself, or a member of a company you administer or manage.',
        params: UserParams,
        response: { 200: UserEnvelope, 404: notVisible },
      },
    },
    async (request) => ({ user: await present(await service.visible(principalOf(request), request.params.user_id)) }),
  );

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/api/v1/users/:user_id',
      config: { policy: 'user' },
      schema: {
        operationId: method === 'PUT' ? 'updateUser' : 'patchUser',
        tags: ['Users'],
        summary: 'Update a user',
        description:
          'Partial update: absent fields stay as they are. Changing your email or password needs `current_password`. ' +
          'A new email does not replace the current one: it waits in `pending_email` and a verification token is ' +
          'mailed to it; the address changes when that token is redeemed (sending the current address again drops ' +
          'the pending change). A new password, and a deactivation, end every credential at once: tokens, calendar ' +
          'feeds, reset and verification tokens. Only platform staff may set `status`.',
        params: UserParams,
        body: UpdateUserBody,
        response: {
          200: UserEnvelope,
          403: notYours,
          404: notVisible,
          409: problemResponse('The new email is already registered.'),
        },
      },
      handler: async (request) => ({
        user: await present(await service.update(principalOf(request), request.params.user_id, request.body)),
      }),
    });
  }

  app.put(
    '/api/v1/users/:user_id/onboarding',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'completeOnboarding',
        tags: ['User Onboarding'],
        summary: 'Mark as completed the onboarding',
        description:
          'Stores when you completed the onboarding (`onboarding_completed_at`); doing it again keeps the first ' +
          'time. It cannot be undone: `completed: false` answers 422. Only for yourself: 403 for another user you ' +
          'can see, 404 for one you cannot.',
        params: UserParams,
        body: OnboardingBody,
        response: { 200: UserEnvelope, 403: notYours, 404: notVisible },
      },
    },
    async (request) => ({
      user: await present(await service.completeOnboarding(principalOf(request), request.params.user_id)),
    }),
  );
};
