import type { Readable } from 'node:stream';
import { withoutNul } from '../text.ts';
import { csvRecords } from './csv-reader.ts';
import { detectFormat, SNIFF_BYTES } from './sniff.ts';
import { counting, peek } from './source.ts';
import { SpreadsheetError } from './spreadsheet-error.ts';
import {
  DEFAULT_LIMITS,
  type Detected,
  type RawRecord,
  type SheetFormat,
  type SheetLimits,
  type SheetRow,
} from './types.ts';
import { xlsxRecords } from './xlsx-reader.ts';

export type OpenSheetOptions = Partial<SheetLimits> & {
  /** The format when already known (e.g. sniffed at upload); otherwise it is detected from the content. */
  format?: SheetFormat;
};

export type Sheet = {
  format: SheetFormat;
  /** Trimmed, unique, non-empty: see `headerNames`. */
  headers: string[];
  /** The data rows; iterate once. Stopping early (break) releases the input. */
  rows: AsyncIterable<SheetRow>;
  /** CSV: the delimiter and encoding found (the encoding may still change while rows are read, see Detected). */
  detected: Detected;
  /** Input bytes consumed so far, for progress. */
  progress: { bytesRead: number };
  /** Releases the input when the rows will not be read to the end. */
  close(): Promise<void>;
};

// A value the errors CSV (or our template) neutralized with a leading quote reads back as the original value.
const NEUTRALIZED = /^'[=+\-@\t\r]/;

const unneutralize = (cell: string) => (NEUTRALIZED.test(cell) ? cell.slice(1).trim() : cell);

const isBlank = (cells: string[]) => cells.every((cell) => cell.trim() === '');

/**
 * The header row's names: trimmed (and un-neutralized, see NEUTRALIZED); empty trailing columns dropped; an empty name in the middle becomes `column_<n>`
 * (1-based position); a repeated name gets ` (2)`, ` (3)` … so every column keeps its values.
 */
export function headerNames(cells: string[], limits: Pick<SheetLimits, 'maxHeaders'>): string[] {
  // Headers are names, not data: a NUL (which PostgreSQL cannot store) just becomes visible.
  const trimmed = cells.map((cell) => withoutNul(unneutralize(cell.trim())));
  while (trimmed.length > 0 && trimmed.at(-1) === '') trimmed.pop();
  if (trimmed.length > limits.maxHeaders)
    throw new SpreadsheetError(
      'too_many_columns',
      `The header row has ${trimmed.length} columns; at most ${limits.maxHeaders} are allowed.`,
    );
  const seen = new Map<string, number>();
  return trimmed.map((name, index) => {
    if (name.length > 200) throw new SpreadsheetError('field_too_long', `Column ${index + 1}'s header is too long.`);
    // `__proto__` as a key of the row's values would be swallowed by the object's prototype setter.
    const base = name && name !== '__proto__' ? name : `column_${index + 1}`;
    const count = (seen.get(base.toLowerCase()) ?? 0) + 1;
    seen.set(base.toLowerCase(), count);
    return count === 1 ? base : `${base} (${count})`;
  });
}

function toRow(record: RawRecord, headers: string[], rowNumber: number, limits: SheetLimits): SheetRow {
  const values: Record<string, string> = {};
  for (const [index, header] of headers.entries()) {
    const cell = (record.cells[index] ?? '').trim();
    if (cell.length > limits.maxFieldLength)
      throw new SpreadsheetError(
        'field_too_long',
        `Row ${rowNumber} (line ${record.line}), column "${header}": a cell is longer than ${limits.maxFieldLength} characters.`,
      );
    values[header] = unneutralize(cell);
  }
  const extra = record.cells
    .slice(headers.length)
    .map((cell) => cell.trim())
    .filter((cell) => cell !== '');
  return extra.length > 0 ? { rowNumber, line: record.line, values, extra } : { rowNumber, line: record.line, values };
}

async function* dataRows(records: AsyncGenerator<RawRecord>, headers: string[], limits: SheetLimits) {
  let rowNumber = 0;
  try {
    for (let next = await records.next(); !next.done; next = await records.next()) {
      if (isBlank(next.value.cells)) continue;
      if (++rowNumber > limits.maxRows)
        throw new SpreadsheetError(
          'too_many_rows',
          `The file has more than ${limits.maxRows} rows; split it into smaller files.`,
        );
      yield toRow(next.value, headers, rowNumber, limits);
    }
  } finally {
    await records.return(undefined);
  }
}

async function readHeader(records: AsyncGenerator<RawRecord>, limits: SheetLimits): Promise<string[]> {
  try {
    let header = await records.next();
    while (!header.done && isBlank(header.value.cells)) header = await records.next();
    if (header.done) throw new SpreadsheetError('empty_file', 'The file has no header row.');
    return headerNames(header.value.cells, limits);
  } catch (error) {
    await records.return(undefined);
    throw error;
  }
}

/**
 * Opens a CSV or XLSX file as a header list and a stream of data rows, never holding the file in memory. The first
 * non-blank row is the header; blank rows (no non-whitespace cell) are skipped and not numbered. Cells are trimmed;
 * a missing cell is ''; non-empty cells beyond the header are returned in `extra` (trailing empty ones are ignored);
 * a cell written as `'=…`, `'+…`, `'-…`, `'@…` (our neutralized form) reads back without the quote.
 * Throws SpreadsheetError for an unrecognised, empty, corrupt or over-cap file (caps: SheetLimits, DEFAULT_LIMITS).
 */
export async function openSheet(
  input: Readable | AsyncIterable<unknown>,
  options: OpenSheetOptions = {},
): Promise<Sheet> {
  const { format: given, ...caps } = options;
  const limits: SheetLimits = { ...DEFAULT_LIMITS, ...caps };
  const progress = { bytesRead: 0 };
  const { head, chunks, release } = await peek(counting(input, progress), SNIFF_BYTES);
  const format = given ?? detectFormat(head);
  if (head.length === 0 || !format) {
    await release();
    if (head.length === 0) throw new SpreadsheetError('empty_file', 'The file is empty.');
    throw new SpreadsheetError('unsupported_format', 'The file is neither CSV nor XLSX.');
  }
  const detected: Detected = {};
  const records = format === 'csv' ? csvRecords(chunks, limits, detected) : xlsxRecords(chunks, limits);
  const headers = await readHeader(records, limits);
  return {
    format,
    headers,
    rows: dataRows(records, headers, limits),
    detected,
    progress,
    close: async () => {
      await records.return(undefined);
    },
  };
}

/** The data rows alone, for callers that do not need the header list first. */
export async function* readRows(
  input: Readable | AsyncIterable<unknown>,
  format: SheetFormat | undefined,
  options: Omit<OpenSheetOptions, 'format'> = {},
): AsyncGenerator<SheetRow> {
  const sheet = await openSheet(input, { ...options, format });
  yield* sheet.rows;
}
