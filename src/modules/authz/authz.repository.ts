import { and, eq, inArray, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { companies, leads, userAccesses, users } from '../../db/schema/index.ts';
import type { AccessCode } from '../../lib/permissions.ts';

/**
 * The agents' lead scope in SQL (authz.policies.ts leadScope): a lead is an agent's when it is assigned to their
 * user access. One condition for every query that scopes leads (the lead lists, appointments' leads); the id may be
 * a placeholder (a prepared read).
 */
export const leadOwnerCondition = (ownerId: number | SQLWrapper) => eq(leads.assignedUserAccessId, ownerId);

// Hierarchies deeper than this are refused when a parent is set (companies.service.ts); the walk stops here too.
export const MAX_COMPANY_DEPTH = 16;

/**
 * `with recursive chain(id, parent_company_id, depth)`: the company (depth 0) and its ancestors, nearest first, as
 * far as MAX_COMPANY_DEPTH. Every query that walks up a company tree starts with it (a CTE list may go on with `,`).
 */
export const companyChain = (companyId: number): SQL => sql`with recursive chain(id, parent_company_id, depth) as (
  select id, parent_company_id, 0 from companies where id = ${companyId}
  union all
  select c.id, c.parent_company_id, chain.depth + 1 from companies c join chain on c.id = chain.parent_company_id
  where chain.depth < ${MAX_COMPANY_DEPTH}
)`;

export async function findPrincipal(db: Executor, userId: number) {
  const [row] = await db
    .select({ id: users.id, status: users.status, tokenVersion: users.tokenVersion, superadmin: users.superadmin })
    .from(users)
    .where(eq(users.id, userId));
  return row;
}

/** A company's parent: null for a root, undefined when the company does not exist. */
export async function parentOf(db: Executor, companyId: number): Promise<number | null | undefined> {
  const [row] = await db
    .select({ parentCompanyId: companies.parentCompanyId })
    .from(companies)
    .where(eq(companies.id, companyId));
  return row?.parentCompanyId;
}

/** Whether `userId` holds an access in some company that `viewerId` effectively administers. */
export async function isMemberOfAdministeredCompany(db: Executor, viewerId: number, userId: number) {
  const [row] = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .where(
      and(eq(userAccesses.userId, userId), inArray(userAccesses.companyId, companiesWithAccess(viewerId, ['admin']))),
    )
    .limit(1);
  return row !== undefined;
}

/**
 * How far up `companyId`'s chain of ancestors `ancestorId` is (0: the same company); null when it is not in that
 * chain; undefined when `companyId` does not exist. An API key reaches its company and that company's descendants.
 */
export async function ancestorDepth(
  db: Executor,
  ancestorId: number,
  companyId: number,
): Promise<number | null | undefined> {
  const result = await db.execute<{ found: boolean; depth: number | null }>(sql`
    ${companyChain(companyId)}
    select exists (select 1 from chain) as found, (select min(depth) from chain where id = ${ancestorId}) as depth`);
  const row = result.rows[0];
  if (!row?.found) return undefined;
  return row.depth === null ? null : Number(row.depth);
}

export type ChainRow = { company_id: number; depth: number; user_access_id: number | null; code: AccessCode | null };

/**
 * The company and its ancestors, nearest first, each with the user's direct access there (if any).
 * No rows: the company does not exist.
 */
export async function accessChain(db: Executor, userId: number, companyId: number): Promise<ChainRow[]> {
  const result = await db.execute<ChainRow>(sql`
    ${companyChain(companyId)}
    select chain.id as company_id, chain.depth, ua.id as user_access_id, a.code
    from chain
    left join user_accesses ua on ua.company_id = chain.id and ua.user_id = ${userId}
    left join accesses a on a.id = ua.access_id
    order by chain.depth`);
  return result.rows.map((row) => ({
    ...row,
    company_id: Number(row.company_id),
    user_access_id: row.user_access_id === null ? null : Number(row.user_access_id),
  }));
}

/**
 * SQL for the ids of the companies where `userId` effectively holds one of `codes`: companies with such a direct
 * access, and their descendants, except where the user has a direct access of their own (it overrides).
 */
export function companiesWithAccess(userId: number, codes: readonly AccessCode[]): SQL {
  return sql`(
    with recursive held(id, depth) as (
      select ua.company_id, 0 from user_accesses ua join accesses a on a.id = ua.access_id
      where ua.user_id = ${userId} and a.code in (${sql.join(
        codes.map((code) => sql`${code}`),
        sql`, `,
      )})
      union
      select c.id, held.depth + 1 from companies c join held on c.parent_company_id = held.id
      where held.depth < ${MAX_COMPANY_DEPTH}
        and not exists (select 1 from user_accesses own where own.user_id = ${userId} and own.company_id = c.id)
    )
    select id from held)`;
}

export type PrincipalChainRow = ChainRow & { status: string; token_version: number; superadmin: boolean };

/**
 * The user and, in the same round trip, the access chain of `companyId` (as accessChain). No rows: the user does
 * not exist; one row with a null company_id: the company does not exist.
 */
export async function principalAndChain(db: Executor, userId: number, companyId: number) {
  const result = await db.execute<PrincipalChainRow>(sql`
    ${companyChain(companyId)}
    select u.status, u.token_version, u.superadmin,
           chain.id as company_id, chain.depth, ua.id as user_access_id, a.code
    from users u
    left join chain on true
    left join user_accesses ua on ua.company_id = chain.id and ua.user_id = u.id
    left join accesses a on a.id = ua.access_id
    where u.id = ${userId}
    order by chain.depth`);
  return result.rows.map((row) => ({
    ...row,
    token_version: Number(row.token_version),
    company_id: row.company_id === null ? (null as unknown as number) : Number(row.company_id),
    user_access_id: row.user_access_id === null ? null : Number(row.user_access_id),
  }));
}

/** The channel the triggers of drizzle/0009_authz_notify.sql notify on (payload: a user id, or 'all'). */
export const AUTHZ_CHANNEL = 'leadsy_authz';

/** Sends `payload` on the authz channel, through the pool: the cache's listener proves it hears the database. */
export async function notifyAuthz(db: Executor, payload: string): Promise<void> {
  await db.execute(sql`select pg_notify(${AUTHZ_CHANNEL}, ${payload})`);
}
