import { type FieldError, fieldError } from './errors.ts';

/**
 * The rules of a "priority" reorder (sources, questions): the body lists every live id of the company exactly once.
 * Returns every problem at once, each with the index in the field path (`source_ids.3`).
 */
export function reorderErrors(
  field: string,
  ids: readonly number[],
  liveIds: readonly number[],
  what: string,
): FieldError[] {
  const live = new Set(liveIds);
  const seen = new Set<number>();
  const errors: FieldError[] = [];
  ids.forEach((id, index) => {
    if (!live.has(id)) {
      errors.push(fieldError(`${field}.${index}`, 'invalid_reference', `is not a ${what} of this company`));
    } else if (seen.has(id)) {
      errors.push(fieldError(`${field}.${index}`, 'duplicate', 'is listed more than once'));
    }
    seen.add(id);
  });
  const missing = liveIds.filter((id) => !seen.has(id));
  if (missing.length > 0) {
    errors.push(
      fieldError(field, 'incomplete', `must list every ${what} of the company; missing: ${missing.join(', ')}`),
    );
  }
  return errors;
}
