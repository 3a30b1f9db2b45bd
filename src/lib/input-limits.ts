/**
 * What one request may make the server do, in one place (the README's "Limits" names these numbers). Body bytes
 * (BODY_LIMIT_BYTES) and the request timeout (REQUEST_TIMEOUT_MS) are settings; these are not.
 */
export const INPUT_LIMITS = Object.freeze({
  /** Deepest nesting of arrays and objects in a JSON body; the body's own `{}` or `[]` is depth 1. */
  jsonDepth: 32,
  /**
   * Object keys plus array elements across a whole JSON body. A route whose body schema allows more (a bulk
   * create of territories with their postal codes) gets exactly what its schema allows instead.
   */
  jsonValues: 10_000,
  /** Entries of a problem's `errors`; when more were found the rest are cut and `errors_truncated` is true. */
  problemErrors: 50,
});

export type JsonBounds = { depth: number; values: number };

/**
 * Scans JSON text, without parsing it and without recursion, for the first limit it crosses: so a body of a
 * million `[` costs a linear scan that stops at depth 33, never a parse. Text that is not JSON may pass; the
 * parser refuses it next.
 */
export function jsonOverLimit(text: string, bounds: JsonBounds): 'depth' | 'values' | undefined {
  let depth = 0;
  let values = 0;
  let inString = false;
  let opened = false; // the last token opened a container: its first value, if any, is not preceded by a comma
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c)
        index++; // backslash: the next character is escaped
      else if (char === 0x22) inString = false;
      continue;
    }
    if (char === 0x20 || char === 0x0a || char === 0x0d || char === 0x09) continue;
    if (opened) {
      opened = false;
      if (char !== 0x5d && char !== 0x7d && ++values > bounds.values) return 'values';
    }
    if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) {
      if (++depth > bounds.depth) return 'depth';
      opened = true;
    } else if (char === 0x5d || char === 0x7d) depth--;
    else if (char === 0x2c && ++values > bounds.values) return 'values';
  }
  return undefined;
}

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  patternProperties?: Record<string, Schema>;
  maxProperties?: number;
  items?: Schema | Schema[];
  maxItems?: number;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
};

/**
 * The most keys plus elements a value valid under `schema` can hold; Infinity when the schema does not bound it
 * (or uses what this does not read). Walks a route's own, finite schema once at start-up, never request data.
 */
export function schemaValueBound(schema: Schema | boolean | undefined): number {
  if (schema === false) return 0;
  if (schema === undefined || schema === true || schema.$ref !== undefined) return Number.POSITIVE_INFINITY;
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return Math.max(0, ...union.map(schemaValueBound));
  if (schema.allOf) return Math.min(...schema.allOf.map(schemaValueBound));
  const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  if (types.length === 0) return Number.POSITIVE_INFINITY;
  return Math.max(
    0,
    types.includes('object') ? objectBound(schema) : 0,
    types.includes('array') ? arrayBound(schema) : 0,
  );
}

function objectBound(schema: Schema): number {
  const named = Object.values(schema.properties ?? {}).map((item) => 1 + schemaValueBound(item));
  const extra = schema.additionalProperties;
  const patterns = Object.values(schema.patternProperties ?? {});
  if (extra === false && patterns.length === 0) return named.reduce((sum, each) => sum + each, 0);
  if (schema.maxProperties === undefined) return Number.POSITIVE_INFINITY;
  if (schema.maxProperties === 0) return 0;
  const extraEach = extra === false ? 0 : 1 + schemaValueBound(extra === undefined ? true : extra);
  const patternEach = patterns.map((item) => 1 + schemaValueBound(item));
  return schema.maxProperties * Math.max(extraEach, ...patternEach, ...named);
}

function arrayBound(schema: Schema): number {
  if (schema.maxItems === undefined) return Number.POSITIVE_INFINITY;
  if (schema.maxItems === 0) return 0;
  const items = Array.isArray(schema.items) ? schema.items : [schema.items];
  return schema.maxItems * (1 + Math.max(...items.map(schemaValueBound)));
}
