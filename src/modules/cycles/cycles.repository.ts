import { and, asc, count, eq, gt, ne, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { lockCompanyList } from '../../db/locks.ts';
import { cycles, sources } from '../../db/schema/index.ts';

export type CycleValues = { name?: string; sourceId?: number | null; isDefault?: boolean };

/**
 * Serializes writes to one company's cycles, so that "one default" and "one cycle per source" are checked against
 * a stable list. The company row is not locked: lead inserts reference it and must not wait.
 */
export const lockCycles = (db: Executor, companyId: number) => lockCompanyList(db, 'cycles', companyId);

export type CycleRow = typeof cycles.$inferSelect;
export type CycleWithSource = { cycle: CycleRow; source: { id: number; name: string } | null };

/** Cycles with their source's id and name (a soft-deleted source still shows: the binding remains). */
function selectCycles(db: Executor, companyId: number, where?: SQL) {
  return db
    .select({ cycle: cycles, source: { id: sources.id, name: sources.name } })
    .from(cycles)
    .leftJoin(sources, and(eq(sources.id, cycles.sourceId), eq(sources.companyId, cycles.companyId)))
    .where(and(eq(cycles.companyId, companyId), where))
    .orderBy(asc(cycles.id));
}

export async function findCycle(db: Executor, companyId: number, id: number): Promise<CycleWithSource | undefined> {
  const [row] = await selectCycles(db, companyId, eq(cycles.id, id));
  return row;
}

/** One keyset page by id: limit + 1 rows after `afterId`. */
export function listCycles(
  db: Executor,
  companyId: number,
  page: { afterId?: number | undefined; limit: number },
): Promise<CycleWithSource[]> {
  const after = page.afterId === undefined ? undefined : gt(cycles.id, page.afterId);
  return selectCycles(db, companyId, after).limit(page.limit + 1);
}

export async function countCycles(db: Executor, companyId: number): Promise<number> {
  const [row] = await db.select({ total: count() }).from(cycles).where(eq(cycles.companyId, companyId));
  return Number(row?.total ?? 0);
}

export async function insertCycle(db: Executor, companyId: number, values: Required<CycleValues> & { name: string }) {
  const [row] = await db
    .insert(cycles)
    .values({ companyId, ...values })
    .returning({ id: cycles.id });
  return row!.id;
}

/** Also locks the row until the transaction ends; false when the cycle is not this company's. */
export async function updateCycle(db: Executor, companyId: number, id: number, values: CycleValues) {
  const rows = await db
    .update(cycles)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(cycles.companyId, companyId), eq(cycles.id, id)))
    .returning({ id: cycles.id });
  return rows.length > 0;
}

export async function deleteCycle(db: Executor, companyId: number, id: number) {
  const rows = await db
    .delete(cycles)
    .where(and(eq(cycles.companyId, companyId), eq(cycles.id, id)))
    .returning({ id: cycles.id });
  return rows.length > 0;
}

/** At most one default per company: clears the others before one is set (the partial unique index backs this). */
export async function clearDefault(db: Executor, companyId: number, exceptId?: number) {
  await db
    .update(cycles)
    .set({ isDefault: false, updatedAt: sql`now()` })
    .where(
      and(eq(cycles.companyId, companyId), eq(cycles.isDefault, true), exceptId ? ne(cycles.id, exceptId) : undefined),
    );
}

/** The cycle already bound to a source, other than `exceptId`. */
export async function cycleOfSource(db: Executor, companyId: number, sourceId: number, exceptId?: number) {
  const [row] = await db
    .select({ id: cycles.id })
    .from(cycles)
    .where(
      and(
        eq(cycles.companyId, companyId),
        eq(cycles.sourceId, sourceId),
        exceptId ? ne(cycles.id, exceptId) : undefined,
      ),
    );
  return row?.id;
}
