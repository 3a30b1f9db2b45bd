import { Transform, type TransformCallback } from 'node:stream';
import { SpreadsheetError } from './spreadsheet-error.ts';

/**
 * What one XML part may hold, checked on the bytes before the parser (saxes) sees them. saxes gathers a text
 * node, an attribute or a comment whole before handing it on, and the reader then appends the text nodes of a value
 * together: a 200 MB cell deflates to 200 KB and used to be held (twice) before any cap could look at it. Counting
 * here refuses it within one inflated chunk (~16 KB) of the cap, whatever the markup around it.
 */
export type XmlGuardRules = {
  /**
   * Start tags after which a new text starts (`v`, `f`, `t`, `is` in a sheet; `si` in the shared strings): all
   * character data from one of them to the next counts as one value, whatever the reader keeps of it (text after an end tag or
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

const STARTS_VALUE = 1;
const STARTS_ROW = 2;

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SEMI = 0x3b;
const QUOTE = 0x22;
const COLON = 0x3a;
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
 * it lets through is at most one chunk past a cap, so saxes never holds more than that of any value.
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

  // Names as bytes, compared in place: a string per tag would cost more than the rest of the scan.
  const ascii8 = (name: string) => Uint8Array.from(name, (char) => char.charCodeAt(0));
  const startNames = valueStarts === undefined ? undefined : [...valueStarts].map(ascii8);
  const rowName = rowStart === undefined ? undefined : ascii8(rowStart);
  const headIs = (name: Uint8Array, from: number, to: number) => {
    if (to - from !== name.length) return false;
    for (let k = 0; k < name.length; k++) if (head[from + k] !== name[k]) return false;
    return true;
  };
  const startsValue = (from: number, to: number) => {
    if (startNames === undefined) return true;
    for (const name of startNames) if (headIs(name, from, to)) return true;
    return false;
  };

  /** A start or end tag of `length` bytes (in `head`) ended: a start tag may begin a value (1) or a row (2). */
  function tagEnded(length: number): number {
    if (length === 0 || head[0] === 0x2f) return 0; // `</…>`
    let from = 0; // after a prefix: `x:row` is a row
    let end = 0;
    while (end < length && !isSpace(head[end]!) && head[end] !== 0x2f && head[end] !== GT) {
      if (head[end] === COLON) from = end + 1;
      end++;
    }
    let starts = startsValue(from, end) ? STARTS_VALUE : 0;
    if (rowName !== undefined && headIs(rowName, from, end)) {
      const r = / r\s*=\s*["'](\d{1,9})["']/.exec(ascii(head, length));
      row = r ? Number(r[1]) : (row ?? 0) + 1;
      starts |= STARTS_ROW;
    }
    return starts;
  }

  /** After `<!` or `<?`: decides between a comment, CDATA and a processing instruction from the first bytes. */
  function markupKind(length: number): number {
    if (head[0] === 0x3f) return PI; // `<?`
    const seen = ascii(head, length);
    if ('!--'.startsWith(seen) || '![CDATA['.startsWith(seen)) {
      if (seen === '!--') return COMMENT;
      if (seen === '![CDATA[') return CDATA;
      return MARKUP; // undecided yet
    }
    throw malformed(); // <!DOCTYPE …>, <!ENTITY …>
  }

  // The state lives in locals while a chunk is scanned (closure variables are slower to touch on every byte).
  function scan(bytes: Buffer) {
    let s = state;
    let q = quote;
    let markup = markupBytes;
    let entity = entityBytes;
    let length = headLength;
    let last = tail;
    let valueChars = value;
    let rawChars = raw;
    let spaces = pendingSpace;
    let begun = started;
    let inRow = rowChars;
    const n = bytes.length;
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      if (s === TEXT) {
        if (b === LT) {
          s = MARKUP;
          q = 0;
          markup = 0;
          length = 0;
          continue;
        }
        if ((b & 0xc0) === 0x80) continue; // a UTF-8 continuation byte: its character is counted already
        const units = b >= 0xf0 ? 2 : 1; // four-byte UTF-8 is a surrogate pair in JavaScript
        rawChars += units;
        inRow += units;
        if (isSpace(b)) {
          if (begun) spaces += 1;
        } else {
          if (begun) valueChars += spaces;
          valueChars += units;
          spaces = 0;
          begun = true;
          if (b === AMP) {
            s = ENTITY;
            entity = 0;
          }
        }
        if (valueChars > maxValueChars || rawChars > maxRawChars) throw tooLong();
        if (inRow > maxRowChars) throw rowTooLong();
      } else if (s === ENTITY) {
        if (b === SEMI) s = TEXT;
        else if (++entity > MAX_ENTITY_BYTES || b === LT) throw malformed();
      } else {
        if (++markup > MAX_MARKUP_BYTES) throw malformed();
        if (s === MARKUP) {
          if (q !== 0) {
            if (b === q) q = 0;
          } else if (b === GT && (length === 0 || head[0] !== 0x21)) {
            const starts = tagEnded(length);
            if ((starts & STARTS_VALUE) !== 0) {
              valueChars = 0;
              rawChars = 0;
              spaces = 0;
              begun = false;
            }
            if ((starts & STARTS_ROW) !== 0) inRow = 0;
            s = TEXT;
            continue;
          } else if (b === QUOTE || b === APOS) q = b;
          if (length < HEAD_BYTES) {
            head[length++] = b;
            if (length <= 8 && (head[0] === 0x21 || head[0] === 0x3f)) {
              s = markupKind(length);
              last = 0;
            }
          }
        } else {
          const closes =
            b === GT &&
            ((s === COMMENT && last === 0x2d2d) ||
              (s === CDATA && last === 0x5d5d) ||
              (s === PI && (last & 0xff) === 0x3f));
          last = ((last << 8) | b) & 0xffff;
          if (closes) s = TEXT;
        }
      }
    }
    state = s;
    quote = q;
    markupBytes = markup;
    entityBytes = entity;
    headLength = length;
    tail = last;
    value = valueChars;
    raw = rawChars;
    pendingSpace = spaces;
    started = begun;
    rowChars = inRow;
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
