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

/**
 * The built-in number formats (ECMA-376 §18.8.30) that are dates or times: 14–22 everywhere, 27–36 and 50–58 in
 * East Asian locales, 45–47 (mm:ss, [h]:mm:ss, mmss.0). A workbook names them by id alone.
 */
export const isDateFormatId = (id: number) =>
  (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) || (id >= 50 && id <= 58);

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

/** A `<c>` element as the sheet gives it: its type (`t`), its value (`<v>`, or the text of `<is>`), its style. */
export type RawCell = {
  /** `t`: s (shared string), str (a formula's text), inlineStr, b, e, d (ISO 8601), n (the default). */
  type: string;
  /** The text of `<v>` or of the inline string's runs. */
  value: string;
  /** Its style shows numbers as dates (see readDateStyles). */
  date: boolean;
};

/**
 * A cell as text: strings as is, numbers without float noise, numbers in a date style as YYYY-MM-DD (with the time
 * when there is one), rich text joined, formulas as their cached result (a formula never calculated has none: the reader reads it as no cell),
 * booleans 'true'/'false', error values (#N/A …) empty. Shared strings are looked up through `sharedString`, which
 * checks the row's budget.
 */
export function cellText(cell: RawCell, date1904: boolean, sharedString: (index: number) => string): string {
  const { type, value } = cell;
  switch (type) {
    case 's': {
      const index = Number(value.trim());
      if (value.trim() === '' || !Number.isInteger(index)) throw missingText();
      return sharedString(index);
    }
    case 'str':
    case 'inlineStr':
      return value;
    case 'b':
      return Number.parseInt(value, 10) !== 0 ? 'true' : 'false';
    case 'e':
      return '';
    case 'd': {
      // Excel's ISO dates carry no zone: read as UTC, like serial dates, not in the server's time zone.
      const iso = value.trim();
      const date = new Date(iso.includes('T') && !/(Z|[+-]\d\d:?\d\d)$/i.test(iso) ? `${iso}Z` : iso);
      return Number.isNaN(date.getTime()) ? value : dateText(date);
    }
    default: {
      const number = Number.parseFloat(value);
      return cell.date ? dateText(serialToDate(number, date1904)) : numberText(number);
    }
  }
}
