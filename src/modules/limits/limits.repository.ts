import { and, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { invitations, memberships, subscriptions, userAccesses } from '../../db/schema/index.ts';

export type PlanRow = typeof memberships.$inferSelect;

/** The plan in force: the current subscription's (active, or canceled but not yet at its period end). */
export async function currentPlan(db: Executor, companyId: number, now: Date): Promise<PlanRow | undefined> {
  const [row] = await db
    .select({ plan: memberships })
    .from(subscriptions)
    .innerJoin(memberships, eq(memberships.id, subscriptions.membershipId))
    .where(
      and(
        eq(subscriptions.companyId, companyId),
        inArray(subscriptions.status, ['active', 'canceled']),
        gt(subscriptions.currentPeriodEnd, now),
      ),
    );
  return row?.plan;
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

/** Serializes seat-consuming writes of one company (grants, invitations) so two cannot both take the last seat. */
export async function lockCompanyForLimits(db: Executor, companyId: number): Promise<void> {
  await db.execute(sql`select id from companies where id = ${companyId} for update`);
}
