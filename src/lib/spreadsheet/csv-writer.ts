/** UTF-8 byte-order mark: without it Excel opens a UTF-8 CSV as its ANSI code page and garbles accents. */
export const UTF8_BOM = '\ufeff';

// OWASP CSV injection: cells a spreadsheet would run as a formula (or DDE) start with one of these.
const FORMULA_START = /^[=+\-@\t\r]/;

/** Prefixes a single quote to a cell that would otherwise start a formula: `=1+1` → `'=1+1`, `+34 600` → `'+34 600`. */
export const neutralizeCell = (value: string) => (FORMULA_START.test(value) ? `'${value}` : value);

/** One RFC 4180 field: neutralized, then quoted when it holds a delimiter, a quote or a line break. */
export function csvField(value: string, delimiter = ','): string {
  const safe = neutralizeCell(value);
  return safe.includes(delimiter) || /["\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One record with its CRLF terminator (RFC 4180). */
export const csvLine = (cells: readonly string[], delimiter = ',') =>
  `${cells.map((cell) => csvField(cell, delimiter)).join(delimiter)}\r\n`;
