import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { SharedStrings } from './shared-strings.ts';
import { SpreadsheetError } from './spreadsheet-error.ts';
import type { RawRecord, SheetLimits } from './types.ts';
import { cellText, missingText, type RawCell } from './xlsx-cells.ts';
import { tooLarge } from './xlsx-zip.ts';
import { xmlParser } from './xml-events.ts';

/** What reading a sheet's cells needs from the rest of the workbook. */
export type SheetContext = {
  strings: SharedStrings | undefined;
  /** By style index (`s`): 1 where numbers show as dates (see readDateStyles). */
  dateStyles: Uint8Array | undefined;
  date1904: boolean;
  limits: SheetLimits;
};

/** Excel's last column is XFD. */
const MAX_COLUMNS = 16_384;

/** The column of a cell reference (`AB12` → 28); 0 when it starts with no letter. */
function columnOf(ref: string): number {
  let column = 0;
  for (let i = 0; i < ref.length && column <= MAX_COLUMNS; i++) {
    const code = ref.charCodeAt(i) | 0x20; // either case
    if (code < 0x61 || code > 0x7a) break;
    column = column * 26 + code - 0x60;
  }
  return column;
}

/** A sheet's cells as its XML gives them, before shared strings and styles are applied. */
type CellSink = {
  rowStart(line: number): void;
  /** `style` is the cell's `s` (-1 without one); `value` its `<v>` or inline text (a cell with neither reads as no cell). */
  cell(column: number, type: string, value: string, style: number): void;
  rowEnd(): void;
};

/**
 * The sheet's XML, parsed with saxes as it arrives, handed on cell by cell. A row or cell without a reference follows
 * the one before it (as Excel reads them); a cell beyond XFD is refused.
 */
function sheetParser(sink: CellSink) {
  let line = 0;
  let inRow = false;
  let column = 0;
  let inCell = false;
  let type = 'n';
  let style = -1;
  let value: string | undefined;
  let collecting = false;
  let inline = false;
  let phonetic = 0;

  return xmlParser({
    open(name, attributes) {
      switch (name) {
        case 'row': {
          const r = attributes.r === undefined ? Number.NaN : Number.parseInt(attributes.r, 10);
          line = Number.isFinite(r) ? r : line + 1;
          inRow = true;
          column = 0;
          sink.rowStart(line);
          break;
        }
        case 'c': {
          if (!inRow) break;
          inCell = true;
          const at = attributes.r === undefined ? 0 : columnOf(attributes.r);
          column = at > 0 ? at : column + 1;
          if (column > MAX_COLUMNS)
            throw new SpreadsheetError('too_many_columns', `Row ${line} has cells beyond column XFD.`);
          type = attributes.t ?? 'n';
          style = attributes.s === undefined ? -1 : Number(attributes.s);
          value = undefined;
          break;
        }
        case 'v':
          collecting = inCell;
          if (inCell) value = '';
          break;
        case 'is':
          inline = inCell;
          if (inCell) value = '';
          break;
        case 't':
          collecting = inline && phonetic === 0;
          break;
        case 'rPh':
          phonetic += 1;
          break;
      }
    },
    close(name) {
      switch (name) {
        case 'v':
        case 't':
          collecting = false;
          break;
        case 'is':
          inline = false;
          break;
        case 'rPh':
          phonetic -= 1;
          break;
        case 'c':
          if (!inCell) break;
          if (value !== undefined) sink.cell(column, type, value, style);
          inCell = false;
          collecting = false;
          break;
        case 'row':
          if (!inRow) break;
          sink.rowEnd();
          inRow = false;
          break;
      }
    },
    text(chunk) {
      if (collecting) value += chunk;
    },
  });
}

/**
 * Turns cells into a row's texts. Shared strings are looked up here, a row at a time, against the row's budget
 * (maxRecordLength): 16,384 cells each naming the same 10,000-character string would otherwise be 164M characters.
 */
function rowBuilder({ strings, dateStyles, date1904, limits }: SheetContext) {
  let line = 0;
  let cells: string[] = [];
  let budget = 0;
  const raw: RawCell = { type: 'n', value: '', date: false };
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
  return {
    rowStart(at: number) {
      line = at;
      cells = [];
      budget = limits.maxRecordLength;
    },
    cell(column: number, type: string, value: string, style: number) {
      raw.type = type;
      raw.value = value;
      raw.date = style >= 0 && dateStyles?.[style] === 1;
      cells[column - 1] = cellText(raw, date1904, sharedString);
    },
    row(): RawRecord {
      return { cells: Array.from(cells, (text) => text ?? ''), line };
    },
  };
}

/** The rows of a sheet's XML as they complete: one row's cells at a time are held, never the sheet. */
export async function* sheetRecords(xml: AsyncIterable<Buffer>, context: SheetContext): AsyncGenerator<RawRecord> {
  const rows = rowBuilder(context);
  let records: RawRecord[] = [];
  const parser = sheetParser({ rowStart: rows.rowStart, cell: rows.cell, rowEnd: () => records.push(rows.row()) });
  for await (const chunk of xml) {
    parser.write(chunk);
    const done = records;
    records = [];
    yield* done;
  }
  parser.end();
  yield* records;
}

/**
 * For a sheet that arrives before the shared strings or styles it needs: parsed now, as it streams, and its cells
 * written to `out` unresolved, a JSON line per row (`[line, column, type, style, value, column, …]`), about half
 * the XML's size and read back without an XML parser (spooledRecords).
 */
export async function spoolRows(xml: AsyncIterable<Buffer>, out: Writable, maxBytes: number): Promise<void> {
  let row: (string | number)[] = [];
  let pending = '';
  let written = 0;
  const parser = sheetParser({
    rowStart(line) {
      row = [line];
    },
    cell(column, type, value, style) {
      row.push(column, type, style, value);
    },
    rowEnd() {
      pending += `${JSON.stringify(row)}\n`;
    },
  });
  for await (const chunk of xml) {
    parser.write(chunk);
    // JSON escapes can make a line longer than its XML (a value of quotes or line breaks): the disk is capped too.
    written += pending.length;
    if (written > maxBytes) throw tooLarge('a worksheet', maxBytes);
    if (pending.length > 0 && !out.write(pending)) await once(out, 'drain');
    pending = '';
  }
  parser.end();
  out.end(pending);
  await finished(out);
}

/** The rows spoolRows wrote, with the shared strings and styles now known. */
export async function* spooledRecords(lines: AsyncIterable<Buffer>, context: SheetContext): AsyncGenerator<RawRecord> {
  const rows = rowBuilder(context);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of lines) {
    const complete = (rest + decoder.write(chunk)).split('\n');
    rest = complete.pop() ?? '';
    for (const line of complete) {
      const row = JSON.parse(line) as [number, ...(string | number)[]];
      rows.rowStart(row[0]);
      for (let at = 1; at < row.length; at += 4)
        rows.cell(row[at] as number, row[at + 1] as string, row[at + 3] as string, row[at + 2] as number);
      yield rows.row();
    }
  }
}
