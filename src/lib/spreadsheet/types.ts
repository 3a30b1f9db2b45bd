export type SheetFormat = 'csv' | 'xlsx';
export type CsvDelimiter = ',' | ';' | '\t';
/** `utf-8` also stands for plain ASCII; `utf-8-bom` is UTF-8 that started with a byte-order mark (stripped). */
export type TextEncodingName = 'utf-8' | 'utf-8-bom' | 'windows-1252' | 'utf-16le' | 'utf-16be';

/** Caps that make a hostile or broken file fail with a SpreadsheetError instead of exhausting memory, disk or time. */
export type SheetLimits = {
  /** Data rows (the header excluded). */
  maxRows: number;
  /** Columns in the header row. */
  maxHeaders: number;
  /** Characters in one cell. */
  maxFieldLength: number;
  /** CSV: characters in one record; stops a never-closed quote from swallowing the rest of the file. */
  maxRecordLength: number;
  /** XLSX: bytes of all zip entries once inflated (the zip-bomb cap). */
  maxUncompressedBytes: number;
  /** XLSX: inflated bytes of xl/sharedStrings.xml, which is held in memory while the sheet is read. */
  maxSharedStringsBytes: number;
  /** XLSX: inflated bytes of each small part parsed in memory (workbook, relationships, styles, content types). */
  maxPartBytes: number;
};

export const DEFAULT_LIMITS: Readonly<SheetLimits> = Object.freeze({
  maxRows: 1_000_000,
  maxHeaders: 200,
  maxFieldLength: 10_000,
  maxRecordLength: 1_000_000,
  maxUncompressedBytes: 1024 * 1024 * 1024,
  // Held in memory as JS strings (roughly 1–2× the XML): 64 MB is ~500k rows of four distinct text columns.
  maxSharedStringsBytes: 64 * 1024 * 1024,
  maxPartBytes: 16 * 1024 * 1024,
});

/** One physical record before the header is applied; `line` is where it starts (CSV line or XLSX row number). */
export type RawRecord = { cells: string[]; line: number };

export type SheetRow = {
  /**
   * 1-based ordinal of the data row: the header and blank rows are not counted, so it is stable across re-reads of
   * the same file (the import's checkpoint and unique key).
   */
  rowNumber: number;
  /** Where the row starts in the file as a person sees it: the CSV line or the XLSX row number (header = usually 1). */
  line: number;
  /** Header → cell text (trimmed); a missing cell is ''. */
  values: Record<string, string>;
  /** Non-empty cells beyond the last header, when there are any: the row does not fit the header. */
  extra?: string[];
};

export type Detected = {
  /** CSV only: `,`, `;` or tab when detected, any single character named by a leading `sep=` line. */
  delimiter?: string;
  /**
   * CSV only. Decided at the BOM, else at the first non-ASCII byte: it reads `utf-8` until then and may turn into
   * `windows-1252` later in the file.
   */
  encoding?: TextEncodingName;
};
