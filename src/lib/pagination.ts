import { Type } from 'typebox';
import { invalid } from './errors.ts';

/** Query parameters every list takes. Keyset cursors only: no OFFSET scans on large tables. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25, description: 'Page size (1..100).' })),
  cursor: Type.Optional(
    Type.String({ maxLength: 512, description: 'Opaque cursor from `meta.next_cursor` of the previous page.' }),
  ),
  count: Type.Optional(Type.Boolean({ description: 'Add `meta.total`, the number of rows across all pages.' })),
};

export const PageMeta = Type.Object({
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  limit: Type.Integer(),
  total: Type.Optional(Type.Integer()),
});

export type Page<T> = { items: T[]; meta: { next_cursor: string | null; limit: number; total?: number } };

export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/** Decodes a cursor made by encodeCursor, checking the shape the list expects; anything else is a 422. */
export function decodeCursor(cursor: string | undefined, shape: readonly ('string' | 'number')[]) {
  if (cursor === undefined) return undefined;
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(values) &&
      values.length === shape.length &&
      values.every((value, index) => typeof value === shape[index])
    ) {
      return values as (string | number)[];
    }
  } catch {
    // fall through to the 422 below
  }
  throw invalid([{ field: 'cursor', code: 'invalid_cursor', message: 'The cursor is not one this list issued.' }]);
}

/** Rows were fetched with limit + 1: the extra row only tells whether another page exists. */
export function toPage<T>(
  rows: T[],
  limit: number,
  cursorOf: (last: T) => readonly (string | number)[],
  total?: number,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const next_cursor = rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null;
  return { items, meta: total === undefined ? { next_cursor, limit } : { next_cursor, limit, total } };
}
