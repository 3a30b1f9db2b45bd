import { Transform, type TransformCallback } from 'node:stream';
import { SpreadsheetError } from './spreadsheet-error.ts';

/**
 * What one XML part may hold, checked on the bytes before exceljs's parser (saxes) sees them. saxes gathers a text
 * node, an attribute or a comment whole before handing it on, and exceljs then appends the text nodes of a value
 * together: a 200 MB cell deflates to 200 KB and used to be held (twice) before any cap could look at it. Counting
 * here refuses it within one inflated chunk (~16 KB) of the cap, whatever the markup around it.
 */
export type XmlGuardRules = {
  /**
   * Start tags after which exceljs starts a new text (`v`, `f`, `t`, `is` in a sheet; `si` in the shared strings):
   * all character data from one of them to the next is one value, as exceljs gathers it (text after an end tag or
   * around a comment included). Undefined: every start tag.
   */
  valueStarts?: ReadonlySet<string>;
  /** Characters of one value, not counting leading and trailing whitespace (the importer trims cells). */
  maxValueChars: number;
  /** The start tag of a row (`row` in a sheet): all character data from one to the next is the row's. */
  rowStart?: string;
  /** Characters of character data in one row (inline strings, values, formulas). */
  maxRowChars?: number;
  /** Says what the value is in the message: a cell of a row, or one of the workbook's shared texts. */
  valueName: (row: number | undefined) => string;
};

/** Longest tag (with its attributes), comment, processing instruction or CDATA section: Excel's are a few hundred. */
export const MAX_MARKUP_BYTES = 64 * 1024;
/** `&amp;`, `&#x1F600;` …: an entity longer than this is not one. */
const MAX_ENTITY_BYTES = 16;
/** Bytes of a start tag kept to read its name and a row's `r` attribute. */
const HEAD_BYTES = 48;

const TEXT = 0;
const ENTITY = 1;
const MARKUP = 2;
const COMMENT = 3;
const CDATA = 4;
const PI = 5;

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SEMI = 0x3b;
const QUOTE = 0x22;
const APOS = 0x27;
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

const malformed = () =>
  new SpreadsheetError(
    'corrupt_file',
    'The XLSX file could not be read; it may be damaged. Open it in Excel and save it again, or save it as CSV.',
  );

const ascii = (bytes: Uint8Array, length: number) => String.fromCharCode(...bytes.subarray(0, length));

/**
 * A pass-through stream that refuses, with a SpreadsheetError, any value over `maxValueChars` (counted in UTF-16
 * units as JavaScript will hold them, an entity as one), any row over `maxRowChars`, any single tag, comment or
 * CDATA section over MAX_MARKUP_BYTES, and any DOCTYPE (Excel never writes one; it is how entity bombs start). What
 * it lets through is at most one chunk past a cap, so exceljs never holds more than that of any value.
 */
export function createXmlGuard(rules: XmlGuardRules): Transform {
  const { valueStarts, maxValueChars, rowStart, valueName } = rules;
  const maxRowChars = rules.maxRowChars ?? Number.POSITIVE_INFINITY;
  // Leading and trailing whitespace (pretty-printed XML) is not the cell's, but it is held: bounded apart.
  const maxRawChars = 2 * maxValueChars + 1024;
  let state = TEXT;
  let quote = 0;
  let markupBytes = 0;
  let entityBytes = 0;
  const head = new Uint8Array(HEAD_BYTES);
  let headLength = 0;
  let tail = 0; // the last two bytes, for the end of comments, CDATA and processing instructions
  let value = 0;
  let raw = 0;
  let pendingSpace = 0;
  let started = false;
  let rowChars = 0;
  let row: number | undefined;

  const tooLong = () =>
    new SpreadsheetError('field_too_long', `${valueName(row)} is longer than ${maxValueChars} characters.`);
  const rowTooLong = () =>
    new SpreadsheetError(
      'field_too_long',
      `Row ${row ?? '?'} of the sheet holds more than ${maxRowChars} characters of text.`,
    );

  /** A start or end tag ended: a start tag may begin a value or a row. */
  function tagEnded() {
    if (headLength === 0 || head[0] === 0x2f) return; // `</…>`
    let end = 0;
    while (end < headLength && !isSpace(head[end]!) && head[end] !== 0x2f && head[end] !== GT) end++;
    const name = ascii(head, end);
    if (valueStarts === undefined || valueStarts.has(name)) {
      value = 0;
      raw = 0;
      pendingSpace = 0;
      started = false;
    }
    if (rowStart !== undefined && name === rowStart) {
      rowChars = 0;
      const r = / r\s*=\s*["'](\d{1,9})["']/.exec(ascii(head, headLength));
      row = r ? Number(r[1]) : (row ?? 0) + 1;
    }
  }

  /** After '<': decides between a tag, a comment, CDATA and a processing instruction from the first bytes. */
  function markupKind(): number {
    const first = head[0];
    if (first === 0x3f) return PI; // `<?`
    if (first !== 0x21) return MARKUP; // `<!` …
    const seen = ascii(head, headLength);
    if ('!--'.startsWith(seen) || '![CDATA['.startsWith(seen)) {
      if (seen === '!--') return COMMENT;
      if (seen === '![CDATA[') return CDATA;
      return MARKUP; // undecided yet
    }
    throw malformed(); // <!DOCTYPE …>, <!ENTITY …>
  }

  function scan(bytes: Buffer) {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (state === TEXT) {
        if (b === LT) {
          state = MARKUP;
          quote = 0;
          markupBytes = 0;
          headLength = 0;
          continue;
        }
        if ((b & 0xc0) === 0x80) continue; // a UTF-8 continuation byte: its character is counted already
        const units = b >= 0xf0 ? 2 : 1; // four-byte UTF-8 is a surrogate pair in JavaScript
        raw += units;
        rowChars += units;
        if (isSpace(b)) {
          if (started) pendingSpace += 1;
        } else {
          if (started) value += pendingSpace;
          value += units;
          pendingSpace = 0;
          started = true;
          if (b === AMP) {
            state = ENTITY;
            entityBytes = 0;
          }
        }
        if (value > maxValueChars || raw > maxRawChars) throw tooLong();
        if (rowChars > maxRowChars) throw rowTooLong();
      } else if (state === ENTITY) {
        if (b === SEMI) state = TEXT;
        else if (++entityBytes > MAX_ENTITY_BYTES || b === LT) throw malformed();
      } else {
        if (++markupBytes > MAX_MARKUP_BYTES) throw malformed();
        if (state === MARKUP) {
          if (quote !== 0) {
            if (b === quote) quote = 0;
          } else if (b === GT && (headLength === 0 || head[0] !== 0x21)) {
            tagEnded();
            state = TEXT;
            continue;
          } else if (b === QUOTE || b === APOS) quote = b;
          if (headLength < HEAD_BYTES) {
            head[headLength++] = b;
            if (headLength <= 8) {
              state = markupKind();
              tail = 0;
            }
          }
        } else {
          const closes =
            b === GT &&
            ((state === COMMENT && tail === 0x2d2d) ||
              (state === CDATA && tail === 0x5d5d) ||
              (state === PI && (tail & 0xff) === 0x3f));
          tail = ((tail << 8) | b) & 0xffff;
          if (closes) state = TEXT;
        }
      }
    }
  }

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        scan(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
      callback(null, chunk);
    },
  });
}
