import { type Static, Type } from 'typebox';
import type { memberships, subscriptions } from '../../db/schema/index.ts';

type PlanRow = typeof memberships.$inferSelect;
type SubscriptionRow = typeof subscriptions.$inferSelect;

const Id = Type.Integer({ minimum: 1 });
const Timestamp = Type.String({ format: 'date-time' });
const Limit = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });

export const freePlanExample = {
  id: 1,
  code: 'free',
  name: 'Free',
  price_cents: 0,
  currency: 'USD',
  interval: 'month',
  max_users: 3,
  max_leads_per_month: 500,
  max_invitations_per_day: 20,
  max_storage_bytes: 104_857_600,
};

/** A plan. Its limits are enforced by src/modules/limits; `null` means unlimited. */
export const MembershipJson = Type.Object(
  {
    id: Type.Integer(),
    code: Type.String({ description: 'Stable: `free`, `team`, `business`, `enterprise`.' }),
    name: Type.String(),
    price_cents: Type.Integer({ description: 'Price per interval, in the smallest unit of `currency`.' }),
    currency: Type.String({ description: 'ISO 4217' }),
    interval: Type.Enum(['month', 'year'], { description: 'How long one paid period lasts.' }),
    max_users: Limit('Members plus pending invitations; null: unlimited.'),
    max_leads_per_month: Limit('Null: unlimited.'),
    max_invitations_per_day: Type.Integer({
      description:
        'Invitations the company may send in 24 hours, and each inviter across all their companies (429 beyond).',
    }),
    max_storage_bytes: Limit(
      'Bytes of import files and kept rejected rows the company may hold (an upload past it: 422); null: unlimited.',
    ),
  },
  {
    title: 'Membership',
    description: 'A plan a company can be on, with its price and its limits (`null`: unlimited).',
    examples: [freePlanExample],
  },
);

const subscriptionExample = {
  id: 12,
  company_id: 7,
  status: 'active',
  membership: {
    ...freePlanExample,
    id: 2,
    code: 'team',
    name: 'Team',
    price_cents: 4900,
    max_users: 15,
    max_leads_per_month: 10_000,
    max_invitations_per_day: 100,
    max_storage_bytes: 5_368_709_120,
  },
  current_period_start: '2026-03-02T09:00:00.000Z',
  current_period_end: '2026-04-02T09:00:00.000Z',
  canceled_at: null,
};

export const SubscriptionJson = Type.Object(
  {
    id: Type.Integer(),
    company_id: Type.Integer(),
    status: Type.Enum(['active', 'canceled', 'ended'], {
      description: '`active` renews at each period end; `canceled` stays in force until `current_period_end`.',
    }),
    membership: MembershipJson,
    current_period_start: Timestamp,
    current_period_end: Timestamp,
    canceled_at: Type.Union([Timestamp, Type.Null()]),
  },
  {
    title: 'Subscription',
    description: "A company's subscription to a plan, and the period of it that contains now.",
    examples: [subscriptionExample],
  },
);

export const SubscriptionEnvelope = Type.Object({ subscription: SubscriptionJson });

export const CompanyMembershipJson = Type.Object(
  {
    subscription: Type.Union([SubscriptionJson, Type.Null()], {
      description: 'The subscription in force; null when the company is on the implicit free plan.',
    }),
    // The plan in force: the subscription's, or the free plan without one.
    membership: MembershipJson,
  },
  {
    title: 'CompanyMembership',
    description: "A company's subscription, if any, and the plan in force (the free plan without a subscription).",
    examples: [{ subscription: null, membership: freePlanExample }],
  },
);

export const MembershipParams = Type.Object({ membership_id: Id });
export const CompanyParams = Type.Object({ company_id: Id });
export const AttachMembershipBody = Type.Object(
  { membership_id: Id },
  { additionalProperties: false, title: 'SubscriptionCreate', examples: [{ membership_id: 1 }] },
);

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
