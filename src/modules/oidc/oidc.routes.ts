import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { problemResponse } from '../../plugins/docs.ts';
import { TokenJson } from '../auth/auth.schemas.ts';
import { presentUser } from '../users/users.schemas.ts';
import type { UsersService } from '../users/users.service.ts';
import { OidcLoginBody } from './oidc.schemas.ts';
import type { OidcService } from './oidc.service.ts';

export const oidcRoutes: FastifyPluginAsyncTypebox<{
  service: OidcService;
  users: Pick<UsersService, 'legalTermsAccepted'>;
  rateLimit: number;
}> = async (app, { service, users, rateLimit }) => {
  app.post(
    '/api/v1/users/login/oidc',
    {
      config: { policy: 'public', rateLimit: { max: rateLimit, timeWindow: '1 minute' } },
      schema: {
        operationId: 'loginWithOidc',
        tags: ['User Providers'],
        summary: 'Login with an OpenID Connect provider',
        description:
          'Exchanges an ID token from the provider configured by `OIDC_ISSUER` and `OIDC_CLIENT_ID` for a bearer ' +
          'token (the same answer as password login). The token must be signed with an asymmetric algorithm by a ' +
          'key of the issuer’s JWKS, be issued by that issuer for that client id, be unexpired, and carry ' +
          '`email_verified: true`. The identity (provider, `sub`) already linked signs that user in; otherwise the ' +
          'account with the same, verified email is linked, or an active account without a password is created ' +
          'and linked. An account whose email was never verified is claimed by the identity: its password is ' +
          'removed and every token issued under it is revoked (whoever typed the address cannot keep a way in). ' +
          'Answers 501 `oidc_not_configured` when this server has no provider configured.',
        body: OidcLoginBody,
        response: {
          200: TokenJson,
          401: problemResponse(
            'The ID token is invalid, expired, for another client or issuer, its email is not verified, or the ' +
              'account is deactivated.',
          ),
          501: problemResponse('No OpenID Connect provider is configured on this server.'),
          503: problemResponse('The provider’s discovery document or keys could not be fetched.'),
        },
      },
    },
    async (request) => {
      const { token, expiresAt, user } = await service.login(request.body.id_token);
      return {
        token,
        token_type: 'Bearer' as const,
        expires_at: expiresAt.toISOString(),
        user: presentUser(user, (await users.legalTermsAccepted([user.id])).has(user.id)),
      };
    },
  );
};
