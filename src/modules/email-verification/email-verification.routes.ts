import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { EmptyBody, optionalBody } from '../../lib/schema.ts';
import { principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import { Accepted } from '../auth/auth.schemas.ts';
import { presentUser, UserJson } from '../users/users.schemas.ts';
import type { UsersService } from '../users/users.service.ts';
import { VerifyEmailBody } from './email-verification.schemas.ts';
import type { EmailVerificationService } from './email-verification.service.ts';

export const emailVerificationRoutes: FastifyPluginAsyncTypebox<{
  service: EmailVerificationService;
  users: Pick<UsersService, 'legalTermsAccepted'>;
  rateLimit: number;
}> = async (app, { service, users, rateLimit }) => {
  const limited = { max: rateLimit, timeWindow: '1 minute' };

  app.post(
    '/api/v1/users/verify_email',
    {
      config: { policy: 'public', rateLimit: limited },
      schema: {
        operationId: 'verifyEmail',
        tags: ['Users'],
        summary: 'Verify an email address',
        description:
          'Redeems a one-time verification token (single use, valid 24 h by default). For the account’s current ' +
          'address it sets `email_verified`. For the pending new address of an email change, the address changes ' +
          'now and every credential of the old state ends: tokens, calendar feeds, reset and verification tokens ' +
          '(sign in again). 409 `email_taken` if another account took the address meanwhile.',
        body: VerifyEmailBody,
        response: {
          200: Type.Object({ user: UserJson }),
          409: problemResponse('Another account has this address now.'),
        },
      },
    },
    async (request) => {
      const user = await service.verify(request.body.token);
      return { user: presentUser(user, (await users.legalTermsAccepted([user.id])).has(user.id)) };
    },
  );

  app.post(
    '/api/v1/users/verify_email/resend',
    {
      config: { policy: 'user', rateLimit: limited },
      schema: {
        operationId: 'resendEmailVerification',
        tags: ['Users'],
        summary: 'Send a new verification mail',
        description:
          'Mails a new token to the address waiting for proof: the pending new address of an email change, else ' +
          'the unverified current one. At most 5 verification mails per account and hour (429 with ' +
          '`Retry-After`); 409 `already_verified` when nothing waits for proof.',
        body: EmptyBody,
        response: {
          202: Accepted,
          409: problemResponse('The address is already verified and no change is pending.'),
          429: problemResponse('Too many verification mails for this account in the last hour.'),
        },
      },
      preValidation: optionalBody,
    },
    async (request, reply) => {
      await service.resend(principalOf(request));
      return reply.code(202).send({ status: 'accepted' as const, message: 'A verification token is on its way.' });
    },
  );
};
