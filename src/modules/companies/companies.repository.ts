import { eq, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import { accesses, companies, userAccesses } from '../../db/schema/index.ts';
import { MAX_COMPANY_DEPTH } from '../authz/authz.repository.ts';

export type CompanyRow = typeof companies.$inferSelect;
export type NewCompany = typeof companies.$inferInsert;

export async function insertCompany(db: Executor, values: NewCompany): Promise<CompanyRow> {
  const [row] = await db.insert(companies).values(values).returning();
  return row!;
}

/** The creator's admin access in a new company; returns its id. */
export async function insertCreatorAccess(db: Executor, values: typeof userAccesses.$inferInsert): Promise<number> {
  const [row] = await db.insert(userAccesses).values(values).returning({ id: userAccesses.id });
  return row!.id;
}

export async function findCompany(db: Executor, id: number): Promise<CompanyRow | undefined> {
  const [row] = await db.select().from(companies).where(eq(companies.id, id));
  return row;
}

export async function updateCompany(db: Executor, id: number, values: PgUpdateSetSource<typeof companies>) {
  const [row] = await db
    .update(companies)
    .set({ ...values, updatedAt: sql`now()` })
    .where(eq(companies.id, id))
    .returning();
  return row;
}

export async function findAccessByCode(db: Executor, code: 'admin' | 'manager' | 'agent') {
  const [row] = await db.select().from(accesses).where(eq(accesses.code, code));
  return row!;
}

export async function hasPrimaryAccess(db: Executor, userId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .where(sql`${userAccesses.userId} = ${userId} and ${userAccesses.primary}`);
  return row !== undefined;
}

/** Serializes changes of parent across all companies until the transaction ends (moves are rare). */
export async function lockHierarchy(db: Executor): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtext('companies:hierarchy'))`);
}

/** How many ancestors a company has (0 for a root). */
export async function companyDepth(db: Executor, id: number): Promise<number> {
  const result = await db.execute<{ depth: number }>(sql`
    with recursive up(id, parent_company_id, depth) as (
      select id, parent_company_id, 0 from companies where id = ${id}
      union all
      select c.id, c.parent_company_id, up.depth + 1 from companies c join up on c.id = up.parent_company_id
      where up.depth <= ${MAX_COMPANY_DEPTH}
    )
    select max(depth)::int as depth from up`);
  return Number(result.rows[0]?.depth ?? 0);
}

/** The height of the subtree under a company (0 for a leaf), and whether `candidate` is inside it. */
export async function subtree(db: Executor, id: number, candidate: number) {
  const result = await db.execute<{ height: number; contains: boolean }>(sql`
    with recursive down(id, depth) as (
      select id, 0 from companies where id = ${id}
      union all
      select c.id, down.depth + 1 from companies c join down on c.parent_company_id = down.id
      where down.depth <= ${MAX_COMPANY_DEPTH}
    )
    select max(depth)::int as height, bool_or(id = ${candidate}) as contains from down`);
  const row = result.rows[0];
  return { height: Number(row?.height ?? 0), contains: Boolean(row?.contains) };
}

type VisibleRow = {
  id: number;
  user_access_id: number | null;
  inherited: boolean | null;
  access_id: number | null;
  access_code: string | null;
  access_name: string | null;
};

/**
 * One keyset page of the companies a user can see: where they hold an access, and the descendants that inherit it
 * (a direct access in a descendant overrides). Platform staff see every company.
 */
export async function listVisibleCompanies(
  db: Executor,
  viewer: { userId: number; superadmin: boolean },
  afterId: number,
  limit: number,
) {
  const result = await db.execute<VisibleRow>(sql`
    with recursive visible(id, user_access_id, access_id, depth) as (
      select ua.company_id, ua.id, ua.access_id, 0 from user_accesses ua where ua.user_id = ${viewer.userId}
      union all
      select c.id, v.user_access_id, v.access_id, v.depth + 1
      from companies c join visible v on c.parent_company_id = v.id
      where v.depth < ${MAX_COMPANY_DEPTH}
        and not exists (select 1 from user_accesses own where own.user_id = ${viewer.userId} and own.company_id = c.id)
    )
    select c.id, v.user_access_id, v.depth > 0 as inherited, a.id as access_id, a.code as access_code,
           a.name as access_name
    from companies c
    ${viewer.superadmin ? sql`left join` : sql`join`} visible v on v.id = c.id
    left join accesses a on a.id = v.access_id
    where c.id > ${afterId}
    order by c.id
    limit ${limit + 1}`);
  const ids = result.rows.map((row) => Number(row.id));
  const rows = ids.length === 0 ? [] : await db.select().from(companies).where(sql`${companies.id} in ${ids}`);
  const byId = new Map(rows.map((row) => [row.id, row]));
  return result.rows.map((row) => ({ company: byId.get(Number(row.id))!, access: row }));
}
