/**
 * PostgreSQL text cannot hold U+0000: a NUL in a value fails the whole statement. Input is checked for it at the
 * edges (request bodies and queries, spreadsheet rows) so that it is refused with the field it is in.
 */
export const hasNul = (text: string): boolean => text.includes('\u0000');

/** The text with each NUL replaced by U+FFFD, for keeping a refused value where it can be shown (errors CSV). */
export const withoutNul = (text: string): string => text.replaceAll('\u0000', '\uFFFD');

/** Dotted paths (`answers.0.value`) of every string in `value`, keys included, that holds a NUL. */
export function nulPaths(value: unknown, path: string[] = []): string[] {
  if (typeof value === 'string') return hasNul(value) ? [path.join('.')] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) =>
    hasNul(key) ? [[...path, withoutNul(key)].join('.')] : nulPaths(item, [...path, key]),
  );
}
