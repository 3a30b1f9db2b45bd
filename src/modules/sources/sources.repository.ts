import { and, asc, eq, inArray, ne, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { lockCompanyList } from '../../db/locks.ts';
import { priorityList } from '../../db/priority-list.ts';
import { accesses, sources, sourceUserAccesses, userAccesses, users } from '../../db/schema/index.ts';

export type SourceRow = typeof sources.$inferSelect;
export type SourceChanges = { name?: string; priority?: number };

const list = priorityList(sources);
const { live } = list;

export const listSources = list.page;
export const countSources = list.count;
/** The live source ids in priority order (the reorder's reference list; bounded by MAX_SOURCES). */
export const liveSourceIds = list.ids;
export const { nextPriority, shiftFrom, setPriorities } = list;

/**
 * Serializes changes to one company's source list (priorities, names), so that "after the last", the unique name
 * check and "the whole live list" of a reorder each see a stable list. Other companies are not blocked.
 */
export const lockSourceList = (db: Executor, companyId: number) => lockCompanyList(db, 'sources', companyId);

export async function findSource(db: Executor, companyId: number, id: number): Promise<SourceRow | undefined> {
  const [row] = await db
    .select()
    .from(sources)
    .where(and(live(companyId), eq(sources.id, id)));
  return row;
}

/** Case-insensitive, among live sources: the same rule as the partial unique index on lower(name). */
export async function nameTaken(db: Executor, companyId: number, name: string, exceptId?: number) {
  const [row] = await db
    .select({ id: sources.id })
    .from(sources)
    .where(
      and(
        live(companyId),
        sql`lower(${sources.name}) = lower(${name})`,
        exceptId ? ne(sources.id, exceptId) : undefined,
      ),
    )
    .limit(1);
  return row !== undefined;
}

export async function insertSource(db: Executor, companyId: number, values: { name: string; priority: number }) {
  const [row] = await db
    .insert(sources)
    .values({ companyId, ...values })
    .returning();
  return row!;
}

export async function updateSource(db: Executor, companyId: number, id: number, changes: SourceChanges) {
  await db
    .update(sources)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(and(live(companyId), eq(sources.id, id)));
}

export async function softDeleteSource(db: Executor, companyId: number, id: number) {
  await db
    .update(sources)
    .set({ deletedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(live(companyId), eq(sources.id, id)));
}

/** The user accesses assigned to a page of sources, in one query (no N+1). */
export function assignedUserAccesses(db: Executor, companyId: number, sourceIds: readonly number[]) {
  if (sourceIds.length === 0) return Promise.resolve([]);
  return db
    .select({
      sourceId: sourceUserAccesses.sourceId,
      id: userAccesses.id,
      userId: userAccesses.userId,
      firstName: users.firstName,
      lastName: users.lastName,
      accessCode: accesses.code,
    })
    .from(sourceUserAccesses)
    .innerJoin(userAccesses, eq(userAccesses.id, sourceUserAccesses.userAccessId))
    .innerJoin(users, eq(users.id, userAccesses.userId))
    .innerJoin(accesses, eq(accesses.id, userAccesses.accessId))
    .where(and(eq(sourceUserAccesses.companyId, companyId), inArray(sourceUserAccesses.sourceId, [...sourceIds])))
    .orderBy(asc(userAccesses.id));
}

export type AssignedUserAccess = Awaited<ReturnType<typeof assignedUserAccesses>>[number];

/** A direct access in this very company (not an ancestor's): the people this company distributes leads to. */
export async function userAccessOfCompany(db: Executor, companyId: number, userAccessId: number) {
  const [row] = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .where(and(eq(userAccesses.companyId, companyId), eq(userAccesses.id, userAccessId)));
  return row !== undefined;
}

/** false when the pair already exists. */
export async function assignUserAccess(db: Executor, companyId: number, sourceId: number, userAccessId: number) {
  const rows = await db
    .insert(sourceUserAccesses)
    .values({ companyId, sourceId, userAccessId })
    .onConflictDoNothing()
    .returning({ sourceId: sourceUserAccesses.sourceId });
  return rows.length > 0;
}

/** false when the pair did not exist. */
export async function unassignUserAccess(db: Executor, companyId: number, sourceId: number, userAccessId: number) {
  const where: SQL | undefined = and(
    eq(sourceUserAccesses.companyId, companyId),
    eq(sourceUserAccesses.sourceId, sourceId),
    eq(sourceUserAccesses.userAccessId, userAccessId),
  );
  const rows = await db.delete(sourceUserAccesses).where(where).returning({ sourceId: sourceUserAccesses.sourceId });
  return rows.length > 0;
}
