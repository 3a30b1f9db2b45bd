import { Column, type DriverValueDecoder, getTableColumns, getTableName, is, SQL, Table } from 'drizzle-orm';
import type { Db } from './database.ts';

/** How one selected column lands in a row: under `key`, inside `object` when the selection nests it. */
type Leaf = { object: string | undefined; key: string; decode: (value: unknown) => unknown; table?: string };

/** What `sql<T>`…`.mapWith()` gave an expression to read its value with (Drizzle keeps it internal). */
const decoderOf = (expression: SQL) => {
  const { decoder } = expression as unknown as { decoder: DriverValueDecoder<unknown, unknown> };
  return (value: unknown) => decoder.mapFromDriverValue(value);
};

/**
 * The columns of a selection in the order Drizzle selects them (depth first, in key order; a table stands for its
 * columns), each with its decoder. One level of nesting, as the read path's selections have.
 */
function leavesOf(selection: Record<string, unknown>, object?: string): Leaf[] {
  return Object.entries(selection).flatMap(([key, field]): Leaf[] => {
    if (is(field, Column)) {
      return [{ object, key, decode: (value) => field.mapFromDriverValue(value), table: getTableName(field.table) }];
    }
    if (is(field, SQL)) return [{ object, key, decode: decoderOf(field) }];
    if (is(field, SQL.Aliased)) return [{ object, key, decode: decoderOf(field.sql) }];
    if (object !== undefined) throw new Error(`The selection nests "${object}.${key}" deeper than one level`);
    if (is(field, Table)) return leavesOf(getTableColumns(field), key);
    return leavesOf(field as Record<string, unknown>, key);
  });
}

/**
 * Turns rows read as arrays into the selection's objects by a plan made once, where Drizzle's own mapping works out
 * each column's kind and place again for every value of every row (a sixth of a 25-lead page's CPU). Drizzle's rule
 * for joins, kept as it is (utils.ts mapResultRow): a nested object whose columns all come from one left-joined table
 * is null when its first column is (the join found nothing).
 */
function rowMapper<R>(selection: Record<string, unknown>, notNullableJoins: Record<string, boolean> | undefined) {
  const leaves = leavesOf(selection);
  const objects = [...new Set(leaves.flatMap((leaf) => (leaf.object === undefined ? [] : [leaf.object])))];
  // Per nested object that a missing join makes null: the index of the column that tells.
  const nullWhen = objects.flatMap((object) => {
    const columns = leaves.flatMap((leaf, i) =>
      leaf.object === object && leaf.table ? [{ i, table: leaf.table }] : [],
    );
    const table = columns[0]?.table;
    const single = table !== undefined && columns.every((column) => column.table === table);
    return notNullableJoins && single && !notNullableJoins[table] ? [{ object, index: columns[0]!.i }] : [];
  });
  return (row: unknown[]): R => {
    const result: Record<string, unknown> = {};
    for (const object of objects) result[object] = {};
    for (let i = 0; i < leaves.length; i++) {
      const { object, key, decode } = leaves[i]!;
      const raw = row[i];
      const value = raw === null ? null : decode(raw);
      if (object === undefined) result[key] = value;
      else (result[object] as Record<string, unknown>)[key] = value;
    }
    for (const { object, index } of nullWhen) if (row[index] === null) result[object] = null;
    return result as R;
  };
}

export type PreparedRows<R> = { execute(values: Record<string, unknown>): Promise<R[]> };

/**
 * A select prepared once: its SQL built now, its placeholders filled at each execution, its rows mapped by a plan
 * (rowMapper). `name`: a named server-side statement, or '' for the unnamed one, which the server parses with each
 * execution (behind a pooler in transaction mode). The same rows as executing the query itself.
 */
export function prepareRows<R>(
  db: Db,
  query: { toSQL(): { sql: string; params: unknown[] }; _: { selectedFields: unknown } },
  name: string,
): PreparedRows<R> {
  // Which joined tables may be missing: Drizzle keeps it on the builder (protected), for the same rule.
  const { joinsNotNullableMap } = query as unknown as { joinsNotNullableMap?: Record<string, boolean> };
  const map = rowMapper<R>(query._.selectedFields as Record<string, unknown>, joinsNotNullableMap);
  const statement = db._.session.prepareQuery<{ execute: R[]; all: unknown; values: unknown }>(
    query.toSQL(),
    undefined,
    name,
    true,
    (rows) => rows.map(map),
  );
  return { execute: (values) => statement.execute(values) };
}
