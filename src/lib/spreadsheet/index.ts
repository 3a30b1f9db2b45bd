export { csvField, csvLine, neutralizeCell, UTF8_BOM } from './csv-writer.ts';
export { errorsCsv, errorsCsvHeader, type RejectedRow } from './errors-csv.ts';
export { LEAD_FIELDS, type LeadField, normalizeHeader, SYNONYMS, splitFullName, TEMPLATE_FIELDS } from './fields.ts';
export {
  applyMapping,
  type ColumnMapping,
  type ColumnTarget,
  type HeaderMapping,
  type MappedRow,
  mapHeaders,
  mappingProblems,
  type Question,
} from './mapping.ts';
export { headerNames, type OpenSheetOptions, openSheet, readRows, type Sheet } from './sheet.ts';
export { detectDelimiter, detectFormat, SNIFF_BYTES } from './sniff.ts';
export { isSpreadsheetError, SpreadsheetError, type SpreadsheetErrorCode } from './spreadsheet-error.ts';
export { CONTENT_TYPES, TEMPLATE_EXAMPLE, type TemplateOptions, templateHeaders, writeTemplate } from './template.ts';
export {
  type CsvDelimiter,
  DEFAULT_LIMITS,
  type Detected,
  type SheetFormat,
  type SheetLimits,
  type SheetRow,
  type TextEncodingName,
} from './types.ts';
