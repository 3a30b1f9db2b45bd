import { LEAD_FIELDS, type LeadField, normalizeHeader, SYNONYMS, splitFullName } from './fields.ts';
import { SpreadsheetError } from './spreadsheet-error.ts';

export type Question = { id: number | string; title: string };
export type ColumnTarget = LeadField | `question:${string}`;
/** How a column got its target: the explicit mapping, a template column name, or a synonym/question title. */
export type MatchedBy = 'mapping' | 'template' | 'synonym';
export type ColumnMapping = { header: string; target: ColumnTarget | null; by: MatchedBy | null };

export type HeaderMapping = {
  columns: ColumnMapping[];
  /** Lead field → the header that fills it. */
  fields: Partial<Record<LeadField, string>>;
  /** Question → the header holding its answers. */
  questions: { id: Question['id']; header: string }[];
  /** Headers with no target, in file order (the caller decides: attributes, or dropped). */
  unmapped: string[];
  /** Headers the explicit mapping sent to `ignore`. */
  ignored: string[];
};

/** An explicit mapping value that skips the column. */
const IGNORE = new Set(['', 'ignore']);
const LISTED_QUESTIONS = 20;

const questionTarget = (question: Question): ColumnTarget => `question:${question.id}`;

function validTargets(questions: Question[]): string {
  const listed = questions.slice(0, LISTED_QUESTIONS).map(questionTarget);
  const more =
    questions.length > LISTED_QUESTIONS ? ` (and ${questions.length - LISTED_QUESTIONS} more questions)` : '';
  return `${[...LEAD_FIELDS, ...listed].join(', ')}${more}, or ignore`;
}

function targetOf(value: string, questions: Question[]): ColumnTarget | null | undefined {
  const target = value.trim();
  if (IGNORE.has(target.toLowerCase())) return null;
  if ((LEAD_FIELDS as readonly string[]).includes(target)) return target as LeadField;
  const question = questions.find((candidate) => target === questionTarget(candidate));
  return question ? questionTarget(question) : undefined;
}

/**
 * What is wrong with an explicit mapping (file column → lead field, `question:<id>` or `ignore`) before the file is
 * read: unknown targets and two columns sent to the same target. Empty when it is fine.
 */
export function mappingProblems(mapping: Record<string, string>, questions: Question[]): string[] {
  const problems: string[] = [];
  const claimed = new Map<ColumnTarget, string>();
  for (const [column, value] of Object.entries(mapping)) {
    const target = targetOf(value, questions);
    if (target === undefined)
      problems.push(`Column "${column}": unknown target "${value}"; valid targets are ${validTargets(questions)}.`);
    else if (target && claimed.has(target))
      problems.push(`Columns "${claimed.get(target)}" and "${column}" are both mapped to ${target}.`);
    else if (target) claimed.set(target, column);
  }
  return problems;
}

/** The file header an explicit mapping key names: exactly, else the only header equal to it once normalized. */
function headerFor(column: string, headers: string[]): string | undefined {
  if (headers.includes(column.trim())) return column.trim();
  const matches = headers.filter((header) => normalizeHeader(header) === normalizeHeader(column));
  return matches.length === 1 ? matches[0] : undefined;
}

function explicitTargets(headers: string[], mapping: Record<string, string>, questions: Question[]) {
  const problems = mappingProblems(mapping, questions);
  const explicit = new Map<string, ColumnTarget | null>();
  for (const [column, value] of Object.entries(mapping)) {
    const header = headerFor(column, headers);
    if (header === undefined) problems.push(`The mapping names column "${column}", which the file does not have.`);
    else explicit.set(header, targetOf(value, questions) ?? null);
  }
  if (problems.length > 0) throw new SpreadsheetError('invalid_mapping', problems.join(' '));
  return explicit;
}

function lookups(questions: Question[]) {
  const exact = new Map<string, ColumnTarget>(LEAD_FIELDS.map((field) => [field, field]));
  const loose = new Map<string, ColumnTarget>();
  for (const question of questions) {
    if (!exact.has(question.title.trim())) exact.set(question.title.trim(), questionTarget(question));
  }
  for (const field of LEAD_FIELDS) {
    for (const name of [field, ...SYNONYMS[field]])
      if (!loose.has(normalizeHeader(name))) loose.set(normalizeHeader(name), field);
  }
  for (const question of questions) {
    const key = normalizeHeader(question.title);
    if (key && !loose.has(key)) loose.set(key, questionTarget(question));
  }
  return { exact, loose };
}

/**
 * Maps each file column to a lead field, a question (`question:<id>`) or nothing. In order: the explicit mapping
 * (its keys are file columns, matched exactly or normalized; a bad target or a missing column throws a
 * SpreadsheetError listing the valid targets); then the template's exact names (field names and question titles);
 * then synonyms and question titles ignoring case, accents, spaces and punctuation. A target is filled by the first
 * column that claims it; later ones stay unmapped. A "Name" column next to a last-name column (and no first-name
 * one) is the first name.
 */
export function mapHeaders(
  headers: string[],
  options: { questions: Question[]; mapping?: Record<string, string> | null },
): HeaderMapping {
  const explicit = explicitTargets(headers, options.mapping ?? {}, options.questions);
  const { exact, loose } = lookups(options.questions);
  const claimed = new Set([...explicit.values()].filter((target) => target !== null));
  const columns: ColumnMapping[] = headers.map((header) =>
    explicit.has(header)
      ? { header, target: explicit.get(header) ?? null, by: 'mapping' }
      : { header, target: null, by: null },
  );
  const passes: [MatchedBy, (header: string) => ColumnTarget | undefined][] = [
    ['template', (header) => exact.get(header)],
    ['synonym', (header) => loose.get(normalizeHeader(header))],
  ];
  for (const [by, find] of passes) {
    for (const column of columns) {
      if (column.by) continue;
      const target = find(column.header);
      if (!target || claimed.has(target)) continue;
      claimed.add(target);
      Object.assign(column, { target, by });
    }
  }
  const fullName = columns.find((column) => column.target === 'full_name' && column.by !== 'mapping');
  if (fullName && claimed.has('last_name') && !claimed.has('first_name')) fullName.target = 'first_name';
  return summarize(columns, options.questions);
}

function summarize(columns: ColumnMapping[], questions: Question[]): HeaderMapping {
  const fields: HeaderMapping['fields'] = {};
  const answers: HeaderMapping['questions'] = [];
  for (const { header, target } of columns) {
    if (target?.startsWith('question:')) {
      const question = questions.find((candidate) => questionTarget(candidate) === target)!;
      answers.push({ id: question.id, header });
    } else if (target) fields[target as LeadField] = header;
  }
  const headersWhere = (test: (column: ColumnMapping) => boolean) =>
    columns.filter(test).map((column) => column.header);
  return {
    columns,
    fields,
    questions: answers,
    unmapped: headersWhere((column) => column.target === null && column.by === null),
    ignored: headersWhere((column) => column.target === null && column.by === 'mapping'),
  };
}

export type MappedRow = {
  /** Non-empty values of the mapped lead fields; a full name is split into first/last name where those are empty. */
  fields: Partial<Record<Exclude<LeadField, 'full_name'>, string>>;
  answers: { id: Question['id']; value: string }[];
  /** Non-empty values of unmapped columns, by header. */
  unmapped: Record<string, string>;
};

/** One row's values through a HeaderMapping. Empty cells are left out everywhere. */
export function applyMapping(mapping: HeaderMapping, values: Record<string, string>): MappedRow {
  const fields: MappedRow['fields'] = {};
  for (const [field, header] of Object.entries(mapping.fields) as [LeadField, string][]) {
    const value = values[header];
    if (value && field !== 'full_name') fields[field] = value;
  }
  const fullName = mapping.fields.full_name ? values[mapping.fields.full_name] : undefined;
  if (fullName) {
    const split = splitFullName(fullName);
    if (!fields.first_name && split.first_name) fields.first_name = split.first_name;
    if (!fields.last_name && split.last_name) fields.last_name = split.last_name;
  }
  const answers = mapping.questions
    .filter(({ header }) => values[header])
    .map(({ id, header }) => ({ id, value: values[header]! }));
  const unmapped: Record<string, string> = {};
  for (const header of mapping.unmapped) if (values[header]) unmapped[header] = values[header];
  return { fields, answers, unmapped };
}
