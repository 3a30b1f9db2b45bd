import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipelineCallback, Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type ExcelJS from 'exceljs';
import { createSharedStrings, type SharedStrings } from './shared-strings.ts';
import type { Chunks } from './source.ts';
import { isSpreadsheetError, SpreadsheetError } from './spreadsheet-error.ts';
import type { RawRecord, SheetLimits } from './types.ts';
import { cellText, missingText } from './xlsx-cells.ts';
import { createMeter, openZip, type ZipEntry, zipEntries } from './xlsx-zip.ts';
import { createXmlGuard } from './xml-guard.ts';

type Row = {
  number: number;
  eachCell(options: { includeEmpty: boolean }, callback: (cell: ExcelJS.Cell, column: number) => void): void;
};
/** The parts of exceljs's streaming WorkbookReader we drive ourselves (see xlsx-zip.ts for why). */
type SharedText = string | null | { richText: { text?: string | null }[] };
type WorkbookInternals = {
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncGenerator<{ index: number; text: SharedText }>;
  _parseWorksheet(chunks: AsyncIterable<unknown>, sheetNo: string): Generator<{ value: AsyncIterable<Row> }>;
  workbookRels?: { Id: string; Type?: string; Target: string }[];
  model?: { sheets?: { rId: string }[] };
  properties?: { model?: { date1904?: boolean } };
};

const SHEET_PATH = /^xl\/worksheets\/[^/]+\.xml$/;

const corrupt = () =>
  new SpreadsheetError(
    'corrupt_file',
    'The XLSX file could not be read; it may be damaged. Open it in Excel and save it again, or save it as CSV.',
  );

/** What the zip holds and what has been read so far, to know when the first sheet can be streamed. */
type Progress = {
  parts?: string;
  read: Set<string>;
  spooled: Map<string, string>;
  dir?: string;
  strings?: SharedStrings;
};

/** Excel's last column is XFD; exceljs refuses a reference beyond it. */
const MAX_COLUMNS = 16_384;

const SHEET_VALUES = new Set(['v', 'f', 't', 'is']);
const SHARED_VALUE = new Set(['si']);

/** A sheet's cells and rows are capped as its XML streams (see xml-guard.ts), before exceljs gathers them. */
const sheetGuard = (limits: SheetLimits) =>
  createXmlGuard({
    valueStarts: SHEET_VALUES,
    maxValueChars: limits.maxFieldLength,
    rowStart: 'row',
    maxRowChars: limits.maxRecordLength,
    valueName: (row) => `Row ${row ?? '?'} of the sheet has a cell that`,
  });

/** Each shared string is a cell's text: the same cap, counted before exceljs joins its runs. */
const sharedStringsGuard = (limits: SheetLimits) =>
  createXmlGuard({
    valueStarts: SHARED_VALUE,
    maxValueChars: limits.maxFieldLength,
    valueName: () => 'A text of the workbook (its shared strings)',
  });

/** Relationships, workbook and styles hold no cell text; their values are names, formats and defined names. */
const partGuard = () =>
  createXmlGuard({ maxValueChars: 64 * 1024, valueName: () => 'A value in the workbook structure' });

/** `source` through `guard`, failing the guard with the source's error (a meter's cap) as `pipe` would not. */
const through = (source: Readable, guard: Transform): Transform => pipelineCallback(source, guard, () => {});

const plainText = (text: SharedText): string =>
  text === null || typeof text === 'string' ? (text ?? '') : text.richText.map((run) => run.text ?? '').join('');

/** The first worksheet in tab order (a chart sheet is not one), once workbook.xml and its relationships are read. */
function firstSheetPath(workbook: WorkbookInternals): string | undefined {
  const rels = workbook.workbookRels ?? [];
  for (const sheet of workbook.model?.sheets ?? []) {
    const rel = rels.find((candidate) => candidate.Id === sheet.rId);
    if (rel?.Type?.endsWith('/worksheet')) return `xl/${rel.Target.replace(/^\/?(xl\/)?/, '')}`;
  }
  return undefined;
}

// Shared strings and styles (dates are numbers with a date style) must be known before the sheet's cells are read.
function ready(progress: Progress): boolean {
  const { parts, read } = progress;
  if (parts === undefined || !read.has('xl/workbook.xml') || !read.has('xl/_rels/workbook.xml.rels')) return false;
  return ['sharedStrings.xml', 'styles.xml'].every((part) => read.has(`xl/${part}`) || !parts.includes(`/xl/${part}`));
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readSharedStrings(workbook: WorkbookInternals, stream: Readable, progress: Progress) {
  const strings = createSharedStrings();
  for await (const { text } of workbook._parseSharedStrings(stream)) strings.add(plainText(text));
  progress.strings = strings;
}

async function readPart(
  workbook: WorkbookInternals,
  path: string,
  stream: Readable,
  progress: Progress,
  limits: SheetLimits,
) {
  if (path === '[Content_Types].xml') {
    progress.parts = await text(stream);
    if (!progress.parts.includes('spreadsheetml'))
      throw new SpreadsheetError('unsupported_format', 'The file is a zip archive but not an Excel workbook (.xlsx).');
  } else if (path === 'xl/_rels/workbook.xml.rels') await workbook._parseRels(through(stream, partGuard()));
  else if (path === 'xl/workbook.xml') await workbook._parseWorkbook(through(stream, partGuard()));
  else if (path === 'xl/styles.xml') await workbook._parseStyles(through(stream, partGuard()));
  else await readSharedStrings(workbook, through(stream, sharedStringsGuard(limits)), progress);
  progress.read.add(path);
}

/**
 * A row's cells as text. Shared strings are looked up here, one row at a time, against the row's budget
 * (maxRecordLength): 16,384 cells each naming the same 10,000-character string would otherwise be 164M characters.
 */
function rowRecord(
  row: Row,
  fallbackLine: number,
  date1904: boolean,
  strings: SharedStrings | undefined,
  limits: SheetLimits,
): RawRecord {
  const cells: string[] = [];
  const line = Number.isFinite(row.number) ? row.number : fallbackLine;
  let budget = limits.maxRecordLength;
  const sharedString = (index: number) => {
    if (!strings || index < 0 || index >= strings.count) throw missingText();
    budget -= strings.byteLength(index);
    if (budget < 0)
      throw new SpreadsheetError(
        'field_too_long',
        `Row ${line} of the sheet holds more than ${limits.maxRecordLength} characters of text.`,
      );
    return strings.get(index);
  };
  row.eachCell({ includeEmpty: false }, (cell, column) => {
    if (column > MAX_COLUMNS)
      throw new SpreadsheetError('too_many_columns', `Row ${line} has cells beyond column XFD.`);
    cells[column - 1] = cellText(cell, date1904, sharedString);
  });
  return { cells: Array.from(cells, (cell) => cell ?? ''), line };
}

async function* sheetRecords(
  workbook: WorkbookInternals,
  xml: Readable,
  progress: Progress,
  limits: SheetLimits,
): AsyncGenerator<RawRecord> {
  workbook.properties ??= {};
  const date1904 = workbook.properties.model?.date1904 === true;
  const [event] = workbook._parseWorksheet(through(xml, sheetGuard(limits)), '1');
  let line = 0;
  for await (const row of event!.value) yield rowRecord(row, ++line, date1904, progress.strings, limits);
}

async function spool(entry: ZipEntry, meter: Transform, progress: Progress) {
  progress.dir ??= await mkdtemp(join(tmpdir(), 'leadsy-xlsx-'));
  const file = join(progress.dir, `sheet-${progress.spooled.size}.xml`);
  await pipeline(entry, meter, createWriteStream(file));
  progress.spooled.set(entry.path, file);
}

const drain = (entry: ZipEntry, meter: Transform) =>
  pipeline(entry, meter, new Writable({ write: (_chunk, _encoding, callback) => callback() }));

const sheetNumber = (path: string) => Number(/(\d+)\.xml$/.exec(path)?.[1] ?? Number.MAX_SAFE_INTEGER);

/** [Content_Types].xml is read whole as text: a list of part names, a few KB even for a thousand sheets. */
const CONTENT_TYPES_BYTES = 1024 * 1024;

const PARTS = new Set([
  '[Content_Types].xml',
  'xl/_rels/workbook.xml.rels',
  'xl/workbook.xml',
  'xl/styles.xml',
  'xl/sharedStrings.xml',
]);

function capOf(path: string, limits: SheetLimits): number {
  if (path === 'xl/sharedStrings.xml') return limits.maxSharedStringsBytes;
  if (path === '[Content_Types].xml') return Math.min(limits.maxPartBytes, CONTENT_TYPES_BYTES);
  // Sheets and parts we skip (images, drawings …) only count toward the whole-workbook cap.
  return PARTS.has(path) ? limits.maxPartBytes : limits.maxUncompressedBytes;
}

/**
 * Entry by entry: the small parts are parsed, the first sheet is streamed as soon as everything it needs is known;
 * until then sheets are spooled to a temporary file (bounded by the caps), and once the first sheet is known the
 * others are drained. Returns whether the first sheet was streamed.
 */
async function* walkZip(
  zip: ReturnType<typeof openZip>,
  workbook: WorkbookInternals,
  limits: SheetLimits,
  progress: Progress,
  track: (meter: Transform | undefined) => void,
): AsyncGenerator<RawRecord, boolean> {
  const meter = createMeter(limits);
  for await (const entry of zipEntries(zip)) {
    const counted = meter(entry, capOf(entry.path, limits));
    track(counted);
    const first = firstSheetPath(workbook);
    if (PARTS.has(entry.path)) await readPart(workbook, entry.path, entry.pipe(counted), progress, limits);
    else if (!SHEET_PATH.test(entry.path) || (first && entry.path !== first)) await drain(entry, counted);
    else if (entry.path === first && ready(progress)) {
      yield* sheetRecords(workbook, entry.pipe(counted), progress, limits);
      return true;
    } else await spool(entry, counted, progress);
    track(undefined);
  }
  return false;
}

async function* spooledSheet(
  workbook: WorkbookInternals,
  progress: Progress,
  limits: SheetLimits,
): AsyncGenerator<RawRecord> {
  const byNumber = [...progress.spooled.keys()].sort((a, b) => sheetNumber(a) - sheetNumber(b));
  const file = progress.spooled.get(firstSheetPath(workbook) ?? byNumber[0] ?? '');
  if (!file) throw new SpreadsheetError('corrupt_file', 'The workbook has no worksheet.');
  yield* sheetRecords(workbook, createReadStream(file), progress, limits);
}

/**
 * The rows of the workbook's first sheet (in tab order), streamed through exceljs's streaming parsers with every
 * zip entry metered (see createMeter). Failures of the input stream itself are rethrown as they are (they may be
 * transient); anything else that goes wrong reading the zip or its XML is a SpreadsheetError.
 */
export async function* xlsxRecords(input: Chunks, limits: SheetLimits): AsyncGenerator<RawRecord> {
  const source = Readable.from(input);
  const zip = openZip();
  // Loaded on first use (as in template.ts): exceljs holds ~30 MB that CSV-only work never needs.
  const { default: Excel } = await import('exceljs');
  const workbook = new Excel.stream.xlsx.WorkbookReader(source, {
    entries: 'emit',
    // Emitted, not cached: we keep them compactly ourselves (shared-strings.ts).
    sharedStrings: 'emit',
    hyperlinks: 'ignore',
    // Cached, not ignored: without styles a date cell is just a number.
    styles: 'cache',
    worksheets: 'emit',
  }) as unknown as WorkbookInternals;
  const progress: Progress = { read: new Set(), spooled: new Map() };
  let inputError: unknown;
  let current: Transform | undefined;
  source.on('error', (error) => {
    inputError = error;
    zip.destroy(error);
  });
  // unzipper reports inflate and truncation errors on the zip, not on the entry being read: hand them to its reader.
  zip.on('error', (error) => current?.destroy(error));
  source.pipe(zip);
  try {
    const streamed = yield* walkZip(zip, workbook, limits, progress, (meter) => {
      current = meter;
    });
    if (!progress.parts) throw new SpreadsheetError('unsupported_format', 'The file is not an Excel workbook (.xlsx).');
    if (!streamed) yield* spooledSheet(workbook, progress, limits);
  } catch (error) {
    if (inputError) throw inputError;
    throw isSpreadsheetError(error) ? error : corrupt();
  } finally {
    source.destroy();
    zip.destroy();
    if (progress.dir) await rm(progress.dir, { recursive: true, force: true });
  }
}
