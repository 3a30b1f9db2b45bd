import type { CsvDelimiter, SheetFormat } from './types.ts';

/** How many leading bytes `detectFormat` wants to see (it works with fewer, but less surely). */
export const SNIFF_BYTES = 8192;

const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');
// Zips that are not workbooks: Word, PowerPoint, OpenDocument.
const OTHER_ZIP_MARKERS = ['word/', 'ppt/', 'mimetypeapplication/vnd.oasis'];
// Binary formats people upload by mistake: PDF, PNG, JPEG, GIF, old Excel/OLE2, gzip, 7z, RAR.
const BINARY_MAGICS = [
  '%PDF',
  '\x89PNG',
  '\xff\xd8\xff',
  'GIF8',
  '\xd0\xcf\x11\xe0',
  '\x1f\x8b',
  "7z\xbc\xaf'\x1c",
  'Rar!',
];
const UTF16_BOMS = ['\xff\xfe', '\xfe\xff'];

const startsWith = (bytes: Buffer, magic: string) =>
  bytes.subarray(0, magic.length).equals(Buffer.from(magic, 'latin1'));

/**
 * The file's format from its content, whatever its name or declared type: 'xlsx' for a zip that is not another
 * office format, 'csv' for text (UTF-8, UTF-16 with a BOM, or Windows-1252 with few control characters and no NUL),
 * else undefined. An empty file is undefined too.
 */
export function detectFormat(firstBytes: Buffer): SheetFormat | undefined {
  if (firstBytes.length === 0) return undefined;
  if (firstBytes.subarray(0, 4).equals(ZIP_MAGIC)) {
    const names = firstBytes.toString('latin1');
    return OTHER_ZIP_MARKERS.some((marker) => names.includes(marker)) ? undefined : 'xlsx';
  }
  if (UTF16_BOMS.some((bom) => startsWith(firstBytes, bom))) return 'csv';
  if (BINARY_MAGICS.some((magic) => startsWith(firstBytes, magic))) return undefined;
  if (firstBytes.includes(0)) return undefined;
  let control = 0;
  for (const byte of firstBytes) {
    // Tab, LF, FF and CR are ordinary in text; other C0 controls and DEL are not.
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d) || byte === 0x7f) control++;
  }
  // Not valid UTF-8 is still text: every byte is a Windows-1252 character.
  return control <= firstBytes.length * 0.01 ? 'csv' : undefined;
}

const CANDIDATES: CsvDelimiter[] = [',', ';', '\t'];

/** Splits a sample into records at line breaks outside double quotes; drops a last record that may be cut off. */
function sampleRecords(sample: string, complete: boolean): string[] {
  const records: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < sample.length; i++) {
    const char = sample[i];
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) {
      records.push(sample.slice(start, i));
      if (char === '\r' && sample[i + 1] === '\n') i++;
      start = i + 1;
    }
  }
  if (complete || records.length === 0) records.push(sample.slice(start));
  return records.filter((record) => record.trim() !== '');
}

function countOutsideQuotes(record: string, delimiter: string): number {
  let count = 0;
  let quoted = false;
  for (const char of record) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === delimiter) count++;
  }
  return count;
}

/**
 * The delimiter of a CSV sample (its first lines): the candidate that occurs in the header and the same number of
 * times in most records, counting only outside quotes; ties go to the one with more columns, then to the comma.
 * A sample with none of them (one column) is comma-separated.
 */
export function detectDelimiter(sample: string, complete = true): CsvDelimiter {
  const records = sampleRecords(sample, complete).slice(0, 50);
  let best: { delimiter: CsvDelimiter; score: number; columns: number } = { delimiter: ',', score: 0, columns: 0 };
  for (const delimiter of CANDIDATES) {
    const counts = records.map((record) => countOutsideQuotes(record, delimiter));
    const columns = counts[0] ?? 0;
    if (columns === 0) continue;
    const score = counts.filter((count) => count === columns).length / counts.length;
    if (score > best.score || (score === best.score && columns > best.columns)) best = { delimiter, score, columns };
  }
  return best.delimiter;
}

/** Excel's `sep=;` first line names the delimiter; returns it and the sample without that line. */
export function sepDirective(sample: string): { delimiter: string; rest: string } | undefined {
  const match = /^sep=([^\r\n"])(\r\n|\n|\r)/i.exec(sample);
  return match ? { delimiter: match[1]!, rest: sample.slice(match[0].length) } : undefined;
}
