import { and, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { lockCompanyRow } from '../../db/locks.ts';
import { importFiles, invitations, memberships, subscriptions, userAccesses } from '../../db/schema/index.ts';

export type PlanRow = typeof memberships.$inferSelect;

/**
 * The one definition of a subscription in force: `active` (it renews period after period, so its stored period may
 * be behind the clock), or `canceled` until its period ends. At most one row per company is either (unique index).
 */
export const subscriptionInForce = (now: Date) =>
  or(
    eq(subscriptions.status, 'active'),
    and(eq(subscriptions.status, 'canceled'), gt(subscriptions.currentPeriodEnd, now)),
  );

/** The plan in force: the subscription in force's, if there is one. */
export async function currentPlan(db: Executor, companyId: number, now: Date): Promise<PlanRow | undefined> {
  const [row] = await db
    .select({ plan: memberships })
    .from(subscriptions)
    .innerJoin(memberships, eq(memberships.id, subscriptions.membershipId))
    .where(and(eq(subscriptions.companyId, companyId), subscriptionInForce(now)));
  return row?.plan;
}

/** The plans in force of many companies in one query (companies without a subscription in force are absent). */
export async function currentPlans(db: Executor, companyIds: number[], now: Date) {
  if (companyIds.length === 0) return [];
  return db
    .select({ companyId: subscriptions.companyId, plan: memberships })
    .from(subscriptions)
    .innerJoin(memberships, eq(memberships.id, subscriptions.membershipId))
    .where(and(inArray(subscriptions.companyId, companyIds), subscriptionInForce(now)));
}

export async function planByCode(db: Executor, code: string): Promise<PlanRow | undefined> {
  const [row] = await db.select().from(memberships).where(eq(memberships.code, code));
  return row;
}

/** Seats taken: members plus pending (unaccepted, undeleted, unexpired) invitations. */
export async function seatsTaken(db: Executor, companyId: number, now: Date): Promise<number> {
  const [members] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(userAccesses)
    .where(eq(userAccesses.companyId, companyId));
  const [pending] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(invitations)
    .where(
      and(
        eq(invitations.companyId, companyId),
        isNull(invitations.acceptedAt),
        isNull(invitations.deletedAt),
        gt(invitations.expiresAt, now),
      ),
    );
  return Number(members?.n ?? 0) + Number(pending?.n ?? 0);
}

/**
 * Bytes of storage a company holds: its import files and the rejected rows kept for them, from the sizes stored on
 * each import (read through the import_files (company_id, id) index; a company has hundreds of imports, not millions).
 */
export async function storageUsed(db: Executor, companyId: number): Promise<number> {
  const [row] = await db
    .select({ bytes: sql<string>`coalesce(sum(${importFiles.fileSize} + ${importFiles.errorsBytes}), 0)` })
    .from(importFiles)
    .where(eq(importFiles.companyId, companyId));
  return Number(row?.bytes ?? 0);
}

/** Serializes seat-consuming writes of one company (grants, invitations) so two cannot both take the last seat. */
export const lockCompanyForLimits = lockCompanyRow;

/**
 * Counts `adding` new leads against the company's month (UTC) and returns the month's total. Called under the
 * company's lead intake lock (src/db/locks.ts), so the plan limit holds under any concurrency.
 */
export async function bumpMonthlyUsage(db: Executor, companyId: number, now: Date, adding: number): Promise<number> {
  const month = `${now.toISOString().slice(0, 7)}-01`;
  const result = await db.execute<{ count: number }>(sql`
    insert into lead_monthly_usage (company_id, month, count) values (${companyId}, ${month}, ${adding})
    on conflict (company_id, month) do update set count = lead_monthly_usage.count + excluded.count
    returning count`);
  return Number(result.rows[0]?.count ?? adding);
}
