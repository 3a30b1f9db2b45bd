import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, type Info, parse } from 'csv-parse';
import { decodeText } from './decode.ts';
import { detectDelimiter, sepDirective } from './sniff.ts';
import type { Chunks } from './source.ts';
import { SpreadsheetError } from './spreadsheet-error.ts';
import type { Detected, RawRecord, SheetLimits } from './types.ts';

// Enough text to see the header and a few dozen rows.
const SAMPLE_CHARS = 64 * 1024;
const SAMPLE_LINES = 50;

async function takeSample(text: AsyncIterator<string>): Promise<{ sample: string; complete: boolean }> {
  let sample = '';
  let lines = 0;
  while (sample.length < SAMPLE_CHARS && lines < SAMPLE_LINES) {
    const next = await text.next();
    if (next.done) return { sample, complete: true };
    sample += next.value;
    lines += next.value.split('\n').length - 1;
  }
  return { sample, complete: false };
}

/**
 * csv-parse turns each piece it is given into records in one go: pieces of at most PIECE_CHARS (about 300 rows)
 * keep that from holding the event loop for milliseconds while an import's previous batch waits to be written.
 */
const PIECE_CHARS = 16 * 1024;

function* pieces(text: string): Generator<string> {
  for (let at = 0; at < text.length; at += PIECE_CHARS) yield text.slice(at, at + PIECE_CHARS);
}

async function* resume(first: string, text: AsyncIterator<string>): AsyncGenerator<string> {
  try {
    yield* pieces(first);
    for (let next = await text.next(); !next.done; next = await text.next()) yield* pieces(next.value);
  } finally {
    await text.return?.();
  }
}

function csvFailure(error: CsvError & Partial<Info>, lineOffset: number, limits: SheetLimits): SpreadsheetError {
  const line = (error.lines ?? 0) + lineOffset;
  if (error.code === 'CSV_MAX_RECORD_SIZE')
    return new SpreadsheetError(
      'field_too_long',
      `The row at line ${line} is too long: a cell is longer than ${limits.maxFieldLength} characters, or a quote (") is never closed.`,
    );
  if (error.code === 'CSV_QUOTE_NOT_CLOSED')
    return new SpreadsheetError('corrupt_file', `A quote (") opened at or before line ${line} is never closed.`);
  return new SpreadsheetError('corrupt_file', `The CSV file could not be read near line ${line}.`);
}

/**
 * Once the header is known, no row of cells within the cap needs more than this: csv-parse counts the cells before
 * the current one in characters and the current one in UTF-8 bytes (up to 3 per character), so a field over the cap
 * is refused while it is read, after at most (columns + 2) × cap characters instead of the 1M-character record cap.
 * Rows past the header's width (extra cells) share the same budget. Applied from the next piece of input on.
 */
const recordCap = (columns: number, limits: SheetLimits) =>
  Math.min(limits.maxRecordLength, (Math.min(columns, limits.maxHeaders) + 2) * limits.maxFieldLength);

function newlines(cells: string[]): number {
  let count = 0;
  for (const cell of cells) {
    for (let at = cell.indexOf('\n'); at !== -1; at = cell.indexOf('\n', at + 1)) count++;
  }
  return count;
}

/**
 * The records of a CSV file, streamed through csv-parse: encoding and delimiter are detected from the first bytes
 * and lines (see decode.ts and sniff.ts) and written into `detected`; a `sep=` first line is honoured and skipped.
 * Quoted fields may hold delimiters, quotes ("") and line breaks; a stray quote inside an unquoted field is kept.
 * Blank lines come out as records of one empty cell.
 */
export async function* csvRecords(input: Chunks, limits: SheetLimits, detected: Detected): AsyncGenerator<RawRecord> {
  detected.encoding = 'utf-8';
  const text = decodeText(input, (encoding) => {
    detected.encoding = encoding;
  });
  const { sample, complete } = await takeSample(text);
  const sep = sepDirective(sample);
  detected.delimiter = sep?.delimiter ?? detectDelimiter(sample, complete);
  const lineOffset = sep ? 1 : 0;
  let tightened = false;
  const parser = parse({
    delimiter: detected.delimiter,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    relax_quotes: true,
    // Blank lines come through as records (and are skipped by the sheet) so that lines can be counted here: csv-parse's
    // own `info` option would do it but doubles the parse time.
    skip_empty_lines: false,
    max_record_size: limits.maxRecordLength,
    on_record: (record: string[]) => {
      if (!tightened && !(record.length === 1 && record[0] === '')) {
        tightened = true;
        parser.options.max_record_size = recordCap(record.length, limits);
      }
      return record;
    },
  });
  const feeding = pipeline(Readable.from(resume(sep ? sep.rest : sample, text)), parser);
  // The loop below sees the same failure; this only keeps an abandoned pipeline from raising an unhandled rejection.
  feeding.catch(() => {});
  let line = 1 + lineOffset;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      yield { cells: record, line };
      line += 1 + newlines(record);
    }
  } catch (error) {
    if ((error as CsvError).code?.startsWith('CSV_')) throw csvFailure(error as CsvError, lineOffset, limits);
    throw error;
  } finally {
    parser.destroy();
  }
}
