import type { SharedStrings } from './shared-strings.ts';
import { SpreadsheetError } from './spreadsheet-error.ts';
import type { RawRecord, SheetLimits } from './types.ts';
import { cellText, missingText, type RawCell } from './xlsx-cells.ts';
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

/**
 * The sheet's rows as records, parsed with saxes as its XML arrives: one row's cells at a time are held, never the
 * sheet. A row or cell without a reference follows the one before it (as Excel reads them). Shared strings are
 * looked up here, a row at a time, against the row's budget (maxRecordLength): 16,384 cells each naming the same
 * 10,000-character string would otherwise be 164M characters.
 */
function sheetParser({ strings, dateStyles, date1904, limits }: SheetContext) {
  let records: RawRecord[] = [];
  let line = 0;
  let inRow = false;
  let cells: string[] = [];
  let column = 0;
  let budget = 0;
  let inCell = false;
  const cell: RawCell = { type: 'n', value: undefined, date: false };
  let collecting = false;
  let inline = false;
  let phonetic = 0;

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

  const parser = xmlParser({
    open(name, attributes) {
      switch (name) {
        case 'row': {
          const r = attributes.r === undefined ? Number.NaN : Number.parseInt(attributes.r, 10);
          line = Number.isFinite(r) ? r : line + 1;
          inRow = true;
          cells = [];
          column = 0;
          budget = limits.maxRecordLength;
          break;
        }
        case 'c': {
          if (!inRow) break;
          inCell = true;
          const at = attributes.r === undefined ? 0 : columnOf(attributes.r);
          column = at > 0 ? at : column + 1;
          if (column > MAX_COLUMNS)
            throw new SpreadsheetError('too_many_columns', `Row ${line} has cells beyond column XFD.`);
          cell.type = attributes.t ?? 'n';
          cell.value = undefined;
          cell.date = attributes.s !== undefined && dateStyles?.[Number(attributes.s)] === 1;
          break;
        }
        case 'v':
          collecting = inCell;
          if (inCell) cell.value = '';
          break;
        case 'is':
          inline = inCell;
          if (inCell) cell.value = '';
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
          cells[column - 1] = cellText(cell, date1904, sharedString);
          inCell = false;
          collecting = false;
          break;
        case 'row':
          if (!inRow) break;
          records.push({ cells: Array.from(cells, (text) => text ?? ''), line });
          inRow = false;
          break;
      }
    },
    text(chunk) {
      if (collecting) cell.value += chunk;
    },
  });

  return {
    write: parser.write,
    end: parser.end,
    /** The rows completed so far. */
    take() {
      const done = records;
      records = [];
      return done;
    },
  };
}

/** The rows of a sheet's XML, as they complete (at most one chunk's worth are held). */
export async function* sheetRecords(xml: AsyncIterable<Buffer>, context: SheetContext): AsyncGenerator<RawRecord> {
  const parser = sheetParser(context);
  for await (const chunk of xml) {
    parser.write(chunk);
    yield* parser.take();
  }
  parser.end();
  yield* parser.take();
}
