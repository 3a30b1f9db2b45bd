/**
 * Named schemas in the OpenAPI document. A TypeBox schema with a `title` is a named schema: the document holds it once
 * in `components.schemas[title]`, and every place that uses it (nested ones too, components included) refers to it.
 * Generators then emit one `Lead` type instead of the same shape inline in every operation.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// Keywords whose value is a schema, a list of schemas, or a map of name → schema. Anything else (`examples`,
// `default`, `const`, `enum`) holds data, where an object with a string `title` is just a value.
const ONE = ['items', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'additionalProperties'];
const ONE_MORE = ['unevaluatedProperties', 'unevaluatedItems', 'additionalItems', 'contentSchema'];
const LIST = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const MAP = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];

/** Calls `visit` on every subschema of `schema` (depth-first, children before their parent), replacing each by its result. */
function mapSchema(schema: unknown, visit: (node: Json) => Json): unknown {
  if (!isObject(schema)) return schema;
  const node: Json = { ...schema };
  for (const key of [...ONE, ...ONE_MORE]) if (isObject(node[key])) node[key] = mapSchema(node[key], visit);
  for (const key of LIST) {
    if (Array.isArray(node[key])) node[key] = (node[key] as unknown[]).map((child) => mapSchema(child, visit));
  }
  // `items` as a list: draft-07 tuples, which TypeBox does not emit but a hand-written schema might.
  if (Array.isArray(node.items)) node.items = node.items.map((child) => mapSchema(child, visit));
  for (const key of MAP) {
    if (!isObject(node[key])) continue;
    node[key] = Object.fromEntries(
      Object.entries(node[key] as Json).map(([name, child]) => [name, mapSchema(child, visit)]),
    );
  }
  return visit(node);
}

const named = (node: Json): string | undefined => (typeof node.title === 'string' ? node.title : undefined);

/** JSON with sorted keys: two schemas are the same shape when these are equal. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (!isObject(value)) return JSON.stringify(value) ?? 'null';
  const keys = Object.keys(value)
    .filter((key) => value[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
}

export class DuplicateSchemaTitleError extends Error {
  constructor(title: string) {
    super(
      `Two different schemas are titled "${title}": a title names one schema of the OpenAPI document ` +
        '(components.schemas), so give one of them another title or make them the same schema.',
    );
  }
}

/**
 * Remembers every named schema the routes declare and throws at registration when a title names two different
 * shapes: the document could hold only one of them, and every reference to the other would describe the wrong thing.
 */
export function createTitleRegistry() {
  const seen = new Map<string, string>();
  const check = (schema: unknown) => {
    mapSchema(schema, (node) => {
      const title = named(node);
      if (title === undefined) return node;
      const shape = canonical(node);
      const known = seen.get(title);
      if (known !== undefined && known !== shape) throw new DuplicateSchemaTitleError(title);
      seen.set(title, shape);
      return node;
    });
  };
  return {
    /** Every schema of a route: params, querystring, headers, body, and each answer (its `content` ones too). */
    checkRoute(schema: Json | undefined) {
      if (!schema) return;
      for (const key of ['params', 'querystring', 'headers', 'body']) check(schema[key]);
      for (const answer of Object.values(isObject(schema.response) ? schema.response : {})) {
        if (isObject(answer) && isObject(answer.content)) {
          for (const media of Object.values(answer.content)) if (isObject(media)) check(media.schema);
        } else check(answer);
      }
    },
    check,
  };
}

// The document's annotations that may differ between two uses of one named schema: the body's single example is
// moved by @fastify/swagger from the schema to its media type (`example`), only where the schema is the whole body.
const ANNOTATIONS = new Set(['example', 'examples']);
const shapeOf = (node: Json) =>
  canonical(Object.fromEntries(Object.entries(node).filter(([k]) => !ANNOTATIONS.has(k))));

/**
 * Moves every titled schema of an OpenAPI document into `components.schemas` under its title and leaves a `$ref` in
 * its place. A media type's `example` that @fastify/swagger lifted out of a named schema goes back into it as its
 * `examples` (the media keeps it too: reference UIs prefill from either).
 */
export function hoistTitledSchemas(document: Json): Json {
  const components = isObject(document.components) ? { ...document.components } : {};
  const schemas: Json = isObject(components.schemas) ? { ...components.schemas } : {};
  const shapes = new Map<string, string>();
  for (const [name, schema] of Object.entries(schemas)) if (isObject(schema)) shapes.set(name, shapeOf(schema));

  const hoist = (node: Json): Json => {
    const title = named(node);
    if (title === undefined) return node;
    const shape = shapeOf(node);
    const known = shapes.get(title);
    if (known !== undefined && known !== shape) throw new DuplicateSchemaTitleError(title);
    const stored = schemas[title];
    if (known === undefined || (isObject(stored) && stored.examples === undefined && node.examples !== undefined)) {
      schemas[title] = node;
      shapes.set(title, shape);
    }
    return { $ref: `#/components/schemas/${encodeURIComponent(title)}` };
  };
  const walk = (schema: unknown) => mapSchema(schema, hoist);

  const media = (content: unknown) => {
    if (!isObject(content)) return content;
    return Object.fromEntries(
      Object.entries(content).map(([type, entry]) => {
        if (!isObject(entry) || !isObject(entry.schema)) return [type, entry];
        const schema =
          named(entry.schema) !== undefined && entry.example !== undefined && entry.schema.examples === undefined
            ? { ...entry.schema, examples: [entry.example] }
            : entry.schema;
        return [type, { ...entry, schema: walk(schema) }];
      }),
    );
  };
  const headers = (map: unknown) =>
    isObject(map)
      ? Object.fromEntries(
          Object.entries(map).map(([name, h]) => [name, isObject(h) ? { ...h, schema: walk(h.schema) } : h]),
        )
      : map;

  const operation = (op: Json): Json => {
    const out: Json = { ...op };
    if (Array.isArray(op.parameters)) {
      out.parameters = op.parameters.map((p) => (isObject(p) && p.schema ? { ...p, schema: walk(p.schema) } : p));
    }
    if (isObject(op.requestBody)) out.requestBody = { ...op.requestBody, content: media(op.requestBody.content) };
    if (isObject(op.responses)) {
      out.responses = Object.fromEntries(
        Object.entries(op.responses).map(([status, answer]) => [
          status,
          isObject(answer)
            ? {
                ...answer,
                ...(answer.content ? { content: media(answer.content) } : {}),
                ...(answer.headers ? { headers: headers(answer.headers) } : {}),
              }
            : answer,
        ]),
      );
    }
    return out;
  };

  const paths = Object.fromEntries(
    Object.entries(isObject(document.paths) ? document.paths : {}).map(([path, item]) => [
      path,
      isObject(item)
        ? Object.fromEntries(Object.entries(item).map(([method, op]) => [method, isObject(op) ? operation(op) : op]))
        : item,
    ]),
  );
  // Components are walked after the paths, and again until nothing new appears: a hoisted schema may hold others.
  const done = new Set<string>();
  for (
    let pending = Object.keys(schemas);
    pending.length > 0;
    pending = Object.keys(schemas).filter((n) => !done.has(n))
  ) {
    for (const name of pending) {
      done.add(name);
      const schema = schemas[name];
      if (!isObject(schema)) continue;
      // The component itself keeps its title; only what it contains is replaced by references.
      const { title, ...rest } = schema;
      const inner = walk(rest) as Json;
      schemas[name] = title === undefined ? inner : { title, ...inner };
    }
  }
  return { ...document, paths, components: { ...components, schemas } };
}
