import type { FieldError } from '../../lib/errors.ts';
import { countryCode } from '../../lib/region.ts';
import type { MappedRow } from '../../lib/spreadsheet/index.ts';
import type { LeadInput } from '../leads/leads.schemas.ts';

export type ImportLookups = {
  /** Stages by code and by lower-cased name. */
  stages: Map<string, number>;
  /** Live sources and campaigns of the company by lower-cased name. */
  sources: Map<string, number>;
  campaigns: Map<string, number>;
  /** Choice options of each question: lower-cased value or label → value. */
  options: Map<number, Map<string, string>>;
  kinds: Map<number, string>;
};

const TEXT_FIELDS = [
  'first_name',
  'last_name',
  'email',
  'phone',
  'country',
  'region',
  'city',
  'postal_code',
  'currency',
  'external_id',
] as const;

const TRUE = new Set(['true', 'yes', 'y', 'si', 'sí', 's', '1', 'x', 'verdadero']);
const FALSE = new Set(['false', 'no', 'n', '0', 'falso']);

/** `1.234,56`, `1,234.56`, `1234,5` and `1234.5` all read as numbers. */
export function parseNumber(text: string): number | undefined {
  const compact = text.replace(/[\s€$£]/g, '');
  const normalized =
    compact.includes(',') && compact.includes('.')
      ? compact.lastIndexOf(',') > compact.lastIndexOf('.')
        ? compact.replace(/\./g, '').replace(',', '.')
        : compact.replace(/,/g, '')
      : compact.replace(',', '.');
  const value = Number(normalized);
  return normalized !== '' && Number.isFinite(value) ? value : undefined;
}

/** `2026-03-01`, `01/03/2026` (day first, as written in Spain and most of Europe and Latin America). */
export function parseDate(text: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return text;
  const match = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(text);
  return match ? `${match[3]}-${match[2]!.padStart(2, '0')}-${match[1]!.padStart(2, '0')}` : undefined;
}

function answerValue(kind: string | undefined, options: Map<string, string> | undefined, text: string) {
  switch (kind) {
    case 'number':
      return parseNumber(text) ?? text;
    case 'boolean':
      return TRUE.has(text.toLowerCase()) ? true : FALSE.has(text.toLowerCase()) ? false : text;
    case 'date':
      return parseDate(text) ?? text;
    case 'single_choice':
      return options?.get(text.toLowerCase()) ?? text;
    case 'multiple_choice':
      return text
        .split(/[;,|]/)
        .map((item) => item.trim())
        .filter(Boolean)
        .map((item) => options?.get(item.toLowerCase()) ?? item);
    default:
      return text;
  }
}

/**
 * One spreadsheet row (through the header mapping) as the API's lead body, so that it is normalized and validated
 * exactly as the API does. Empty cells are absent fields; the import's own source and campaign apply when the row
 * names none; columns that map to nothing are kept in `attributes` (the first 50, 1000 characters each); `notes`
 * becomes a note on the lead.
 */
export function rowToLeadInput(
  row: MappedRow,
  lookups: ImportLookups,
  defaults: { sourceId: number | null; campaignId: number | null },
): { input: LeadInput; note: string | undefined; errors: FieldError[] } {
  const input: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  const byName = (field: string, map: Map<string, number>, text: string, what: string) => {
    const id = map.get(text.toLowerCase());
    if (id === undefined) errors.push({ field, code: 'not_found', message: `"${text}" is not ${what}` });
    return id;
  };
  for (const [field, raw] of Object.entries(row.fields)) {
    const text = raw?.trim() ?? '';
    if (text === '') continue;
    if ((TEXT_FIELDS as readonly string[]).includes(field)) input[field] = text;
    else if (field === 'value') {
      const value = parseNumber(text);
      if (value === undefined) errors.push({ field: 'value', code: 'type', message: `"${text}" is not a number` });
      else input.value = value;
    } else if (field === 'stage') input.stage_id = byName('stage', lookups.stages, text, 'a stage');
    else if (field === 'source') input.source_id = byName('source', lookups.sources, text, 'a source');
    else if (field === 'campaign') input.campaign_id = byName('campaign', lookups.campaigns, text, 'a campaign');
  }
  // Spreadsheets say `España` or `Spain` as often as `ES`; an unknown name is left for the lead's own check.
  if (typeof input.country === 'string') input.country = countryCode(input.country) ?? input.country;
  if (typeof input.currency === 'string') input.currency = input.currency.toUpperCase();
  input.source_id ??= defaults.sourceId ?? undefined;
  input.campaign_id ??= defaults.campaignId ?? undefined;
  const answers = row.answers.map(({ id, value }) => {
    const questionId = Number(id);
    return {
      question_id: questionId,
      value: answerValue(lookups.kinds.get(questionId), lookups.options.get(questionId), value.trim()),
    };
  });
  if (answers.length > 0) input.answers = answers;
  const extra = Object.entries(row.unmapped).slice(0, 50);
  if (extra.length > 0)
    input.attributes = Object.fromEntries(extra.map(([key, value]) => [key.slice(0, 64), value.slice(0, 1000)]));
  return { input: input as LeadInput, note: row.fields.notes?.trim() || undefined, errors };
}
