import type { Executor } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { currentPlan, lockCompanyForLimits, type PlanRow, planByCode, seatsTaken } from './limits.repository.ts';

/** A company without a subscription in force is on the free plan. */
export const DEFAULT_PLAN_CODE = 'free';

const limitReached = (limit: string, max: number) =>
  new AppError(
    422,
    'plan_limit_reached',
    'Unprocessable Content',
    `The company's plan allows ${max} ${limit.replace(/_/g, ' ')}; upgrade the plan to add more.`,
    [{ field: limit, code: 'plan_limit_reached', message: `the plan allows at most ${max}` }],
  );

/**
 * The one place plan limits are enforced. Callers pass their open transaction, so the check and the write they
 * guard commit together; the company row lock makes concurrent requests take turns at the last unit.
 */
export function createLimitsService(deps: { clock: Clock }) {
  async function planOf(tx: Executor, companyId: number): Promise<PlanRow> {
    const plan = (await currentPlan(tx, companyId, deps.clock.now())) ?? (await planByCode(tx, DEFAULT_PLAN_CODE));
    if (!plan) throw new Error(`reference plan "${DEFAULT_PLAN_CODE}" is missing`);
    return plan;
  }

  return {
    planOf,

    /** Before granting an access or creating an invitation: members + pending invitations + `adding` ≤ max_users. */
    async assertSeats(tx: Executor, companyId: number, adding = 1): Promise<void> {
      await lockCompanyForLimits(tx, companyId);
      const plan = await planOf(tx, companyId);
      if (plan.maxUsers === null) return;
      const taken = await seatsTaken(tx, companyId, deps.clock.now());
      if (taken + adding > plan.maxUsers) throw limitReached('max_users', plan.maxUsers);
    },

    /** For later modules (leads): throws when `used + adding` would cross the plan's monthly lead limit. */
    async assertMonthlyLeads(tx: Executor, companyId: number, used: number, adding = 1): Promise<void> {
      const plan = await planOf(tx, companyId);
      if (plan.maxLeadsPerMonth !== null && used + adding > plan.maxLeadsPerMonth) {
        throw limitReached('max_leads_per_month', plan.maxLeadsPerMonth);
      }
    },
  };
}

export type LimitsService = ReturnType<typeof createLimitsService>;
