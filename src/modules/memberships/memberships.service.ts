import type { Db } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError, notFound, unprocessable } from '../../lib/errors.ts';
import type { Principal } from '../../lib/permissions.ts';
import type { LimitsService } from '../limits/limits.service.ts';
import {
  endCurrentSubscriptions,
  findPlan,
  findSubscriptionInForce,
  insertSubscription,
  listOfferedPlans,
  type PlanRow,
  type SubscriptionRow,
  updateSubscription,
} from './memberships.repository.ts';
import type { SubscriptionView } from './memberships.schemas.ts';

const MONTHS: Record<PlanRow['interval'], number> = { month: 1, year: 12 };

/** Calendar months in UTC; a day the target month lacks becomes its last day (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(date: Date, months: number): Date {
  const result = new Date(date);
  result.setUTCDate(1);
  result.setUTCMonth(result.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0)).getUTCDate();
  result.setUTCDate(Math.min(date.getUTCDate(), lastDay));
  return result;
}

/**
 * The billing period containing `now`. Active subscriptions renew without a write: periods are counted from the
 * stored start (never from a clamped end, so a period starting on the 31st keeps returning to the 31st).
 */
export function periodAt(row: SubscriptionRow, interval: PlanRow['interval'], now: Date) {
  const start = row.currentPeriodStart;
  if (row.status !== 'active' || row.currentPeriodEnd > now) return { start, end: row.currentPeriodEnd };
  const step = MONTHS[interval];
  const elapsed = (now.getUTCFullYear() - start.getUTCFullYear()) * 12 + now.getUTCMonth() - start.getUTCMonth();
  let n = Math.max(1, Math.floor(elapsed / step));
  while (addMonths(start, n * step) <= now) n++;
  while (n > 1 && addMonths(start, (n - 1) * step) > now) n--;
  return { start: addMonths(start, (n - 1) * step), end: addMonths(start, n * step) };
}

const paymentRequired = () =>
  new AppError(
    403,
    'payment_required',
    'Forbidden',
    'A paid plan is attached by platform staff once it is paid for; a company admin may cancel or move to the free plan.',
  );

export function createMembershipsService(deps: {
  db: Db;
  clock: Clock;
  limits: LimitsService;
  /** PLAN_SELF_SERVICE: admins may attach paid plans themselves (an operator without billing, or a trial setup). */
  planSelfService: boolean;
}) {
  const { db, clock, limits } = deps;

  function view(row: SubscriptionRow, plan: PlanRow, now: Date): SubscriptionView {
    const period = periodAt(row, plan.interval, now);
    return { row, plan, periodStart: period.start, periodEnd: period.end };
  }

  return {
    list: () => listOfferedPlans(db),

    /** Any plan by id, also one no longer offered: companies may still be on it. */
    async show(membershipId: number): Promise<PlanRow> {
      const plan = await findPlan(db, membershipId);
      if (!plan) throw notFound('Membership');
      return plan;
    },

    /** The subscription in force (or null) and the plan in force, the free plan when there is no subscription. */
    async current(companyId: number): Promise<{ subscription: SubscriptionView | null; plan: PlanRow }> {
      const now = clock.now();
      const found = await findSubscriptionInForce(db, companyId, now);
      if (!found) return { subscription: null, plan: await limits.planOf(db, companyId) };
      return { subscription: view(found.subscription, found.plan, now), plan: found.plan };
    },

    /**
     * Starts a subscription for one period from now, replacing (ending) the current one in the same transaction.
     * Attaching the plan the company is already actively on changes nothing (`created: false`).
     */
    async attach(principal: Principal, companyId: number, membershipId: number) {
      return db.transaction(async (tx) => {
        const plan = await findPlan(tx, membershipId);
        if (!plan) throw notFound('Membership');
        // There is no payment step in the API: a paid plan taken by an admin would be a free upgrade.
        if (plan.priceCents > 0 && !principal.superadmin && !deps.planSelfService) throw paymentRequired();
        if (!plan.active) {
          throw unprocessable('membership_unavailable', 'This plan is no longer offered.', 'membership_id');
        }
        // Locks the company row first, so concurrent plan changes and seat grants of this company take turns.
        await limits.assertPlanFits(tx, companyId, plan);
        const now = clock.now();
        const current = await findSubscriptionInForce(tx, companyId, now, true);
        if (current?.subscription.status === 'active' && current.plan.id === plan.id) {
          return { subscription: view(current.subscription, plan, now), created: false };
        }
        await endCurrentSubscriptions(tx, companyId, now);
        const row = await insertSubscription(tx, {
          companyId,
          membershipId: plan.id,
          status: 'active',
          currentPeriodStart: now,
          currentPeriodEnd: addMonths(now, MONTHS[plan.interval]),
          createdAt: now,
          updatedAt: now,
        });
        return { subscription: view(row, plan, now), created: true };
      });
    },

    /** Stops renewal: the plan stays in force until the end of the current period. Canceling twice is a no-op. */
    async cancel(companyId: number): Promise<SubscriptionView> {
      return db.transaction(async (tx) => {
        const now = clock.now();
        const current = await findSubscriptionInForce(tx, companyId, now, true);
        if (!current) throw notFound('Subscription');
        const { subscription, plan } = current;
        if (subscription.status === 'canceled') return view(subscription, plan, now);
        const period = periodAt(subscription, plan.interval, now);
        const row = await updateSubscription(tx, companyId, subscription.id, {
          status: 'canceled',
          canceledAt: now,
          // The rolled-forward period is written down: from now on the stored end is when the plan stops.
          currentPeriodStart: period.start,
          currentPeriodEnd: period.end,
          updatedAt: now,
        });
        return view(row!, plan, now);
      });
    },
  };
}

export type MembershipsService = ReturnType<typeof createMembershipsService>;
