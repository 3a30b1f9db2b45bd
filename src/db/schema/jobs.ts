import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, ref, timestamps } from './columns.ts';
import { companies, users } from './identity.ts';
import { campaigns, sources } from './pipeline.ts';

/**
 * The job queue: claimed with FOR UPDATE SKIP LOCKED, held by a lease the worker renews; a job whose lease ran out
 * (its worker died) is claimed again. Failures retry with backoff until `max_attempts`.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: id(),
    kind: text().notNull(),
    payload: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    status: text({ enum: ['queued', 'running', 'done', 'failed', 'canceled'] })
      .notNull()
      .default('queued'),
    attempts: integer().notNull().default(0),
    maxAttempts: integer().notNull().default(5),
    runAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lockedBy: text(),
    leaseUntil: timestamp({ withTimezone: true }),
    lastError: text(),
    ...timestamps(),
  },
  (t) => [
    index('jobs_queued_index').on(t.runAt).where(sql`status = 'queued'`),
    index('jobs_running_index').on(t.leaseUntil).where(sql`status = 'running'`),
    // A webhook's queued delivery job, looked up in every transaction that appends events (webhooks wake-up).
    index('jobs_webhook_deliver_queued_index')
      .on(sql`(${t.payload}->>'webhookId')`)
      .where(sql`status = 'queued' and kind = 'webhooks.deliver'`),
  ],
);

/** An uploaded spreadsheet and its import's progress. The file itself is in storage under `file_key`. */
export const importFiles = pgTable(
  'import_files',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    createdByUserId: ref().references(() => users.id, { onDelete: 'set null' }),
    fileKey: text().notNull(),
    fileName: text().notNull(),
    fileSize: integer().notNull(),
    format: text({ enum: ['csv', 'xlsx'] }).notNull(),
    sourceId: ref().references(() => sources.id),
    campaignId: ref().references(() => campaigns.id),
    mapping: jsonb().$type<Record<string, string>>(),
    onDuplicate: text({ enum: ['skip', 'update'] })
      .notNull()
      .default('skip'),
    status: text({ enum: ['pending', 'processing', 'completed', 'failed', 'canceled'] })
      .notNull()
      .default('pending'),
    totalRows: integer(),
    processedRows: integer().notNull().default(0),
    importedRows: integer().notNull().default(0),
    updatedRows: integer().notNull().default(0),
    duplicateRows: integer().notNull().default(0),
    failedRows: integer().notNull().default(0),
    // The last data row whose batch committed: a resumed run starts after it.
    checkpointRow: integer().notNull().default(0),
    // How far into the file that checkpoint is, for progress before the total row count is known.
    bytesRead: bigint({ mode: 'number' }).notNull().default(0),
    firstErrors: jsonb().$type<{ row: number; reason: string }[]>().notNull().default([]),
    // Rejected rows kept in import_errors (at most IMPORT_MAX_STORED_ERRORS) and their size: with file_size, what the
    // import takes of the company's storage quota (summed over the company's imports, by the company_id index).
    storedErrorRows: integer().notNull().default(0),
    errorsBytes: bigint({ mode: 'number' }).notNull().default(0),
    errorMessage: text(),
    jobId: ref(),
    startedAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),
    cancelRequestedAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    index().on(t.companyId, t.id),
    index().on(t.createdByUserId),
    index().on(t.sourceId),
    index().on(t.campaignId),
  ],
);

/** Rejected rows, for the errors CSV: written in the batch's transaction, once per (import, row). */
export const importErrors = pgTable(
  'import_errors',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    importFileId: ref()
      .notNull()
      .references(() => importFiles.id, { onDelete: 'cascade' }),
    rowNumber: integer().notNull(),
    reason: text().notNull(),
    values: jsonb().$type<Record<string, string>>().notNull(),
  },
  (t) => [uniqueIndex('import_errors_row_unique').on(t.importFileId, t.rowNumber), index().on(t.companyId)],
);
