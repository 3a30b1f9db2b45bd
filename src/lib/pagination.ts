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

export const PageMeta = Type.Object(
  {
    next_cursor: Type.Union([Type.String(), Type.Null()], {
      description: 'The `cursor` of the next page; null on the last page.',
    }),
    limit: Type.Integer({ description: 'The page size used.' }),
    total: Type.Optional(Type.Integer({ description: 'Rows across all pages: only with `count=true`.' })),
  },
  {
    title: 'PageMeta',
    description: "A list's keyset pagination: follow `next_cursor` until it is null.",
    examples: [{ next_cursor: 'WyIyMDI2LTAzLTIzVDE1OjMwOjI4WiIsMTAxXQ', limit: 25 }],
  },
);

export type Page<T> = { items: T[]; meta: { next_cursor: string | null; limit: number; total?: number } };

export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/**
 * What one position of a cursor holds. `id`: a positive safe integer. `integer`: a PostgreSQL `integer` (a
 * priority). `timestamp`: ISO 8601 in UTC with up to microseconds, as the repositories write it (`to_char(… at
 * time zone 'UTC', …)`; a JS Date would drop the microseconds). `text`: at most 256 characters, well-formed UTF-16,
 * no NUL. `number` and `string` are the older names of `id` and `text`.
 */
export type CursorPart = 'id' | 'integer' | 'timestamp' | 'text' | 'number' | 'string';
type PartValue<P> = P extends 'timestamp' | 'text' | 'string' ? string : number;
export type CursorValues<S extends readonly CursorPart[]> = { -readonly [K in keyof S]: PartValue<S[K]> };

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?Z$/;
// What `timestamptz::text` gave in UTC sessions, in cursors issued before they were ISO 8601.
const PG_UTC = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)\+00$/;
const INT4 = 2 ** 31;
const LONE_SURROGATE = /\p{Cs}/u;

/** An ISO 8601 UTC instant that names a real date and time (no 24:00, no 30 February), year 1 to 9999. */
function timestampValue(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const legacy = PG_UTC.exec(value);
  const text = legacy ? `${legacy[1]}T${legacy[2]}Z` : value;
  const match = ISO_UTC.exec(text);
  if (!match || match[1] === '0000') return undefined;
  const seconds = text.slice(0, 19);
  const date = new Date(`${seconds}Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 19) === seconds ? text : undefined;
}

function partValue(part: CursorPart, value: unknown): string | number | undefined {
  switch (part) {
    case 'id':
    case 'number':
      return Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : undefined;
    case 'integer':
      return Number.isInteger(value) && (value as number) >= -INT4 && (value as number) < INT4
        ? (value as number)
        : undefined;
    case 'timestamp':
      return timestampValue(value);
    case 'text':
    case 'string':
      return typeof value === 'string' &&
        value.length <= 256 &&
        !value.includes('\u0000') &&
        !LONE_SURROGATE.test(value)
        ? value
        : undefined;
  }
}

const invalidCursor = () =>
  invalid([{ field: 'cursor', code: 'invalid_cursor', message: 'The cursor is not one this list issued.' }]);

/**
 * Decodes a cursor made by encodeCursor into the typed values of `shape`, each checked for what the list's query
 * will do with it; anything else is a 422 `invalid_cursor`, so no crafted cursor ever reaches the database.
 */
export function decodeCursor<const S extends readonly CursorPart[]>(
  cursor: string | undefined,
  shape: S,
): CursorValues<S> | undefined {
  if (cursor === undefined) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(values) || values.length !== shape.length) throw invalidCursor();
  const typed = shape.map((part, index) => partValue(part, values[index]));
  if (typed.some((value) => value === undefined)) throw invalidCursor();
  return typed as CursorValues<S>;
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
