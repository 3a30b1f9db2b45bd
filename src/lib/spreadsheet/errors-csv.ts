import { Readable } from 'node:stream';
import { csvLine, UTF8_BOM } from './csv-writer.ts';

export type RejectedRow = { rowNumber: number; reason: string; values: Record<string, string> };

/** The columns of the rejected-rows CSV: `row`, `reason`, then the file's own columns. */
export const errorsCsvHeader = (headers: readonly string[]) => ['row', 'reason', ...headers];

async function* lines(
  rows: AsyncIterable<RejectedRow> | Iterable<RejectedRow>,
  headers: readonly string[],
  notKept: number,
) {
  yield UTF8_BOM + csvLine(errorsCsvHeader(headers));
  for await (const row of rows) {
    yield csvLine([String(row.rowNumber), row.reason, ...headers.map((header) => row.values[header] ?? '')]);
  }
  if (notKept > 0)
    yield csvLine([
      '…',
      `${notKept} more rejected or skipped rows were counted but not kept (an import keeps the first ones, within the storage quota)`,
    ]);
}

/**
 * The rejected rows as a CSV stream: UTF-8 with a BOM (so Excel shows accents right), comma-separated, CRLF, RFC 4180
 * quoting, and every cell that would start a formula (`=`, `+`, `-`, `@`, tab, CR) prefixed with `'` so that opening
 * the file never runs anything. Our reader strips that quote again, so the file can be fixed and re-imported.
 * Values are the excerpts kept (see import-excerpt.ts); a last line says how many rows were counted but not kept.
 */
export function errorsCsv(
  rows: AsyncIterable<RejectedRow> | Iterable<RejectedRow>,
  headers: readonly string[],
  notKept = 0,
): Readable {
  return Readable.from(lines(rows, headers, notKept), { objectMode: false });
}
