import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Clock } from '../../lib/clock.ts';
import { PageMeta } from '../../lib/pagination.ts';
import { optionalBody } from '../../lib/schema.ts';
import { accessOf, principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import { presentUserAccess, UserAccessEnvelope } from '../user-accesses/user-accesses.schemas.ts';
import {
  AcceptBody,
  ByEmailQuery,
  CodeParams,
  CompanyParams,
  CreatedInvitationJson,
  CreateInvitationBody,
  InvitationJson,
  InvitationParams,
  ListQuery,
  PublicInvitationJson,
  presentInvitation,
  presentPublicInvitation,
} from './invitations.schemas.ts';
import type { InvitationsService } from './invitations.service.ts';

const tags = ['Invitations'];
const InvitationList = Type.Object({ invitations: Type.Array(InvitationJson), meta: PageMeta });

export const invitationsRoutes: FastifyPluginAsyncTypebox<{
  service: InvitationsService;
  clock: Clock;
  rateLimit: number;
}> = async (app, { service, clock, rateLimit }) => {
  app.post(
    '/api/v1/companies/:company_id/invitations',
    {
      config: { policy: { permission: 'invitations:write' } },
      schema: {
        operationId: 'createInvitation',
        tags,
        summary: 'Creates user invitation',
        description:
          'Invites an email address into the company with an access, and emails it a link with a one-time code. ' +
          'Admins invite with any access, managers with `agent` only (403). The answer carries the `code` once; ' +
          'it is stored hashed and never shown again. Re-inviting an address with a pending invitation replaces ' +
          'it (the old code stops working). A pending invitation takes a seat of the plan: over `max_users` the ' +
          'answer is 422 `plan_limit_reached`. An address that already has an access here gets 422 ' +
          '`already_member`. Codes expire after INVITATION_TTL (7 days by default).',
        params: CompanyParams,
        body: CreateInvitationBody,
        response: {
          201: Type.Object({ invitation: CreatedInvitationJson }),
          429: problemResponse(
            "`invitation_budget`: the company's, or your own, invitations of the last 24 hours reached the plan's " +
              '`max_invitations_per_day`; or `rate_limited`: too many requests. See Retry-After.',
          ),
        },
      },
    },
    async (request, reply) => {
      const { view, code } = await service.create(principalOf(request), accessOf(request), request.body);
      return reply.code(201).send({ invitation: { ...presentInvitation(view, clock.now()), code } });
    },
  );

  app.get(
    '/api/v1/companies/:company_id/invitations',
    {
      config: { policy: { permission: 'invitations:read' } },
      schema: {
        operationId: 'listCompanyInvitations',
        tags,
        summary: 'Get all pending invitations for a company',
        description: 'Pending only: not accepted, not deleted, not expired. Oldest first. Codes are never listed.',
        params: CompanyParams,
        querystring: ListQuery,
        response: { 200: InvitationList },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      const now = clock.now();
      return { invitations: page.items.map((view) => presentInvitation(view, now)), meta: page.meta };
    },
  );

  app.delete(
    '/api/v1/companies/:company_id/invitations/:invitation_id',
    {
      config: { policy: { permission: 'invitations:write' } },
      schema: {
        operationId: 'deleteInvitation',
        tags,
        summary: 'Delete an invitation',
        description:
          'Withdraws a pending invitation: its code stops working at once. Managers may delete agent invitations ' +
          'only (403 otherwise). Accepted, deleted, expired or unknown invitations answer 404.',
        params: InvitationParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.remove(accessOf(request), request.params.invitation_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/invitations',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'listInvitationsByEmail',
        tags,
        summary: 'Get pending invitations by email',
        description:
          'The pending invitations sent to `email`, for the signed-in owner of that address or platform staff. ' +
          "Anyone else's address answers 403, whether or not it has invitations.",
        querystring: ByEmailQuery,
        response: { 200: InvitationList, 403: problemResponse('The address is not yours.') },
      },
    },
    async (request) => {
      const page = await service.listForEmail(principalOf(request), request.query);
      const now = clock.now();
      return { invitations: page.items.map((view) => presentInvitation(view, now)), meta: page.meta };
    },
  );

  app.get(
    '/api/v1/invitations/:code',
    {
      config: { policy: 'public', rateLimit: { max: rateLimit, timeWindow: '1 minute' } },
      schema: {
        operationId: 'getInvitationByCode',
        tags,
        summary: 'Get invitation by code (no auth required)',
        description:
          'What the holder of a code needs to decide: the company name and avatar, the access, the masked email ' +
          'and the expiry, nothing else. Unknown, expired, used and deleted codes answer the same 404. Rate ' +
          'limited per client (AUTH_RATE_LIMIT per minute).',
        params: CodeParams,
        response: {
          200: Type.Object({ invitation: PublicInvitationJson }),
          404: problemResponse('Unknown, expired, used or deleted code.'),
        },
      },
    },
    async (request) => ({ invitation: presentPublicInvitation(await service.lookup(request.params.code)) }),
  );

  app.post(
    '/api/v1/invitations/:code/accept',
    {
      config: { policy: 'user' },
      schema: {
        operationId: 'acceptInvitation',
        tags,
        summary: 'Accept an invitation',
        description:
          'The signed-in user whose email is the invited address joins the company with the invited access (the ' +
          'seat was held by the invitation, so the plan limit does not refuse it). Single use. Unknown, expired, ' +
          "used and deleted codes, and codes sent to another address, answer 404 (a code's existence is not " +
          'revealed to others). Already a member of the company: 422 `already_member`.',
        params: CodeParams,
        body: AcceptBody,
        response: { 201: UserAccessEnvelope, 404: problemResponse('No usable invitation for you with this code.') },
      },
      preValidation: optionalBody,
    },
    async (request, reply) => {
      const view = await service.accept(principalOf(request), request.params.code, request.body);
      return reply.code(201).send({ user_access: presentUserAccess(view) });
    },
  );
};
