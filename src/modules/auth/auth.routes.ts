import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import type { UserRow } from '../users/users.repository.ts';
import { presentUser, UserJson } from '../users/users.schemas.ts';
import type { UsersService } from '../users/users.service.ts';
import { Accepted, LoginBody, ResetConfirmBody, ResetRequestBody, TokenJson, ValidateJson } from './auth.schemas.ts';
import type { AuthService } from './auth.service.ts';

export const authRoutes: FastifyPluginAsyncTypebox<{
  service: AuthService;
  users: Pick<UsersService, 'legalTermsAccepted'>;
  rateLimit: number;
}> = async (app, { service, users, rateLimit }) => {
  const present = async (row: UserRow) => presentUser(row, (await users.legalTermsAccepted([row.id])).has(row.id));
  const limited = { max: rateLimit, timeWindow: '1 minute' };

  app.post(
    '/api/v1/users/login',
    {
      config: { policy: 'public', rateLimit: limited },
      schema: {
        operationId: 'login',
        tags: ['Users'],
        summary: 'Login into the application',
        description:
          'Exchanges an email and password for a bearer token. Unknown email and wrong password get one answer.',
        body: LoginBody,
        response: { 200: TokenJson, 401: problemResponse('The email or password is incorrect.') },
      },
    },
    async (request) => {
      const { token, expiresAt, user } = await service.login(request.body.email, request.body.password);
      return { token, token_type: 'Bearer' as const, expires_at: expiresAt.toISOString(), user: await present(user) };
    },
  );

  app.get(
    '/api/v1/users/validate_jwt',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'validateJwt',
        tags: ['Users'],
        summary: 'Validate JWT',
        description: 'Answers 200 with the token owner while the token is valid, otherwise 401.',
        response: { 200: ValidateJson },
      },
    },
    async (request) => ({
      valid: true as const,
      expires_at: request.tokenExpiresAt!.toISOString(),
      user: await present(await service.validate(principalOf(request))),
    }),
  );

  app.post(
    '/api/v1/users/reset_password',
    {
      config: { policy: 'public', rateLimit: limited },
      schema: {
        operationId: 'requestPasswordReset',
        tags: ['Users'],
        summary: 'Reset user password',
        description: 'Always 202, known address or not. A known, active user is emailed a one-time token.',
        body: ResetRequestBody,
        response: { 202: Accepted },
      },
    },
    async (request, reply) => {
      await service.requestPasswordReset(request.body.email);
      return reply.code(202).send({
        status: 'accepted' as const,
        message: 'If an account uses this address, a reset token is on its way.',
      });
    },
  );

  app.put(
    '/api/v1/users/reset_password',
    {
      config: { policy: 'public', rateLimit: limited },
      schema: {
        operationId: 'confirmPasswordReset',
        tags: ['Users'],
        summary: 'Set a new password with a reset token',
        description: 'Single use. Revokes every token issued before, and every other outstanding reset token.',
        body: ResetConfirmBody,
        response: { 200: Type.Object({ user: UserJson }) },
      },
    },
    async (request) => ({
      user: await present(await service.confirmPasswordReset(request.body.token, request.body.password)),
    }),
  );
};
