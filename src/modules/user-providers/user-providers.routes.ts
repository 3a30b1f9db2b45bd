import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import { UserParams } from '../users/users.schemas.ts';
import { ProvidersEnvelope, presentProviders } from './user-providers.schemas.ts';
import type { UserProvidersService } from './user-providers.service.ts';

export const userProvidersRoutes: FastifyPluginAsyncTypebox<{ service: UserProvidersService }> = async (
  app,
  { service },
) => {
  app.get(
    '/api/v1/users/:user_id/providers',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'listUserProviders',
        tags: ['User Providers'],
        summary: 'Show providers for a user',
        description:
          'How the user can sign in: `password` while the account has a password (`linked_at` is when the ' +
          'account was created), then each linked OpenID Connect identity, oldest first. Yourself and platform ' +
          'staff only.',
        params: UserParams,
        response: {
          200: ProvidersEnvelope,
          403: problemResponse('You can see this user but not how they sign in.'),
          404: problemResponse('No such user, or not visible to you.'),
        },
      },
    },
    async (request) => {
      const { user, links } = await service.list(principalOf(request), request.params.user_id);
      return { providers: presentProviders(user, links) };
    },
  );
};
