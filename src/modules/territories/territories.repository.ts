import { and, asc, count, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { lockCompanyList } from '../../db/locks.ts';
import { territories } from '../../db/schema/index.ts';
import type { TerritoryFields } from './territory-input.ts';

/** Serializes territory creation in one company, so that the cap is checked against a stable count. */
export const lockTerritories = (db: Executor, companyId: number) => lockCompanyList(db, 'territories', companyId);

/** The company's territories in id order: those of `ids`, or a keyset page (limit rows after `afterId`). */
export function selectTerritories(
  db: Executor,
  companyId: number,
  options: { ids?: number[]; afterId?: number | undefined; limit?: number },
) {
  const query = db
    .select()
    .from(territories)
    .where(
      and(
        eq(territories.companyId, companyId),
        options.ids === undefined ? undefined : inArray(territories.id, options.ids),
        options.afterId === undefined ? undefined : gt(territories.id, options.afterId),
      ),
    )
    .orderBy(asc(territories.id));
  return options.limit === undefined ? query : query.limit(options.limit);
}

export async function findTerritory(db: Executor, companyId: number, id: number, lock = false) {
  const query = db
    .select()
    .from(territories)
    .where(and(eq(territories.companyId, companyId), eq(territories.id, id)));
  const [row] = lock ? await query.for('no key update') : await query;
  return row;
}

export async function countTerritories(db: Executor, companyId: number): Promise<number> {
  const [row] = await db.select({ total: count() }).from(territories).where(eq(territories.companyId, companyId));
  return Number(row?.total ?? 0);
}

/** One statement for the whole batch; the ids come back in the order of `rows`. */
export async function insertTerritories(db: Executor, companyId: number, rows: readonly TerritoryFields[]) {
  const inserted = await db
    .insert(territories)
    .values(rows.map((row) => ({ companyId, ...row })))
    .returning({ id: territories.id });
  // Identity values are drawn in VALUES order within one statement.
  return inserted.map((row) => row.id).sort((a, b) => a - b);
}

export async function updateTerritory(db: Executor, companyId: number, id: number, values: TerritoryFields) {
  await db
    .update(territories)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(territories.companyId, companyId), eq(territories.id, id)));
}

export async function deleteTerritory(db: Executor, companyId: number, id: number) {
  const rows = await db
    .delete(territories)
    .where(and(eq(territories.companyId, companyId), eq(territories.id, id)))
    .returning({ id: territories.id });
  return rows.length > 0;
}
