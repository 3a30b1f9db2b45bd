import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import { memberships, subscriptions } from '../../db/schema/index.ts';
import { subscriptionInForce } from '../limits/limits.repository.ts';

export type PlanRow = typeof memberships.$inferSelect;
export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type NewSubscription = typeof subscriptions.$inferInsert;

/** The plans on offer, cheapest first. */
export async function listOfferedPlans(db: Executor): Promise<PlanRow[]> {
  return db
    .select()
    .from(memberships)
    .where(eq(memberships.active, true))
    .orderBy(asc(memberships.priceCents), asc(memberships.id));
}

export async function findPlan(db: Executor, id: number): Promise<PlanRow | undefined> {
  const [row] = await db.select().from(memberships).where(eq(memberships.id, id));
  return row;
}

/** The company's subscription in force with its plan; `lock` for a read that a write in the same transaction follows. */
export async function findSubscriptionInForce(db: Executor, companyId: number, now: Date, lock = false) {
  const query = db
    .select({ subscription: subscriptions, plan: memberships })
    .from(subscriptions)
    .innerJoin(memberships, eq(memberships.id, subscriptions.membershipId))
    .where(and(eq(subscriptions.companyId, companyId), subscriptionInForce(now)));
  const [row] = await (lock ? query.for('update', { of: subscriptions }) : query);
  return row;
}

/**
 * Ends whatever current row the company has, including a canceled one already past its period (still
 * `canceled` in the table, and still holding the one-current-row unique index). A canceled row ends at its own period
 * end when that came first.
 */
export async function endCurrentSubscriptions(db: Executor, companyId: number, now: Date): Promise<void> {
  const at = now.toISOString();
  await db
    .update(subscriptions)
    .set({
      status: 'ended',
      endedAt: sql`case when ${subscriptions.status} = 'canceled'
        then least(${subscriptions.currentPeriodEnd}, ${at}::timestamptz) else ${at}::timestamptz end`,
      updatedAt: now,
    })
    .where(and(eq(subscriptions.companyId, companyId), inArray(subscriptions.status, ['active', 'canceled'])));
}

export async function insertSubscription(db: Executor, values: NewSubscription): Promise<SubscriptionRow> {
  const [row] = await db.insert(subscriptions).values(values).returning();
  return row!;
}

export async function updateSubscription(
  db: Executor,
  companyId: number,
  id: number,
  values: PgUpdateSetSource<typeof subscriptions>,
): Promise<SubscriptionRow | undefined> {
  const [row] = await db
    .update(subscriptions)
    .set(values)
    .where(and(eq(subscriptions.companyId, companyId), eq(subscriptions.id, id)))
    .returning();
  return row;
}
