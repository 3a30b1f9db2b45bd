import { csvLine, UTF8_BOM } from './csv-writer.ts';
import { type LeadField, TEMPLATE_FIELDS } from './fields.ts';
import type { Question } from './mapping.ts';
import type { SheetFormat } from './types.ts';
import { writeXlsx } from './xlsx-writer.ts';

export const CONTENT_TYPES: Record<SheetFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** The example row; `+34 …` shows why phones must stay text (see neutralizeCell). */
export const TEMPLATE_EXAMPLE: Partial<Record<LeadField, string>> = {
  first_name: 'Ana',
  last_name: 'García',
  email: 'ana@example.com',
  phone: '+34 600 000 000',
  country: 'ES',
  region: 'Madrid',
  city: 'Madrid',
  postal_code: '28001',
  value: '1500',
  currency: 'EUR',
  external_id: 'CRM-0001',
  notes: 'Asked for a quote',
};

export type TemplateOptions = {
  questions: Pick<Question, 'title'>[];
  /** CSV only; comma by default. */
  delimiter?: ',' | ';' | '\t';
};

export const templateHeaders = (questions: Pick<Question, 'title'>[]) => [
  ...TEMPLATE_FIELDS,
  ...questions.map((question) => question.title.trim()),
];

const exampleRow = (questions: Pick<Question, 'title'>[]) => [
  ...TEMPLATE_FIELDS.map((field) => TEMPLATE_EXAMPLE[field] ?? ''),
  ...questions.map(() => ''),
];

function xlsxTemplate(options: TemplateOptions): Promise<Buffer> {
  const headers = templateHeaders(options.questions);
  const isValue = (index: number) => TEMPLATE_FIELDS[index] === 'value';
  return writeXlsx({
    name: 'Leads',
    // Text format ('@') on every column but `value`: what people type later (+34 …, 08001, =…) stays text too.
    columns: headers.map((header, index) => ({ width: Math.max(12, header.length + 2), text: !isValue(index) })),
    // Strings are written as string cells (never formulas); only the value is a number.
    rows: [headers, exampleRow(options.questions).map((cell, index) => (isValue(index) ? Number(cell) : cell))],
  });
}

/**
 * The import template: the lead field columns (their names are what the importer matches first), one column per
 * question titled with the question, and an example row. CSV is UTF-8 with a BOM, CRLF, formula-leading cells
 * prefixed with `'`; XLSX has text-formatted string cells and a frozen bold header.
 */
export async function writeTemplate(format: SheetFormat, options: TemplateOptions): Promise<Buffer> {
  if (format === 'xlsx') return xlsxTemplate(options);
  const delimiter = options.delimiter ?? ',';
  return Buffer.from(
    UTF8_BOM +
      csvLine(templateHeaders(options.questions), delimiter) +
      csvLine(exampleRow(options.questions), delimiter),
  );
}
