import type { Executor } from '../../db/client.ts';
import { lockLeadIntake } from '../../db/locks.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import {
  bumpMonthlyUsage,
  currentPlan,
  currentPlans,
  lockCompanyForLimits,
  type PlanRow,
  planByCode,
  seatsTaken,
  storageUsed,
} from './limits.repository.ts';

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

const megabytes = (bytes: number) => `${Math.ceil(bytes / 1024 / 1024)} MB`;

const storageFull = (max: number, used: number, adding: number) =>
  new AppError(
    422,
    'plan_limit_reached',
    'Unprocessable Content',
    `The company's plan allows ${megabytes(max)} of import files and rejected rows; ${megabytes(used)} are used and ` +
      `this file needs ${megabytes(adding)}. Upgrade the plan to import more.`,
    [{ field: 'max_storage_bytes', code: 'plan_limit_reached', message: `the plan allows at most ${max} bytes` }],
  );

/**
 * The one place plan limits are enforced. Callers pass their open transaction, so the check and the write they
 * guard commit together; the company row lock makes concurrent requests take turns at the last unit.
 */
export function createLimitsService(deps: { clock: Clock }) {
  async function defaultPlan(tx: Executor): Promise<PlanRow> {
    const plan = await planByCode(tx, DEFAULT_PLAN_CODE);
    if (!plan) throw new Error(`reference plan "${DEFAULT_PLAN_CODE}" is missing`);
    return plan;
  }

  async function planOf(tx: Executor, companyId: number): Promise<PlanRow> {
    return (await currentPlan(tx, companyId, deps.clock.now())) ?? defaultPlan(tx);
  }

  return {
    planOf,

    /** planOf for a page of companies: two queries whatever the page size. */
    async plansOf(tx: Executor, companyIds: number[]): Promise<Map<number, PlanRow>> {
      const rows = await currentPlans(tx, companyIds, deps.clock.now());
      const plans = new Map(rows.map((row) => [row.companyId, row.plan]));
      if (plans.size < new Set(companyIds).size) {
        const fallback = await defaultPlan(tx);
        for (const id of companyIds) if (!plans.has(id)) plans.set(id, fallback);
      }
      return plans;
    },

    /** Before a company moves to `plan`: the seats it already uses must fit (nobody is removed by a downgrade). */
    async assertPlanFits(tx: Executor, companyId: number, plan: PlanRow): Promise<void> {
      await lockCompanyForLimits(tx, companyId);
      if (plan.maxUsers === null) return;
      const taken = await seatsTaken(tx, companyId, deps.clock.now());
      if (taken > plan.maxUsers) {
        throw new AppError(
          422,
          'plan_limit_reached',
          'Unprocessable Content',
          `The plan allows ${plan.maxUsers} users and the company has ${taken} (members and pending invitations); ` +
            'remove some first or choose a larger plan.',
          [
            {
              field: 'membership_id',
              code: 'plan_limit_reached',
              message: `the plan allows at most ${plan.maxUsers} users`,
            },
          ],
        );
      }
    },

    /** Before granting an access or creating an invitation: members + pending invitations + `adding` ≤ max_users. */
    async assertSeats(tx: Executor, companyId: number, adding = 1): Promise<void> {
      await lockCompanyForLimits(tx, companyId);
      const plan = await planOf(tx, companyId);
      if (plan.maxUsers === null) return;
      const taken = await seatsTaken(tx, companyId, deps.clock.now());
      if (taken + adding > plan.maxUsers) throw limitReached('max_users', plan.maxUsers);
    },

    /**
     * Before recording an import of `adding` bytes: the company's import files and kept rejected rows plus it must
     * fit the plan's max_storage_bytes. Under the company lock, so two uploads cannot both take the last room.
     */
    async assertStorage(tx: Executor, companyId: number, adding: number): Promise<void> {
      await lockCompanyForLimits(tx, companyId);
      const { maxStorageBytes: max } = await planOf(tx, companyId);
      if (max === null) return;
      const used = await storageUsed(tx, companyId);
      if (used + adding > max) throw storageFull(max, used, adding);
    },

    /** Bytes the company may still store (rejected rows stop being kept at 0); Infinity without a limit. */
    async storageRoom(tx: Executor, companyId: number): Promise<number> {
      const { maxStorageBytes: max } = await planOf(tx, companyId);
      return max === null ? Number.POSITIVE_INFINITY : Math.max(0, max - (await storageUsed(tx, companyId)));
    },

    /**
     * Room for `wanted` new leads in the company's month (UTC) under its plan, for one lead (the API) or a batch (an
     * import): takes the company's lead intake (step 3 of the lock order in src/db/locks.ts), so what it grants
     * stays free until the transaction ends. `granted` may be less than `wanted` (0 when the month is full); the
     * caller inserts at most that many and then calls `record` with how many it did insert. The month's usage is
     * read only on a plan with a limit.
     */
    async reserveMonthlyLeads(tx: Executor, companyId: number, wanted: number) {
      await lockLeadIntake(tx, companyId);
      // One instant for the reservation and its record: both count against the same month, even across midnight.
      const now = deps.clock.now();
      const { maxLeadsPerMonth: limit } = await planOf(tx, companyId);
      const used = limit === null ? 0 : await bumpMonthlyUsage(tx, companyId, now, 0);
      const granted = limit === null ? wanted : Math.max(0, Math.min(wanted, limit - used));
      return {
        granted,
        limit,
        /** Counts the leads inserted against the month. */
        record: async (inserted: number) => {
          if (inserted > 0) await bumpMonthlyUsage(tx, companyId, now, inserted);
        },
        /** The refusal when not even one lead fits. */
        full: () => limitReached('max_leads_per_month', limit ?? 0),
      };
    },
  };
}

export type LimitsService = ReturnType<typeof createLimitsService>;
