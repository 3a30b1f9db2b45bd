import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import {
  campaigns,
  importErrors,
  importFiles,
  questionOptions,
  questions,
  sources,
  stages,
} from '../../db/schema/index.ts';

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

export async function updateImport(
  db: Executor,
  companyId: number,
  id: number,
  values: PgUpdateSetSource<typeof importFiles>,
) {
  const [row] = await db
    .update(importFiles)
    .set({ ...values, updatedAt: sql`now()` })
    .where(and(eq(importFiles.companyId, companyId), eq(importFiles.id, id)))
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

export async function countStoredErrors(db: Executor, companyId: number, importId: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(importErrors)
    .where(and(eq(importErrors.companyId, companyId), eq(importErrors.importFileId, importId)));
  return Number(row?.n ?? 0);
}

/** Rejected rows in row order, a page at a time, for the errors CSV. */
export async function errorsPage(db: Executor, companyId: number, importId: number, afterRow: number, limit: number) {
  return db
    .select({ rowNumber: importErrors.rowNumber, reason: importErrors.reason, values: importErrors.values })
    .from(importErrors)
    .where(
      and(
        eq(importErrors.companyId, companyId),
        eq(importErrors.importFileId, importId),
        gt(importErrors.rowNumber, afterRow),
      ),
    )
    .orderBy(asc(importErrors.rowNumber))
    .limit(limit);
}

/** The company's live questions with their titles, in priority order: template columns and header matching. */
export function listQuestionTitles(db: Executor, companyId: number) {
  return db
    .select({ id: questions.id, title: questions.title })
    .from(questions)
    .where(and(eq(questions.companyId, companyId), isNull(questions.deletedAt)))
    .orderBy(asc(questions.priority), asc(questions.id));
}

/** What an import's references may be named by: stages, the company's live sources, campaigns and questions, options. */
export async function lookupRows(db: Executor, companyId: number) {
  const [stageRows, sourceRows, campaignRows, questionRows, optionRows] = await Promise.all([
    db.select({ id: stages.id, code: stages.code, name: stages.name }).from(stages),
    db
      .select({ id: sources.id, name: sources.name })
      .from(sources)
      .where(and(eq(sources.companyId, companyId), isNull(sources.deletedAt))),
    db
      .select({ id: campaigns.id, name: campaigns.name })
      .from(campaigns)
      .where(and(eq(campaigns.companyId, companyId), isNull(campaigns.deletedAt))),
    db
      .select({ id: questions.id, kind: questions.kind })
      .from(questions)
      .where(and(eq(questions.companyId, companyId), isNull(questions.deletedAt))),
    db
      .select({
        questionId: questionOptions.questionId,
        campaignId: questionOptions.campaignId,
        label: questionOptions.label,
        value: questionOptions.value,
      })
      .from(questionOptions)
      .where(eq(questionOptions.companyId, companyId)),
  ]);
  return { stageRows, sourceRows, campaignRows, questionRows, optionRows };
}

/**
 * For the batch's transaction only. No parallel workers: launching them cost 12 ms for index probes that take 3.
 * Asynchronous commit: the batch's checkpoint commits with its rows, so a commit lost to a PostgreSQL crash is
 * simply redone from the previous checkpoint, and the batch does not wait for the WAL flush.
 */
const BATCH_SETTINGS = sql`select set_config('max_parallel_workers_per_gather', '0', true),
  set_config('synchronous_commit', 'off', true)`;

/** The settings above, first thing in an import batch's transaction. */
export async function tuneBatchTransaction(tx: Executor) {
  await tx.execute(BATCH_SETTINGS);
}

/** Fresh planner statistics for the leads table, after an import grew it fast. */
export async function analyzeLeads(db: Executor) {
  await db.execute(sql`analyze leads`);
}
