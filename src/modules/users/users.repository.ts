import { and, asc, eq, gt, ilike, inArray, or, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import { accesses, userAccesses, users } from '../../db/schema/index.ts';
import { containsPattern } from '../../lib/like.ts';
import { MANAGING_ACCESSES } from '../../lib/permissions.ts';
import { companiesWithAccess } from '../authz/authz.repository.ts';

export type UserRow = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;

export async function insertUser(db: Executor, values: NewUser): Promise<UserRow> {
  const [row] = await db.insert(users).values(values).returning();
  return row!;
}

export async function findUserById(db: Executor, id: number): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  return row;
}

export async function findUserByEmail(db: Executor, email: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.email, email));
  return row;
}

export async function updateUser(
  db: Executor,
  id: number,
  values: PgUpdateSetSource<typeof users>,
): Promise<UserRow | undefined> {
  const [row] = await db
    .update(users)
    .set({ ...values, updatedAt: sql`now()` })
    .where(eq(users.id, id))
    .returning();
  return row;
}

/** Users holding any access in a company where `viewerId` is admin or manager (directly or by inheritance). */
const managedBy = (viewerId: number) =>
  inArray(
    users.id,
    sql`(select ua.user_id from ${userAccesses} ua where ua.company_id in ${companiesWithAccess(viewerId, MANAGING_ACCESSES)})`,
  );

export async function isUserVisibleTo(db: Executor, viewerId: number, userId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, userId), managedBy(viewerId)));
  return row !== undefined;
}

/** The user with this address if `viewerId` may see them (themself, or a member of a company they manage). */
export async function findVisibleUserByEmail(
  db: Executor,
  viewerId: number,
  email: string,
): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.email, email), or(eq(users.id, viewerId), managedBy(viewerId))));
  return row;
}

export type UserListFilter = { viewerId?: number | undefined; q?: string | undefined };

/** What a list shows: the users `viewerId` manages (everyone when undefined: platform staff), matching `q`. */
function listed(filter: UserListFilter) {
  const pattern = filter.q ? containsPattern(filter.q) : undefined;
  return and(
    filter.viewerId === undefined ? undefined : managedBy(filter.viewerId),
    pattern
      ? or(ilike(users.firstName, pattern), ilike(users.lastName, pattern), ilike(users.email, pattern))
      : undefined,
  );
}

/** Keyset page by id: limit + 1 rows after `afterId`. */
export function listUsers(db: Executor, filter: UserListFilter, page: { afterId?: number | undefined; limit: number }) {
  return db
    .select()
    .from(users)
    .where(and(listed(filter), page.afterId === undefined ? undefined : gt(users.id, page.afterId)))
    .orderBy(asc(users.id))
    .limit(page.limit + 1);
}

export async function countUsers(db: Executor, filter: UserListFilter) {
  const [row] = await db.select({ total: sql<number>`count(*)::int` }).from(users).where(listed(filter));
  return Number(row?.total ?? 0);
}

/** Whether the user holds an admin or manager access in some company. */
export async function managesSomeCompany(db: Executor, userId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .innerJoin(accesses, eq(accesses.id, userAccesses.accessId))
    .where(and(eq(userAccesses.userId, userId), sql`${accesses.code} in ${[...MANAGING_ACCESSES]}`))
    .limit(1);
  return row !== undefined;
}

/** Stores when the onboarding was first completed; a time already there stays (a concurrent completion wins). */
export function markOnboardingCompleted(db: Executor, id: number, at: Date): Promise<UserRow | undefined> {
  return updateUser(db, id, {
    onboardingCompletedAt: sql`coalesce(${users.onboardingCompletedAt}, ${at.toISOString()}::timestamptz)`,
  });
}
