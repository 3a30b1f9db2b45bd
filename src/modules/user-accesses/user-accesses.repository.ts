import { and, asc, eq, inArray, ne, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { lockCompanyRow } from '../../db/locks.ts';
import { accesses, companies, userAccesses, users } from '../../db/schema/index.ts';
import { companiesWithAccess, companyChain } from '../authz/authz.repository.ts';

export type UserAccessRow = typeof userAccesses.$inferSelect;
export type UserAccessView = {
  ua: UserAccessRow;
  company: typeof companies.$inferSelect;
  access: typeof accesses.$inferSelect;
  user: typeof users.$inferSelect;
};

/** user_accesses joined with what their JSON shows, in one query. */
function selectViews(db: Executor, where: SQL | undefined): Promise<UserAccessView[]> {
  return db
    .select({ ua: userAccesses, company: companies, access: accesses, user: users })
    .from(userAccesses)
    .innerJoin(companies, eq(companies.id, userAccesses.companyId))
    .innerJoin(accesses, eq(accesses.id, userAccesses.accessId))
    .innerJoin(users, eq(users.id, userAccesses.userId))
    .where(where)
    .orderBy(asc(userAccesses.id));
}

export async function findView(db: Executor, companyId: number, id: number): Promise<UserAccessView | undefined> {
  const [row] = await selectViews(db, and(eq(userAccesses.companyId, companyId), eq(userAccesses.id, id)));
  return row;
}

/**
 * A user's accesses across companies: all of them, or with `adminId` only those in the companies that user
 * administers (directly or by inheritance).
 */
export function listViewsOfUser(db: Executor, userId: number, adminId?: number): Promise<UserAccessView[]> {
  return selectViews(
    db,
    and(
      eq(userAccesses.userId, userId),
      adminId === undefined ? undefined : inArray(userAccesses.companyId, companiesWithAccess(adminId, ['admin'])),
    ),
  );
}

export async function findUserAccess(db: Executor, userId: number, id: number): Promise<UserAccessRow | undefined> {
  const [row] = await db
    .select()
    .from(userAccesses)
    .where(and(eq(userAccesses.id, id), eq(userAccesses.userId, userId)));
  return row;
}

/** The user's access in one company, if any (one per user and company). */
export async function findUserAccessIn(db: Executor, userId: number, companyId: number) {
  const [row] = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .where(and(eq(userAccesses.userId, userId), eq(userAccesses.companyId, companyId)));
  return row;
}

export async function insertUserAccess(db: Executor, values: typeof userAccesses.$inferInsert): Promise<number> {
  const [row] = await db.insert(userAccesses).values(values).returning({ id: userAccesses.id });
  return row!.id;
}

export async function updateUserAccess(
  db: Executor,
  companyId: number,
  id: number,
  values: { accessId?: number | undefined; primary?: boolean | undefined },
) {
  await db
    .update(userAccesses)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(userAccesses.companyId, companyId), eq(userAccesses.id, id)));
}

export async function deleteUserAccess(db: Executor, companyId: number, id: number) {
  await db.delete(userAccesses).where(and(eq(userAccesses.companyId, companyId), eq(userAccesses.id, id)));
}

export async function findAccess(db: Executor, id: number) {
  const [row] = await db.select().from(accesses).where(eq(accesses.id, id));
  return row;
}

/** Serializes changes to one company's accesses, so two admins cannot demote each other at once. */
export const lockCompany = lockCompanyRow;

/** At most one primary per user: clears the others before one is set (the partial unique index backs this). */
export async function clearPrimary(db: Executor, userId: number, exceptId?: number) {
  await db
    .update(userAccesses)
    .set({ primary: false, updatedAt: sql`now()` })
    .where(
      and(
        eq(userAccesses.userId, userId),
        eq(userAccesses.primary, true),
        exceptId ? ne(userAccesses.id, exceptId) : undefined,
      ),
    );
}

/**
 * How many users are effective admins of the company: their nearest access in the company or its ancestors is
 * admin. Called inside the transaction after a change, so it counts the state the change would leave.
 */
export async function countAdmins(db: Executor, companyId: number): Promise<number> {
  const result = await db.execute<{ admins: number }>(sql`
    ${companyChain(companyId)},
    nearest as (
      select distinct on (ua.user_id) ua.user_id, a.code
      from chain
      join user_accesses ua on ua.company_id = chain.id
      join accesses a on a.id = ua.access_id
      order by ua.user_id, chain.depth
    )
    select count(*)::int as admins from nearest where code = 'admin'`);
  return Number(result.rows[0]?.admins ?? 0);
}
