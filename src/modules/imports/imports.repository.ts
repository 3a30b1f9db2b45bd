import { and, asc, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import { importErrors, importFiles } from '../../db/schema/index.ts';

export type ImportRow = typeof importFiles.$inferSelect;

export async function insertImport(db: Executor, values: typeof importFiles.$inferInsert): Promise<ImportRow> {
  const [row] = await db.insert(importFiles).values(values).returning();
  return row!;
}

export async function findImport(db: Executor, companyId: number, id: number): Promise<ImportRow | undefined> {
  const [row] = await db
    .select()
    .from(importFiles)
    .where(and(eq(importFiles.companyId, companyId), eq(importFiles.id, id)));
  return row;
}

/** The job's own read: by id alone (the payload carries it), locked when asked. */
export async function importById(db: Executor, id: number, lock = false): Promise<ImportRow | undefined> {
  const query = db.select().from(importFiles).where(eq(importFiles.id, id));
  const [row] = lock ? await query.for('update') : await query;
  return row;
}

export async function listImports(db: Executor, companyId: number, beforeId: number | undefined, limit: number) {
  return db
    .select()
    .from(importFiles)
    .where(and(eq(importFiles.companyId, companyId), beforeId === undefined ? undefined : lt(importFiles.id, beforeId)))
    .orderBy(desc(importFiles.id))
    .limit(limit + 1);
}

export async function updateImport(db: Executor, id: number, values: PgUpdateSetSource<typeof importFiles>) {
  const [row] = await db
    .update(importFiles)
    .set({ ...values, updatedAt: sql`now()` })
    .where(eq(importFiles.id, id))
    .returning();
  return row;
}

/** Ends an import that has not ended yet (pending or processing); undefined when it already had. */
export async function endUnfinishedImport(
  db: Executor,
  id: number,
  values: { status: 'failed' | 'canceled'; finishedAt: Date; errorMessage?: string },
): Promise<ImportRow | undefined> {
  const [row] = await db
    .update(importFiles)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(importFiles.id, id), inArray(importFiles.status, ['pending', 'processing'])))
    .returning();
  return row;
}

export async function insertImportErrors(db: Executor, rows: (typeof importErrors.$inferInsert)[]) {
  if (rows.length === 0) return;
  // A re-run of a batch after a crash writes nothing twice.
  await db.insert(importErrors).values(rows).onConflictDoNothing();
}

export async function countStoredErrors(db: Executor, importId: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(importErrors)
    .where(eq(importErrors.importFileId, importId));
  return Number(row?.n ?? 0);
}

/** Rejected rows in row order, a page at a time, for the errors CSV. */
export async function errorsPage(db: Executor, importId: number, afterRow: number, limit: number) {
  return db
    .select({ rowNumber: importErrors.rowNumber, reason: importErrors.reason, values: importErrors.values })
    .from(importErrors)
    .where(and(eq(importErrors.importFileId, importId), gt(importErrors.rowNumber, afterRow)))
    .orderBy(asc(importErrors.rowNumber))
    .limit(limit);
}
