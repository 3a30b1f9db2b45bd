import { and, asc, eq, ilike, or, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { accesses, userAccesses, users } from '../../db/schema/index.ts';
import { containsPattern } from '../../lib/like.ts';
import type { AccessCode } from '../../lib/permissions.ts';

/** The sort key of a row: lower-cased last name, lower-cased first name, user id (unique, so the order is total). */
export type NameKey = readonly [string, string, number];

export type CompanyUserFilter = {
  companyId: number;
  accessCode?: AccessCode;
  q?: string;
  after?: NameKey;
  limit: number;
};

const sortLast = sql<string>`lower(${users.lastName})`;
const sortFirst = sql<string>`lower(${users.firstName})`;

/**
 * Everything but the cursor, shared by the page and the count. The access is matched by id through a scalar
 * subquery so both columns of the (company_id, access_id) index bound the scan.
 */
function conditions(filter: CompanyUserFilter): SQL | undefined {
  const pattern = filter.q ? containsPattern(filter.q) : undefined;
  return and(
    eq(userAccesses.companyId, filter.companyId),
    filter.accessCode
      ? eq(userAccesses.accessId, sql`(select a2.id from accesses a2 where a2.code = ${filter.accessCode})`)
      : undefined,
    pattern
      ? or(ilike(users.firstName, pattern), ilike(users.lastName, pattern), ilike(users.email, pattern))
      : undefined,
  );
}

/** One page of the users holding a direct access in the company, with that access: one query, no N+1. */
export function listCompanyUsers(db: Executor, filter: CompanyUserFilter) {
  const after = filter.after
    ? sql`(${sortLast}, ${sortFirst}, ${users.id}) > (${filter.after[0]}, ${filter.after[1]}, ${filter.after[2]})`
    : undefined;
  return db
    .select({
      user: users,
      userAccess: { id: userAccesses.id, primary: userAccesses.primary },
      access: { id: accesses.id, code: accesses.code, name: accesses.name },
      sortLast,
      sortFirst,
    })
    .from(userAccesses)
    .innerJoin(users, eq(users.id, userAccesses.userId))
    .innerJoin(accesses, eq(accesses.id, userAccesses.accessId))
    .where(and(conditions(filter), after))
    .orderBy(asc(sortLast), asc(sortFirst), asc(users.id))
    .limit(filter.limit + 1);
}

export type CompanyUserRow = Awaited<ReturnType<typeof listCompanyUsers>>[number];

export async function countCompanyUsers(db: Executor, filter: CompanyUserFilter): Promise<number> {
  const query = db.select({ total: sql<number>`count(*)::int` }).from(userAccesses).$dynamic();
  // Without a search the users join adds nothing (user_id is a not-null foreign key): the index answers alone.
  const [row] = await (filter.q ? query.innerJoin(users, eq(users.id, userAccesses.userId)) : query).where(
    conditions(filter),
  );
  return Number(row?.total ?? 0);
}
