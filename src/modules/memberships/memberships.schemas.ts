import { type Static, Type } from 'typebox';
import type { memberships, subscriptions } from '../../db/schema/index.ts';

type PlanRow = typeof memberships.$inferSelect;
type SubscriptionRow = typeof subscriptions.$inferSelect;

const Id = Type.Integer({ minimum: 1 });
const Timestamp = Type.String({ format: 'date-time' });
const Limit = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });

/** A plan. Its limits are enforced by src/modules/limits; `null` means unlimited. */
export const MembershipJson = Type.Object({
  id: Type.Integer(),
  code: Type.String(),
  name: Type.String(),
  price_cents: Type.Integer({ description: 'Price per interval, in the smallest unit of `currency`.' }),
  currency: Type.String({ description: 'ISO 4217' }),
  interval: Type.Union([Type.Literal('month'), Type.Literal('year')]),
  max_users: Limit('Members plus pending invitations; null: unlimited.'),
  max_leads_per_month: Limit('Null: unlimited.'),
  max_invitations_per_day: Type.Integer({
    description:
      'Invitations the company may send in 24 hours, and each inviter across all their companies (429 beyond).',
  }),
  max_storage_bytes: Limit(
    'Bytes of import files and kept rejected rows the company may hold (an upload past it: 422); null: unlimited.',
  ),
});

export const SubscriptionJson = Type.Object({
  id: Type.Integer(),
  company_id: Type.Integer(),
  status: Type.Union([Type.Literal('active'), Type.Literal('canceled'), Type.Literal('ended')], {
    description: '`active` renews at each period end; `canceled` stays in force until `current_period_end`.',
  }),
  membership: MembershipJson,
  current_period_start: Timestamp,
  current_period_end: Timestamp,
  canceled_at: Type.Union([Timestamp, Type.Null()]),
});

export const SubscriptionEnvelope = Type.Object({ subscription: SubscriptionJson });

export const CompanyMembershipJson = Type.Object({
  subscription: Type.Union([SubscriptionJson, Type.Null()], {
    description: 'The subscription in force; null when the company is on the implicit free plan.',
  }),
  // The plan in force: the subscription's, or the free plan without one.
  membership: MembershipJson,
});

export const MembershipParams = Type.Object({ membership_id: Id });
export const CompanyParams = Type.Object({ company_id: Id });
export const AttachMembershipBody = Type.Object({ membership_id: Id }, { additionalProperties: false });

export type AttachMembershipInput = Static<typeof AttachMembershipBody>;

/** A subscription with its plan and the period that contains "now" (active subscriptions roll forward). */
export type SubscriptionView = { row: SubscriptionRow; plan: PlanRow; periodStart: Date; periodEnd: Date };

export function presentMembership(plan: PlanRow) {
  return {
    id: plan.id,
    code: plan.code,
    name: plan.name,
    price_cents: plan.priceCents,
    currency: plan.currency,
    interval: plan.interval,
    max_users: plan.maxUsers,
    max_leads_per_month: plan.maxLeadsPerMonth,
    max_invitations_per_day: plan.maxInvitationsPerDay,
    max_storage_bytes: plan.maxStorageBytes,
  };
}

export function presentSubscription(view: SubscriptionView) {
  return {
    id: view.row.id,
    company_id: view.row.companyId,
    status: view.row.status,
    membership: presentMembership(view.plan),
    current_period_start: view.periodStart.toISOString(),
    current_period_end: view.periodEnd.toISOString(),
    canceled_at: view.row.canceledAt?.toISOString() ?? null,
  };
}
