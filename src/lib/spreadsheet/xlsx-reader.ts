import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Duplex, pipeline as pipelineCallback, Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SharedStrings } from './shared-strings.ts';
import type { Chunks } from './source.ts';
import { isSpreadsheetError, SpreadsheetError } from './spreadsheet-error.ts';
import type { RawRecord, SheetLimits } from './types.ts';
import {
  type Relationship,
  readContentTypes,
  readDateStyles,
  readRelationships,
  readSharedStrings,
  readWorkbook,
  type WorkbookInfo,
} from './xlsx-parts.ts';
import { type SheetContext, sheetRecords, spooledRecords, spoolRows } from './xlsx-sheet.ts';
import { createMeter, openZip, type ZipEntry, zipEntries } from './xlsx-zip.ts';
import { createXmlGuard } from './xml-guard.ts';

const SHEET_PATH = /^xl\/worksheets\/[^/]+\.xml$/;

const corrupt = () =>
  new SpreadsheetError(
    'corrupt_file',
    'The XLSX file could not be read; it may be damaged. Open it in Excel and save it again, or save it as CSV.',
  );

/** What the zip holds and what has been read so far, to know when the first sheet can be streamed. */
type Progress = {
  /** Part names listed in [Content_Types].xml (lower case). */
  parts?: Set<string>;
  read: Set<string>;
  workbook?: WorkbookInfo;
  relationships?: Map<string, Relationship>;
  dateStyles?: Uint8Array;
  strings?: SharedStrings;
  /** Sheets kept on disk until they can be read: as XML, or as parsed rows when known to be the first sheet. */
  spooled: Map<string, { file: string; rows: boolean }>;
  dir?: string;
};

const SHEET_VALUES = new Set(['v', 'f', 't', 'is']);
const SHARED_VALUE = new Set(['si']);

/** A sheet's cells and rows are capped as its XML streams (see xml-guard.ts), before saxes gathers them. */
const sheetGuard = (limits: SheetLimits) =>
  createXmlGuard({
    valueStarts: SHEET_VALUES,
    maxValueChars: limits.maxFieldLength,
    rowStart: 'row',
    maxRowChars: limits.maxRecordLength,
    valueName: (row) => `Row ${row ?? '?'} of the sheet has a cell that`,
  });

/** Each shared string is a cell's text: the same cap, counted before its runs are joined. */
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

/** The first worksheet in tab order (a chart sheet is not one), once workbook.xml and its relationships are read. */
function firstSheetPath({ workbook, relationships }: Progress): string | undefined {
  if (!workbook || !relationships) return undefined;
  for (const id of workbook.sheetIds) {
    const relationship = relationships.get(id);
    if (relationship?.type.endsWith('/worksheet')) return `xl/${relationship.target.replace(/^\/?(xl\/)?/, '')}`;
  }
  return undefined;
}

// Shared strings and styles (dates are numbers with a date style) must be known before the sheet's cells are read.
function ready(progress: Progress): boolean {
  const { parts, read } = progress;
  if (parts === undefined || !read.has('xl/workbook.xml') || !read.has('xl/_rels/workbook.xml.rels')) return false;
  return ['sharedStrings.xml', 'styles.xml'].every(
    (part) => read.has(`xl/${part}`) || !parts.has(`/xl/${part}`.toLowerCase()),
  );
}

async function readPart(path: string, stream: Readable, progress: Progress, limits: SheetLimits) {
  if (path === '[Content_Types].xml') progress.parts = await readContentTypes(through(stream, partGuard()));
  else if (path === 'xl/_rels/workbook.xml.rels')
    progress.relationships = await readRelationships(through(stream, partGuard()));
  else if (path === 'xl/workbook.xml') progress.workbook = await readWorkbook(through(stream, partGuard()));
  else if (path === 'xl/styles.xml') progress.dateStyles = await readDateStyles(through(stream, partGuard()));
  else progress.strings = await readSharedStrings(through(stream, sharedStringsGuard(limits)));
  progress.read.add(path);
}

const context = (progress: Progress, limits: SheetLimits): SheetContext => ({
  strings: progress.strings,
  dateStyles: progress.dateStyles,
  date1904: progress.workbook?.date1904 === true,
  limits,
});

const sheetRows = (xml: Readable, progress: Progress, limits: SheetLimits) =>
  sheetRecords(through(xml, sheetGuard(limits)), context(progress, limits));

/**
 * Keeps a sheet on disk until the parts it needs are read. The first sheet is parsed on the way (its rows wait
 * unresolved, see spoolRows); a sheet that may not be the first is kept as XML, unparsed: its faults are not ours.
 */
async function spool(entry: ZipEntry, meter: Transform, progress: Progress, first: boolean, limits: SheetLimits) {
  progress.dir ??= await mkdtemp(join(tmpdir(), 'leadsy-xlsx-'));
  const file = join(progress.dir, `sheet-${progress.spooled.size}.${first ? 'rows' : 'xml'}`);
  const out = createWriteStream(file);
  try {
    if (first) await spoolRows(through(entry.pipe(meter), sheetGuard(limits)), out, limits.maxUncompressedBytes);
    else await pipeline(entry, meter, out);
  } finally {
    out.destroy();
  }
  progress.spooled.set(entry.path, { file, rows: first });
}

const drain = (entry: ZipEntry, meter: Transform) =>
  pipeline(entry, meter, new Writable({ write: (_chunk, _encoding, callback) => callback() }));

const sheetNumber = (path: string) => Number(/(\d+)\.xml$/.exec(path)?.[1] ?? Number.MAX_SAFE_INTEGER);

/** [Content_Types].xml's part names are held: a few KB even for a thousand sheets. */
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
  zip: Duplex,
  limits: SheetLimits,
  progress: Progress,
  track: (meter: Transform | undefined) => void,
): AsyncGenerator<RawRecord, boolean> {
  const meter = createMeter(limits);
  for await (const entry of zipEntries(zip)) {
    const counted = meter(entry, capOf(entry.path, limits));
    track(counted);
    const first = firstSheetPath(progress);
    if (PARTS.has(entry.path)) await readPart(entry.path, entry.pipe(counted), progress, limits);
    else if (!SHEET_PATH.test(entry.path) || (first && entry.path !== first)) await drain(entry, counted);
    else if (entry.path === first && ready(progress)) {
      yield* sheetRows(entry.pipe(counted), progress, limits);
      return true;
    } else await spool(entry, counted, progress, entry.path === first, limits);
    track(undefined);
  }
  return false;
}

async function* spooledSheet(progress: Progress, limits: SheetLimits): AsyncGenerator<RawRecord> {
  const byNumber = [...progress.spooled.keys()].sort((a, b) => sheetNumber(a) - sheetNumber(b));
  const spooled = progress.spooled.get(firstSheetPath(progress) ?? byNumber[0] ?? '');
  if (!spooled) throw new SpreadsheetError('corrupt_file', 'The workbook has no worksheet.');
  if (spooled.rows) yield* spooledRecords(createReadStream(spooled.file), context(progress, limits));
  else yield* sheetRows(createReadStream(spooled.file), progress, limits);
}

/**
 * The rows of the workbook's first sheet (in tab order), streamed from unzipper's streaming parser through saxes,
 * with every zip entry metered (see createMeter) and every XML part guarded (see createXmlGuard). Failures of the
 * input stream itself are rethrown as they are (they may be transient); anything else that goes wrong reading the
 * zip or its XML is a SpreadsheetError.
 */
export async function* xlsxRecords(input: Chunks, limits: SheetLimits): AsyncGenerator<RawRecord> {
  const zip = await openZip();
  const source = Readable.from(input);
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
    const streamed = yield* walkZip(zip, limits, progress, (meter) => {
      current = meter;
    });
    if (!progress.parts) throw new SpreadsheetError('unsupported_format', 'The file is not an Excel workbook (.xlsx).');
    if (!streamed) yield* spooledSheet(progress, limits);
  } catch (error) {
    if (inputError) throw inputError;
    throw isSpreadsheetError(error) ? error : corrupt();
  } finally {
    source.destroy();
    zip.destroy();
    if (progress.dir) await rm(progress.dir, { recursive: true, force: true });
  }
}
