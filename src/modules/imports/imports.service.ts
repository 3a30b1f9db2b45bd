import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { Db, Executor } from '../../db/client.ts';
import { cancel as cancelJob, enqueue, findJob } from '../../jobs/queue.ts';
import type { Clock } from '../../lib/clock.ts';
import {
  conflict,
  type FieldError,
  fieldError,
  invalid,
  notFound,
  payloadTooLarge,
  unsupportedMediaType,
} from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import { randomToken } from '../../lib/secrets.ts';
import { detectFormat, errorsCsv, writeTemplate } from '../../lib/spreadsheet/index.ts';
import type { Storage } from '../../lib/storage/index.ts';
import { checkReferences } from '../leads/lead-references.ts';
import type { LimitsService } from '../limits/limits.service.ts';
import { IMPORT_JOB, IMPORT_MAX_ATTEMPTS } from './import.job.ts';
import {
  countStoredErrors,
  errorsPage,
  findImport,
  type ImportRow,
  importById,
  insertImport,
  listImports,
  listQuestionTitles,
  updateImport,
} from './imports.repository.ts';
import { IMPORT_MAX_BYTES } from './imports.schemas.ts';

export const tooLarge = () => payloadTooLarge(`The file must be at most ${IMPORT_MAX_BYTES / 1024 / 1024} MB.`);
export const unsupported = () => unsupportedMediaType('The file is neither a CSV nor an XLSX file.');

/** Keeps the first bytes of a stream that passes through, for sniffing the format, and counts the rest. */
class Head extends Transform {
  head = Buffer.alloc(0);
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    if (this.head.length < 8192) this.head = Buffer.concat([this.head, chunk.subarray(0, 8192 - this.head.length)]);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

export type Fields = Record<string, string>;

/**
 * An upload's form parts, in the order they arrive, as plain values and streams (the route turns the HTTP body into
 * these). A file part's stream must be read or resumed before the next part comes; `truncated` says the transport
 * cut it at its size limit.
 */
export type UploadPart =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; filename: string; stream: Readable & { truncated?: boolean } };
/** Whom an import is for: its company, and the person who uploaded it (none from the command line). */
type Uploader = { userId: number | null; companyId: number };

const newKey = (companyId: number) =>
  `imports/${companyId}/${randomToken()
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 32)}`;
type Upload = { key: string; fileName: string; size: number; format: 'csv' | 'xlsx'; fields: Fields };

function parseMapping(raw: string | undefined, errors: FieldError[]): Record<string, string> | null {
  if (raw === undefined || raw.trim() === '') return null;
  try {
    const value = JSON.parse(raw) as unknown;
    const entries = value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : undefined;
    if (
      entries &&
      entries.length <= 200 &&
      entries.every(([key, target]) => key.length <= 200 && typeof target === 'string' && target.length <= 64)
    ) {
      return Object.fromEntries(entries) as Record<string, string>;
    }
  } catch {
    // reported below
  }
  errors.push(fieldError('mapping', 'invalid', 'must be a JSON object of file column → lead field or question:<id>'));
  return null;
}

function optionalId(raw: string | undefined, field: string, errors: FieldError[]): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (/^[1-9][0-9]{0,14}$/.test(raw)) return Number(raw);
  errors.push(fieldError(field, 'type', 'must be an id'));
  return undefined;
}

export function createImportsService(deps: {
  db: Db;
  storage: Storage;
  clock: Clock;
  notify: () => void;
  limits: LimitsService;
}) {
  const { db, storage, limits } = deps;

  /** Streams the `file` part to storage (never whole in memory) and collects the other fields, in any order. */
  async function receive(parts: AsyncIterable<UploadPart>, companyId: number): Promise<Upload> {
    const key = newKey(companyId);
    const fields: Fields = {};
    let stored: Omit<Upload, 'fields' | 'format'> & { head: Buffer } = {
      key,
      fileName: '',
      size: 0,
      head: Buffer.alloc(0),
    };
    let sawFile = false;
    try {
      for await (const part of parts) {
        if (part.kind === 'field') {
          fields[part.name] = part.value;
          continue;
        }
        if (part.name !== 'file' || sawFile) {
          part.stream.resume();
          continue;
        }
        sawFile = true;
        const head = new Head();
        // pipe() does not pass errors on: a cut request must fail the write (and remove its temporary file), not
        // leave it waiting forever.
        part.stream.once('error', (error) => head.destroy(error));
        await storage.put(key, part.stream.pipe(head), 'application/octet-stream');
        if (part.stream.truncated) throw tooLarge();
        stored = { key, fileName: part.filename || 'upload', size: head.bytes, head: head.head };
      }
    } catch (error) {
      await storage.delete(key).catch(() => {});
      throw error;
    }
    if (!sawFile) throw invalid([fieldError('file', 'required', 'must be a file part named file')]);
    const format = detectFormat(stored.head);
    if (!format || stored.size === 0) {
      await storage.delete(key);
      throw unsupported();
    }
    return { key, fileName: stored.fileName.slice(0, 255), size: stored.size, format, fields };
  }

  /** Checks the other fields, then records the import and queues its job in one transaction. */
  async function accept(uploader: Uploader, upload: Upload): Promise<ImportRow> {
    const errors: FieldError[] = [];
    const sourceId = optionalId(upload.fields.source_id, 'source_id', errors);
    const campaignId = optionalId(upload.fields.campaign_id, 'campaign_id', errors);
    const mapping = parseMapping(upload.fields.mapping, errors);
    const onDuplicate = upload.fields.on_duplicate ?? 'skip';
    if (onDuplicate !== 'skip' && onDuplicate !== 'update') {
      errors.push(fieldError('on_duplicate', 'enum', 'must be skip or update'));
    }
    errors.push(...(await checkReferences(db, uploader.companyId, { sourceId, campaignId })).errors);
    if (errors.length > 0) {
      await storage.delete(upload.key);
      throw invalid(errors);
    }
    const row = await db
      .transaction(async (tx) => {
        // The file is in storage already (its size is known only once streamed): over the quota, it is removed.
        await limits.assertStorage(tx, uploader.companyId, upload.size);
        return record(tx, uploader, upload, { sourceId, campaignId, mapping, onDuplicate });
      })
      .catch(async (error: unknown) => {
        await storage.delete(upload.key).catch(() => {});
        throw error;
      });
    deps.notify();
    return row;
  }

  /** The import row and its job, in the caller's transaction. */
  async function record(
    tx: Executor,
    uploader: Uploader,
    upload: Upload,
    fields: { sourceId?: number; campaignId?: number; mapping: Record<string, string> | null; onDuplicate: string },
  ): Promise<ImportRow> {
    const { sourceId, campaignId, mapping, onDuplicate } = fields;
    const created = await insertImport(tx, {
      companyId: uploader.companyId,
      createdByUserId: uploader.userId,
      fileKey: upload.key,
      fileName: upload.fileName,
      fileSize: upload.size,
      format: upload.format,
      sourceId,
      campaignId,
      mapping,
      onDuplicate: onDuplicate as 'skip' | 'update',
    });
    const jobId = await enqueue(tx, {
      kind: IMPORT_JOB,
      payload: { import_file_id: created.id },
      maxAttempts: IMPORT_MAX_ATTEMPTS,
    });
    return (await updateImport(tx, created.companyId, created.id, { jobId }))!;
  }

  return {
    /** Stores the file, then records the import and queues its job: 202, `pending`. */
    async upload(uploader: Uploader & { userId: number }, parts: AsyncIterable<UploadPart>): Promise<ImportRow> {
      return accept(uploader, await receive(parts, uploader.companyId));
    },

    /**
     * The command line's way in: a file on disk, streamed to storage and sniffed like an upload (an operator's file
     * has no size cap; the row cap still applies). Fields as the upload's form fields.
     */
    async importFile(uploader: Uploader, path: string, fields: Fields): Promise<ImportRow> {
      const key = newKey(uploader.companyId);
      const head = new Head();
      await storage.put(key, createReadStream(path).pipe(head), 'application/octet-stream');
      const format = detectFormat(head.head);
      if (!format || head.bytes === 0) {
        await storage.delete(key);
        throw unsupported();
      }
      return accept(uploader, { key, fileName: basename(path).slice(0, 255), size: head.bytes, format, fields });
    },

    async list(companyId: number, query: { limit?: number; cursor?: string }) {
      const limit = query.limit ?? 25;
      const before = decodeCursor(query.cursor, ['id'])?.[0];
      return toPage(await listImports(db, companyId, before, limit), limit, (row) => [row.id]);
    },

    async show(companyId: number, importId: number): Promise<ImportRow> {
      const row = await findImport(db, companyId, importId);
      if (!row) throw notFound('Import');
      return row;
    },

    cancel: (companyId: number, importId: number) => cancelImport(db, deps.clock, companyId, importId),

    /** Every rejected row as CSV, streamed a page at a time from the database. */
    async errorsFile(companyId: number, importId: number) {
      const row = await findImport(db, companyId, importId);
      if (!row) throw notFound('Import');
      async function* rows() {
        let after = 0;
        for (;;) {
          const page = await errorsPage(db, companyId, importId, after, 1000);
          for (const error of page) yield { rowNumber: error.rowNumber, reason: error.reason, values: error.values };
          if (page.length < 1000) return;
          after = page.at(-1)!.rowNumber;
        }
      }
      const headers = await headersOf(row);
      // Counts are exact; only the first IMPORT_MAX_STORED_ERRORS rows (and only while the quota allows) are kept.
      const notKept = row.failedRows + row.duplicateRows - (await countStoredErrors(db, row.companyId, row.id));
      return { fileName: `import-${row.id}-errors.csv`, body: errorsCsv(rows(), headers, notKept) };
    },

    async template(companyId: number, format: 'csv' | 'xlsx') {
      const questions = await listQuestionTitles(db, companyId);
      const body = await writeTemplate(format, { questions });
      return { body: body instanceof Readable ? body : Readable.from([body]), format };
    },
  };

  /** The original columns of the errors CSV: the keys of the first rejected row (every row has the file's headers). */
  async function headersOf(row: ImportRow): Promise<string[]> {
    const [first] = await errorsPage(db, row.companyId, row.id, 0, 1);
    return first ? Object.keys(first.values) : [];
  }
}

export type ImportsService = ReturnType<typeof createImportsService>;

/**
 * Cancels in every state and answers the import as it now is. A job that is not running (pending, waiting for a
 * retry, or already ended behind an import still marked processing) is canceled with the import at once; a running
 * one is asked to stop at its next batch (`cancel_requested`), and if its worker is lost instead, the queue's
 * give-up hook ends the import `canceled`. Canceled: unchanged. Completed or failed: 409.
 */
async function cancelImport(db: Db, clock: Clock, companyId: number, importId: number): Promise<ImportRow> {
  return db.transaction(async (tx) => {
    if (!(await findImport(tx, companyId, importId))) throw notFound('Import');
    // Locked: the worker's next batch, and the queue's give-up hook, wait for this decision.
    const row = (await importById(tx, importId, true))!;
    if (row.status === 'canceled') return row;
    if (row.status === 'completed' || row.status === 'failed') {
      throw conflict('import_finished', `The import is already ${row.status}.`);
    }
    const now = clock.now();
    const job = row.jobId === null ? undefined : await findJob(tx, row.jobId);
    if (job?.status === 'running') {
      return (await updateImport(tx, companyId, importId, { cancelRequestedAt: row.cancelRequestedAt ?? now }))!;
    }
    if (job) await cancelJob(tx, job.id, now);
    return (await updateImport(tx, companyId, importId, {
      status: 'canceled',
      cancelRequestedAt: row.cancelRequestedAt ?? now,
      finishedAt: now,
    }))!;
  });
}
