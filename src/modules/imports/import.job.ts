import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Db, Executor } from '../../db/client.ts';
import { isDatabaseUnavailable } from '../../db/faults.ts';
import type { Job, JobContext } from '../../jobs/runner.ts';
import { JobInterruptedError, PermanentJobError } from '../../jobs/runner.ts';
import type { Clock } from '../../lib/clock.ts';
import { isSpreadsheetError } from '../../lib/spreadsheet/index.ts';
import type { Storage } from '../../lib/storage/index.ts';
import type { Telemetry } from '../../lib/telemetry.ts';
import { createAssigner } from '../distribution/distribution.service.ts';
import { announce, announcements } from '../leads/lead-intake.ts';
import type { LimitsService } from '../limits/limits.service.ts';
import {
  applyUpdates,
  classify,
  type ImportSettings,
  insertLeads,
  prepareRows,
  type Rejected,
  type SheetRow,
} from './import-batch.ts';
import { announceImportEnd } from './import-events.ts';
import { cut, excerpt, IMPORT_MAX_STORED_ERRORS, REASON_CHARS, storedSize } from './import-excerpt.ts';
import { openImport } from './import-reader.ts';
import {
  analyzeLeads,
  type ImportRow,
  importById,
  insertImportErrors,
  tuneBatchTransaction,
  updateImport,
} from './imports.repository.ts';
import { FIRST_ERRORS } from './imports.schemas.ts';

export const IMPORT_JOB = 'import';
/** Mostly a setup fault: the worker does not see the storage the API wrote to (issue 12, repro 5). */
export const FILE_MISSING =
  'The uploaded file is not in storage where this worker looks for it. With several processes and ' +
  'STORAGE_DRIVER=local, every API and worker process must share DATA_DIR/files (one volume), or use ' +
  'STORAGE_DRIVER=s3; then upload the file again.';
export const IMPORT_BATCH = 1000;
/** Every worker crash costs an attempt; an import survives many before giving up. */
export const IMPORT_MAX_ATTEMPTS = 25;
const ANALYZE_EVERY = 100;
const READ_SLICE = 25;

type Deps = { db: Db; storage: Storage; clock: Clock; limits: LimitsService; telemetry: Telemetry };

/**
 * The import job. Rows stream from storage; each batch of IMPORT_BATCH rows is written in one transaction together
 * with its checkpoint and counters, so a worker killed at any point resumes after the last committed batch and
 * writes nothing twice (leads carry a unique (import_id, import_row) too). Cancellation is seen at the next batch.
 */
export function createImportJob(deps: Deps) {
  const { db, clock } = deps;

  /** The import's end, with its `import.completed` or `import.failed` event (a canceled import has none). */
  async function finish(row: ImportRow, values: Parameters<typeof updateImport>[3]) {
    await db.transaction(async (tx) => {
      const ended = await updateImport(tx, row.companyId, row.id, { ...values, finishedAt: clock.now() });
      if (ended) await announceImportEnd(tx, ended);
    });
  }

  /**
   * Keeps an excerpt of the batch's rejected rows, in row order, while the import has kept fewer than
   * IMPORT_MAX_STORED_ERRORS and the company's storage quota has room; the rest are only counted.
   */
  async function keepErrors(tx: Executor, current: ImportRow, errors: Rejected[], settings: ImportSettings) {
    const slots = Math.max(0, IMPORT_MAX_STORED_ERRORS - current.storedErrorRows);
    if (errors.length === 0 || slots === 0) return { rows: 0, bytes: 0 };
    let room = await deps.limits.storageRoom(tx, settings.companyId);
    const rows = [];
    for (const error of errors.slice(0, slots)) {
      const row = { ...error, values: excerpt(error.values) };
      const bytes = storedSize(row);
      if (bytes > room) break;
      room -= bytes;
      rows.push({ ...row, bytes });
    }
    await insertImportErrors(
      tx,
      rows.map(({ bytes: _, ...row }) => ({ ...row, companyId: settings.companyId, importFileId: settings.importId })),
    );
    return { rows: rows.length, bytes: rows.reduce((sum, row) => sum + row.bytes, 0) };
  }

  /** One batch, all or nothing: leads, updates, rejected rows, the month's usage, counters and checkpoint. */
  async function writeBatch(
    rows: SheetRow[],
    prepared: Awaited<ReturnType<typeof prepareRows>>,
    settings: ImportSettings,
    bytesRead: number,
  ) {
    const started = performance.now();
    const outcome = await db.transaction(async (tx) => {
      await tuneBatchTransaction(tx);
      const current = (await importById(tx, settings.importId, true))!;
      if (current.cancelRequestedAt) return { status: 'canceled' as const };
      // Under the import row's lock: rows another worker committed meanwhile are not counted twice.
      const mine = (item: { rowNumber: number } | { row: { rowNumber: number } }) =>
        ('row' in item ? item.row.rowNumber : item.rowNumber) > current.checkpointRow;
      const ready = prepared.ready.filter(mine);
      const rejected = prepared.rejected.filter(mine);
      rows = rows.filter(mine);
      if (rows.length === 0) return { status: 'written' as const };
      const { fresh, updates, duplicates } = await classify(tx, ready, settings);

      // Lock order (src/db/locks.ts): this import's row (above), the company's lead intake and its month's usage
      // (reserve), then rotations (the assigner) and lead rows (the updates) — as API creations take them. Rows past
      // the plan's monthly limit are rejected; the ones before it still land.
      const room = await deps.limits.reserveMonthlyLeads(tx, settings.companyId, fresh.length);
      const overLimit = fresh.slice(room.granted).map((item) => ({
        rowNumber: item.row.rowNumber,
        reason: `plan_limit_reached: the plan allows ${room.limit} new leads a month`,
        values: item.row.values,
      }));
      const assigner = await createAssigner(tx, settings.companyId);
      const out = announcements(settings.companyId);
      const imported = await insertLeads(tx, fresh.slice(0, room.granted), settings, assigner, out);
      await assigner.flush();
      await room.record(imported);
      const updated = await applyUpdates(tx, updates, settings, out);

      const failed = [...rejected, ...overLimit];
      const errors: Rejected[] = [...failed, ...duplicates]
        .sort((a, b) => a.rowNumber - b.rowNumber)
        .map((e) => ({ ...e, reason: cut(e.reason, REASON_CHARS) }));
      const kept = await keepErrors(tx, current, errors, settings);
      const firstErrors = [...current.firstErrors, ...errors.map((e) => ({ row: e.rowNumber, reason: e.reason }))];
      await updateImport(tx, settings.companyId, settings.importId, {
        processedRows: current.processedRows + rows.length,
        importedRows: current.importedRows + imported,
        updatedRows: current.updatedRows + updated,
        duplicateRows: current.duplicateRows + duplicates.length,
        failedRows: current.failedRows + failed.length,
        checkpointRow: rows.at(-1)!.rowNumber,
        bytesRead,
        firstErrors: firstErrors.slice(0, FIRST_ERRORS),
        storedErrorRows: current.storedErrorRows + kept.rows,
        errorsBytes: current.errorsBytes + kept.bytes,
      });
      // Last: the batch's events (every lead rendered in one query) take the company's event counter until commit.
      await announce(tx, out);
      const counts = { imported, updated, duplicate: duplicates.length, failed: failed.length };
      return { status: 'written' as const, counts };
    });
    // Counted once committed: a batch rolled back (and written again after a retry) is counted once.
    if (outcome.counts) deps.telemetry.importBatch(outcome.counts, (performance.now() - started) / 1000);
    return outcome.status;
  }

  /**
   * Reads and prepares the next batch (CPU) while the previous one is written (database): one write in flight at
   * a time, so batches still commit in file order, each with its checkpoint.
   */
  async function run(row: ImportRow, context: JobContext) {
    const object = await deps.storage.get(row.fileKey);
    if (!object) throw new PermanentJobError(FILE_MISSING);
    const { settings, sheet } = await openImport(db, row, object.body);
    let inFlight: Promise<'written' | 'canceled'> | undefined;
    const settle = async () => {
      const outcome = (await inFlight) ?? 'written';
      inFlight = undefined;
      return outcome;
    };
    let batches = 0;
    const write = async (rows: SheetRow[]) => {
      const prepared = await prepareRows(rows, settings);
      if ((await settle()) === 'canceled') return 'canceled';
      // An import can take a company from no leads to a million in a minute, faster than autovacuum re-analyzes
      // (when it runs at all): planned on the statistics of a small table, the duplicate probes cost 105 ms a batch
      // at a million leads instead of 3.
      if (batches === 1 || (batches > 0 && batches % ANALYZE_EVERY === 0)) await analyzeLeads(db);
      batches++;
      inFlight = writeBatch(rows, prepared, settings, sheet.progress.bytesRead);
      // Surfaced by the next settle(); until then nobody awaits it.
      inFlight.catch(() => {});
      return 'written';
    };
    let batch: SheetRow[] = [];
    let last = row.checkpointRow;
    try {
      for await (const sheetRow of sheet.rows) {
        if (context.signal.aborted) throw new Error('the job lease was lost');
        last = sheetRow.rowNumber;
        if (sheetRow.rowNumber <= row.checkpointRow) continue;
        batch.push(sheetRow);
        // Rows already parsed come through as microtasks, which hold back the write in flight; let it go on.
        if (batch.length % READ_SLICE === 0) await nextTurn();
        if (batch.length < IMPORT_BATCH) continue;
        if ((await write(batch)) === 'canceled') return finish(row, { status: 'canceled' });
        batch = [];
      }
      if (batch.length > 0 && (await write(batch)) === 'canceled') return finish(row, { status: 'canceled' });
    } catch (error) {
      // No write may outlive the run that started it.
      await inFlight?.catch(() => {});
      throw error;
    }
    if ((await settle()) === 'canceled') return finish(row, { status: 'canceled' });
    await finish(row, { status: 'completed', totalRows: last, bytesRead: row.fileSize });
  }

  return async function importJob(job: Job, context: JobContext): Promise<void> {
    const id = Number((job.payload as { import_file_id?: number }).import_file_id);
    const row = await importById(db, id);
    if (!row || row.status === 'completed' || row.status === 'failed' || row.status === 'canceled') return;
    if (row.cancelRequestedAt) return finish(row, { status: 'canceled' });
    await updateImport(db, row.companyId, id, { status: 'processing', startedAt: row.startedAt ?? clock.now() });
    try {
      await run(row, context);
    } catch (error) {
      // A file that cannot be read will not read better on a retry: the import fails with the reason, and so does
      // the job (not `done`: the queue shows what went wrong too).
      if (isSpreadsheetError(error) || error instanceof PermanentJobError) {
        const message = (error as Error).message;
        await finish(row, { status: 'failed', errorMessage: message });
        throw error instanceof PermanentJobError ? error : new PermanentJobError(message);
      }
      // A worker stopping, or the database going away, hands the job back (src/jobs/runner.ts); only a real
      // failure on the last attempt ends the import.
      const interrupted = context.signal.reason instanceof JobInterruptedError || isDatabaseUnavailable(error);
      if (!interrupted && job.attempts >= job.maxAttempts) {
        await finish(row, { status: 'failed', errorMessage: 'The import failed repeatedly; try uploading it again.' });
      }
      throw error;
    }
  };
}
