import { Type } from 'typebox';
import type { importFiles } from '../../db/schema/index.ts';
import { Nullable } from '../../lib/schema.ts';

const Id = Type.Integer({ minimum: 1 });

export const IMPORT_MAX_BYTES = 50 * 1024 * 1024;
export const FIRST_ERRORS = 20;

export const ImportParams = Type.Object({ company_id: Id, import_id: Id });

export const ImportFileJson = Type.Object(
  {
    id: Type.Integer(),
    company_id: Type.Integer(),
    status: Type.Enum(['pending', 'processing', 'completed', 'failed', 'canceled']),
    file_name: Type.String(),
    file_size: Type.Integer(),
    format: Type.Enum(['csv', 'xlsx']),
    source_id: Nullable(Type.Integer()),
    campaign_id: Nullable(Type.Integer()),
    mapping: Nullable(Type.Record(Type.String(), Type.String())),
    on_duplicate: Type.Enum(['skip', 'update']),
    total_rows: Nullable(Type.Integer({ description: 'Known once the whole file has been read.' })),
    processed_rows: Type.Integer(),
    imported_rows: Type.Integer(),
    updated_rows: Type.Integer(),
    duplicate_rows: Type.Integer(),
    failed_rows: Type.Integer(),
    progress: Type.Number({ description: 'Share of the file read so far, 0 to 1 (by bytes while it runs).' }),
    first_errors: Type.Array(Type.Object({ row: Type.Integer(), reason: Type.String() })),
    error_message: Nullable(Type.String()),
    cancel_requested: Type.Boolean(),
    created_at: Type.String({ format: 'date-time' }),
    started_at: Nullable(Type.String({ format: 'date-time' })),
    finished_at: Nullable(Type.String({ format: 'date-time' })),
  },
  {
    title: 'Import',
    description: 'A file of leads being imported, with its progress and counts by outcome.',
    examples: [
      {
        id: 3,
        company_id: 1,
        status: 'completed',
        file_name: 'leads-march.csv',
        file_size: 48213,
        format: 'csv',
        source_id: null,
        campaign_id: null,
        mapping: null,
        on_duplicate: 'skip',
        total_rows: 500,
        processed_rows: 500,
        imported_rows: 488,
        updated_rows: 0,
        duplicate_rows: 9,
        failed_rows: 3,
        progress: 1,
        first_errors: [{ row: 17, reason: 'email: is not a valid email address' }],
        error_message: null,
        cancel_requested: false,
        created_at: '2026-03-23T15:30:28.000Z',
        started_at: '2026-03-23T15:30:29.000Z',
        finished_at: '2026-03-23T15:30:31.000Z',
      },
    ],
  },
);

export const ImportUpload = Type.Object(
  {
    file: Type.String({
      format: 'binary',
      description: 'CSV or XLSX, at most 50 MB; the type is read from the content.',
    }),
    source_id: Type.Optional(Type.String({ description: 'A source of this company, for every imported lead.' })),
    campaign_id: Type.Optional(Type.String({ description: 'A campaign of this company, for every imported lead.' })),
    mapping: Type.Optional(
      Type.String({
        description:
          'JSON object: file column → lead field (`first_name`, `email`, `phone`, …) or `question:<id>`. Columns not ' +
          'mapped are matched by the template names and common English and Spanish synonyms.',
      }),
    ),
    on_duplicate: Type.Optional(Type.Enum(['skip', 'update'], { default: 'skip' })),
  },
  {
    title: 'ImportCreate',
    description: 'multipart/form-data: the file and the import options.',
    examples: [{ file: 'first_name,last_name,email\nAna,García,ana@example.com\n', on_duplicate: 'skip' }],
  },
);

export const ListImportsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});

export const TemplateQuery = Type.Object({ format: Type.Optional(Type.Enum(['csv', 'xlsx'], { default: 'csv' })) });

type ImportRow = typeof importFiles.$inferSelect;

/** Progress is the share of rows done once the total is known, else the share of the file's bytes read. */
export function presentImport(row: ImportRow) {
  const done = row.status === 'completed';
  const progress = done
    ? 1
    : row.totalRows
      ? Math.min(row.processedRows / row.totalRows, 1)
      : row.fileSize
        ? Math.min(row.bytesRead / row.fileSize, 0.99)
        : 0;
  return {
    id: row.id,
    company_id: row.companyId,
    status: row.status,
    file_name: row.fileName,
    file_size: row.fileSize,
    format: row.format,
    source_id: row.sourceId,
    campaign_id: row.campaignId,
    mapping: row.mapping,
    on_duplicate: row.onDuplicate,
    total_rows: row.totalRows,
    processed_rows: row.processedRows,
    imported_rows: row.importedRows,
    updated_rows: row.updatedRows,
    duplicate_rows: row.duplicateRows,
    failed_rows: row.failedRows,
    progress: Math.round(progress * 1000) / 1000,
    first_errors: row.firstErrors,
    error_message: row.errorMessage,
    cancel_requested: row.cancelRequestedAt !== null,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}
