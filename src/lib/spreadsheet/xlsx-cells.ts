import type { Cell } from 'exceljs';
import { SpreadsheetError } from './spreadsheet-error.ts';

const EXCEL_EPOCH_1900 = 25569; // days from 1899-12-30 (Excel's day 0, leap-year bug included) to 1970-01-01
const EXCEL_EPOCH_1904 = 24107;

/** Excel's test for a date format: date/time letters outside quoted text and [bracketed] sections. */
export function isDateFormat(format: string | undefined): boolean {
  if (!format) return false;
  return /[ymdhsb]/i.test(
    format
      .replace(/\[[^\]]*]/g, '')
      .replace(/"[^"]*"/g, '')
      .replace(/\\./g, ''),
  );
}

/** Numbers as a person typed them: 0.1 + 0.2 reads 0.3, not 0.30000000000000004. */
export function numberText(value: number): string {
  if (!Number.isFinite(value)) return '';
  return Number.isInteger(value) ? String(value) : String(Number.parseFloat(value.toPrecision(15)));
}

/** YYYY-MM-DD, or YYYY-MM-DD HH:MM:SS when there is a time of day (to the second; Excel stores times as fractions). */
export function dateText(date: Date): string {
  const rounded = new Date(Math.round(date.getTime() / 1000) * 1000);
  if (Number.isNaN(rounded.getTime())) return '';
  const iso = rounded.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 19).replace('T', ' ');
}

export function serialToDate(serial: number, date1904: boolean): Date {
  return new Date(Math.round((serial - (date1904 ? EXCEL_EPOCH_1904 : EXCEL_EPOCH_1900)) * 86_400_000));
}

export const missingText = () =>
  new SpreadsheetError('corrupt_file', 'The XLSX file refers to text it does not contain; it may be damaged.');

type RichText = { richText: { text?: string | null }[] };

function scalarText(value: unknown, format: string | undefined, date1904: boolean): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number')
    return isDateFormat(format) ? dateText(serialToDate(value, date1904)) : numberText(value);
  if (value instanceof Date) return dateText(value);
  return '';
}

/**
 * A cell as text: strings as is, numbers without float noise, dates as YYYY-MM-DD, rich text joined, formulas as
 * their cached result (a formula with no cached result is empty), booleans 'true'/'false', error values (#N/A …)
 * empty, hyperlinks their text.
 */
export function cellText(
  cell: Pick<Cell, 'value' | 'numFmt'>,
  date1904: boolean,
  sharedString?: (index: number) => string,
): string {
  const value = cell.value as unknown;
  if (value === null || typeof value !== 'object' || value instanceof Date)
    return scalarText(value, undefined, date1904);
  if ('richText' in value) return (value as RichText).richText.map((run) => run.text ?? '').join('');
  if ('formula' in value || 'sharedFormula' in value) {
    const result = (value as { result?: unknown }).result;
    if (result && typeof result === 'object' && !(result instanceof Date)) return ''; // { error: '#DIV/0!' }
    return scalarText(result, cell.numFmt, date1904);
  }
  // exceljs leaves the shared-string index: the reader keeps the strings itself (see shared-strings.ts).
  if ('sharedString' in value) {
    const index = (value as { sharedString: unknown }).sharedString;
    if (sharedString && typeof index === 'number' && Number.isInteger(index)) return sharedString(index);
    throw missingText();
  }
  if ('text' in value)
    return cellText({ value: (value as { text: Cell['value'] }).text, numFmt: cell.numFmt }, date1904, sharedString);
  return '';
}
