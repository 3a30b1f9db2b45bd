import { type FieldError, fieldError } from '../../lib/errors.ts';

export const QUESTION_KINDS = ['text', 'number', 'date', 'boolean', 'single_choice', 'multiple_choice'] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

export const isChoice = (kind: QuestionKind) => kind === 'single_choice' || kind === 'multiple_choice';

export type OptionInput = { label: string; value?: string | undefined; score?: number | null | undefined };
export type OptionValues = { label: string; value: string; score: number | null; position: number };

const MAX_VALUE = 100;

/** `"Más de 10 años"` → `"mas_de_10_anos"`: accents folded, letters and digits of any script kept. */
export function slugify(label: string): string {
  return label
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_VALUE);
}

/**
 * Options as stored: trimmed, `value` defaulting to the label's slug, position = array order (1-based). Values must
 * be unique within the set; every problem is reported under `field` with the option's index.
 */
export function normalizeOptions(
  options: readonly OptionInput[],
  field: string,
): { options: OptionValues[]; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  const result = options.map((option, index) => {
    const label = option.label.trim();
    const value = option.value?.trim() ?? slugify(label);
    if (value === '') {
      errors.push(fieldError(`${field}.${index}.value`, 'required', 'is required: the label has no letters or digits'));
    } else if (seen.has(value)) {
      errors.push(fieldError(`${field}.${index}.value`, 'duplicate', `repeats the value of option ${seen.get(value)}`));
    } else {
      seen.set(value, index);
    }
    return { label, value, score: option.score ?? null, position: index + 1 };
  });
  return { options: result, errors };
}

/** Choice kinds need at least one option; the other kinds take none (an empty array is accepted as "none"). */
export function kindOptionErrors(
  kind: QuestionKind,
  options: readonly OptionInput[] | undefined,
  field = 'options',
): FieldError[] {
  if (isChoice(kind)) {
    return options && options.length > 0
      ? []
      : [fieldError(field, 'required', `a ${kind} question needs at least one option`)];
  }
  return options === undefined || options.length === 0
    ? []
    : [fieldError(field, 'not_allowed', `a ${kind} question has no options`)];
}
