import { and, asc, count, eq, gt, ne, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { lockCompanyList } from '../../db/locks.ts';
import { cycles, sources } from '../../db/schema/index.ts';
import type { CycleWithSource } from './cycles.schemas.ts';

export type CycleValues = { name?: string; sourceId?: number | null; isDefault?: boolean };

/**
 * Serializes writes to one company's cycles, so that "one default" and "one cycle per source" are checked against
 * a stable list. The company row is not locked: lead inserts reference it and must not wait.
 */
export const lockCycles = (db: Executor, companyId: number) => lockCompanyList(db, 'cycles', companyId);

/** Cycles with their source's id and name (a soft-deleted source still shows: the binding remains). */
export function selectCycles(db: Executor, companyId: number, where?: SQL, limit?: number): Promise<CycleWithSource[]> {
  const query = db
    .select({ cycle: cycles, source: { id: sources.id, name: sources.name } })
    .from(cycles)
    .leftJoin(sources, and(eq(sources.id, cycles.sourceId), eq(sources.companyId, cycles.companyId)))
    .where(and(eq(cycles.companyId, companyId), where))
    .orderBy(asc(cycles.id));
  return limit === undefined ? query : query.limit(limit);
}

export async function findCycle(db: Executor, companyId: number, id: number) {
  const [row] = await selectCycles(db, companyId, eq(cycles.id, id));
  return row;
}

export const afterId = (id: number) => gt(cycles.id, id);

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
