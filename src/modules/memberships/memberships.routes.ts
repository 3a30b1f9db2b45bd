import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../plugins/auth.ts';
import { problemResponse } from '../../plugins/docs.ts';
import {
  AttachMembershipBody,
  CompanyMembershipJson,
  CompanyParams,
  MembershipJson,
  MembershipParams,
  presentMembership,
  presentSubscription,
  SubscriptionEnvelope,
} from './memberships.schemas.ts';
import type { MembershipsService } from './memberships.service.ts';

export const membershipsRoutes: FastifyPluginAsyncTypebox<{ service: MembershipsService }> = async (
  app,
  { service },
) => {
  app.get(
    '/api/v1/memberships',
    {
      config: { policy: 'public' },
      schema: {
        operationId: 'listMemberships',
        tags: ['Memberships'],
        summary: 'List available memberships',
        description: 'The plans on offer, cheapest first (a short reference list: not paginated).',
        response: { 200: Type.Object({ memberships: Type.Array(MembershipJson) }) },
      },
    },
    async () => ({ memberships: (await service.list()).map(presentMembership) }),
  );

  app.get(
    '/api/v1/memberships/:membership_id',
    {
      config: { policy: 'public' },
      schema: {
        operationId: 'getMembership',
        tags: ['Memberships'],
        summary: 'Info of a membership',
        description: 'Any plan, also one no longer offered (companies may still be on it).',
        params: MembershipParams,
        response: {
          200: Type.Object({ membership: MembershipJson }),
          404: problemResponse('No such membership.'),
        },
      },
    },
    async (request) => ({ membership: presentMembership(await service.show(request.params.membership_id)) }),
  );

  app.get(
    '/api/v1/companies/:company_id/membership',
    {
      config: { policy: { permission: 'companies:read' } },
      schema: {
        operationId: 'getCompanyMembership',
        tags: ['Membership'],
        summary: "Show a company's current subscription",
        description:
          '`subscription` is the subscription in force, or `null` when the company has none; `membership` is always ' +
          'the plan in force, whose limits apply: the subscription’s plan, or the free plan without one. An active ' +
          'subscription renews: its period shown is the one containing now.',
        params: CompanyParams,
        response: { 200: CompanyMembershipJson },
      },
    },
    async (request) => {
      const { subscription, plan } = await service.current(request.params.company_id);
      return {
        subscription: subscription === null ? null : presentSubscription(subscription),
        membership: presentMembership(plan),
      };
    },
  );

  app.post(
    '/api/v1/companies/:company_id/membership',
    {
      config: { policy: { permission: 'memberships:write' } },
      schema: {
        operationId: 'attachMembership',
        tags: ['Membership'],
        summary: 'Attach membership to company',
        description:
          'Starts a subscription to the plan for one period (a month or a year, by the plan’s interval) from now. ' +
          'A current subscription to another plan, or a canceled one, is ended in the same transaction (201). ' +
          'Attaching the plan the company is already actively on changes nothing and answers 200 with it. ' +
          'A plan whose `max_users` is below the seats in use (members plus pending invitations) is refused with ' +
          '422 `plan_limit_reached`; a plan no longer offered with 422 `membership_unavailable`. A paid plan ' +
          '(`price_cents` > 0) is attached by platform staff (there is no payment step in the API): a company admin ' +
          'gets 403 `payment_required`, unless the operator set `PLAN_SELF_SERVICE=true`. Moving to the free plan ' +
          'and canceling stay with the admin.',
        params: CompanyParams,
        body: AttachMembershipBody,
        response: {
          201: { ...SubscriptionEnvelope, description: 'A new subscription started.' },
          200: { ...SubscriptionEnvelope, description: 'The company was already on this plan: unchanged.' },
          403: problemResponse('Not an admin of the company, or a paid plan without PLAN_SELF_SERVICE.'),
        },
      },
    },
    async (request, reply) => {
      const { subscription, created } = await service.attach(
        principalOf(request),
        request.params.company_id,
        request.body.membership_id,
      );
      return reply.code(created ? 201 : 200).send({ subscription: presentSubscription(subscription) });
    },
  );

  app.delete(
    '/api/v1/companies/:company_id/membership',
    {
      config: { policy: { permission: 'memberships:write' } },
      schema: {
        operationId: 'cancelMembership',
        tags: ['Membership'],
        summary: 'Cancel current subscription',
        description:
          'Stops renewal: the subscription turns `canceled` and its plan stays in force until `current_period_end`, ' +
          'then the company is on the free plan (members above its limit stay; new ones are refused). Canceling a ' +
          'canceled subscription answers it unchanged; no subscription in force answers 404.',
        params: CompanyParams,
        response: { 200: SubscriptionEnvelope },
      },
    },
    async (request) => ({ subscription: presentSubscription(await service.cancel(request.params.company_id)) }),
  );
};
