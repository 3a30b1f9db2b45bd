import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type ExcelJS from 'exceljs';
import type { Chunks } from './source.ts';
import { isSpreadsheetError, SpreadsheetError } from './spreadsheet-error.ts';
import type { RawRecord, SheetLimits } from './types.ts';
import { cellText } from './xlsx-cells.ts';
import { createMeter, openZip, type ZipEntry, zipEntries } from './xlsx-zip.ts';

type Row = {
  number: number;
  eachCell(options: { includeEmpty: boolean }, callback: (cell: ExcelJS.Cell, column: number) => void): void;
};
/** The parts of exceljs's streaming WorkbookReader we drive ourselves (see xlsx-zip.ts for why). */
type WorkbookInternals = {
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncGenerator<unknown>;
  _parseWorksheet(chunks: AsyncIterable<unknown>, sheetNo: string): Generator<{ value: AsyncIterable<Row> }>;
  sharedStrings?: unknown[];
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
type Progress = { parts?: string; read: Set<string>; spooled: Map<string, string>; dir?: string };

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

async function readPart(workbook: WorkbookInternals, path: string, stream: Readable, progress: Progress) {
  if (path === '[Content_Types].xml') {
    progress.parts = await text(stream);
    if (!progress.parts.includes('spreadsheetml'))
      throw new SpreadsheetError('unsupported_format', 'The file is a zip archive but not an Excel workbook (.xlsx).');
  } else if (path === 'xl/_rels/workbook.xml.rels') await workbook._parseRels(stream);
  else if (path === 'xl/workbook.xml') await workbook._parseWorkbook(stream);
  else if (path === 'xl/styles.xml') await workbook._parseStyles(stream);
  else {
    const strings = workbook._parseSharedStrings(stream);
    for (let step = await strings.next(); !step.done; step = await strings.next());
  }
  progress.read.add(path);
}

function rowRecord(row: Row, fallbackLine: number, date1904: boolean): RawRecord {
  const cells: string[] = [];
  row.eachCell({ includeEmpty: false }, (cell, column) => {
    cells[column - 1] = cellText(cell, date1904);
  });
  return {
    cells: Array.from(cells, (cell) => cell ?? ''),
    line: Number.isFinite(row.number) ? row.number : fallbackLine,
  };
}

async function* sheetRecords(workbook: WorkbookInternals, chunks: AsyncIterable<unknown>): AsyncGenerator<RawRecord> {
  workbook.properties ??= {};
  const date1904 = workbook.properties.model?.date1904 === true;
  const [event] = workbook._parseWorksheet(chunks, '1');
  let line = 0;
  for await (const row of event!.value) yield rowRecord(row, ++line, date1904);
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

const PARTS = new Set([
  '[Content_Types].xml',
  'xl/_rels/workbook.xml.rels',
  'xl/workbook.xml',
  'xl/styles.xml',
  'xl/sharedStrings.xml',
]);

function capOf(path: string, limits: SheetLimits): number {
  if (path === 'xl/sharedStrings.xml') return limits.maxSharedStringsBytes;
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
    if (PARTS.has(entry.path)) await readPart(workbook, entry.path, entry.pipe(counted), progress);
    else if (!SHEET_PATH.test(entry.path) || (first && entry.path !== first)) await drain(entry, counted);
    else if (entry.path === first && ready(progress)) {
      yield* sheetRecords(workbook, entry.pipe(counted));
      return true;
    } else await spool(entry, counted, progress);
    track(undefined);
  }
  return false;
}

async function* spooledSheet(workbook: WorkbookInternals, progress: Progress): AsyncGenerator<RawRecord> {
  const byNumber = [...progress.spooled.keys()].sort((a, b) => sheetNumber(a) - sheetNumber(b));
  const file = progress.spooled.get(firstSheetPath(workbook) ?? byNumber[0] ?? '');
  if (!file) throw new SpreadsheetError('corrupt_file', 'The workbook has no worksheet.');
  yield* sheetRecords(workbook, createReadStream(file));
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
    sharedStrings: 'cache',
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
    if (!streamed) yield* spooledSheet(workbook, progress);
  } catch (error) {
    if (inputError) throw inputError;
    throw isSpreadsheetError(error) ? error : corrupt();
  } finally {
    source.destroy();
    zip.destroy();
    if (progress.dir) await rm(progress.dir, { recursive: true, force: true });
  }
}
