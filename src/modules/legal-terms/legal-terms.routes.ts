import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import {
  AcceptLegalTermBody,
  LegalTermAcceptanceEnvelope,
  LegalTermJson,
  LegalTermParams,
  presentAcceptance,
  presentLegalTerm,
  UserParams,
} from './legal-terms.schemas.ts';
import type { LegalTermsService } from './legal-terms.service.ts';

/** Legal Terms (public documents) and accepting them, a User Onboarding step (finishing it is the users module's). */
export const legalTermsRoutes: FastifyPluginAsyncTypebox<{ service: LegalTermsService }> = async (app, { service }) => {
  app.get(
    '/api/v1/legal_terms/current',
    {
      config: { policy: 'public' },
      schema: {
        operationId: 'listCurrentLegalTerms',
        tags: ['Legal Terms'],
        summary: 'Current available for signature',
        description:
          'The current version of each kind of document (`terms_of_service`, `privacy`): the newest one published ' +
          'so far. A user has accepted the legal terms (`legal_terms_accepted` in the user JSON) when they accepted ' +
          'every document of this list.',
        response: { 200: Type.Object({ legal_terms: Type.Array(LegalTermJson) }) },
      },
    },
    async () => ({ legal_terms: (await service.current()).map(presentLegalTerm) }),
  );

  app.get(
    '/api/v1/legal_terms/:legal_term_id',
    {
      config: { policy: 'public' },
      schema: {
        operationId: 'getLegalTerm',
        tags: ['Legal Terms'],
        summary: 'Get legal terms per id',
        description: 'Any published version, also a superseded one. A version scheduled for later answers 404.',
        params: LegalTermParams,
        response: {
          200: Type.Object({ legal_term: LegalTermJson }),
          404: problemResponse('No such version, or not published yet.'),
        },
      },
    },
    async (request) => ({ legal_term: presentLegalTerm(await service.show(request.params.legal_term_id)) }),
  );

  app.post(
    '/api/v1/users/:user_id/legal_terms',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'acceptLegalTerm',
        tags: ['User Onboarding'],
        summary: 'Approve T&C',
        description:
          'Records that you accept a current legal document, with the time, your IP address and user agent ' +
          '(cut to 512 characters). Only for yourself: 403 for another user you can see, 404 for one you cannot. ' +
          'Accepting the same version again answers 200 with the first acceptance, unchanged. A superseded version ' +
          'answers 422 `legal_term_superseded`; an unknown one 404.',
        params: UserParams,
        body: AcceptLegalTermBody,
        response: {
          201: { ...LegalTermAcceptanceEnvelope, description: 'Accepted now.' },
          200: { ...LegalTermAcceptanceEnvelope, description: 'Accepted before: the first acceptance.' },
          403: problemResponse('Not yourself (you can see this user), or an API key (`api_key_not_allowed`).'),
          404: problemResponse('No such user visible to you, or no such published legal term.'),
        },
      },
    },
    async (request, reply) => {
      const userAgent = request.headers['user-agent'];
      const { acceptance, term, created } = await service.accept(
        principalOf(request),
        request.params.user_id,
        request.body.legal_term_id,
        { ip: request.ip, userAgent },
      );
      return reply.code(created ? 201 : 200).send({ legal_term_acceptance: presentAcceptance(acceptance, term) });
    },
  );
};
