import fc from 'fast-check';

/**
 * Values for the OpenAPI fuzz: what a schema accepts (so that a request gets past validation and reaches the
 * services), and what an attacker or a broken client sends instead (wrong types, sizes, nesting, unicode, NUL,
 * prototype keys, numbers no column holds, timestamps PostgreSQL refuses).
 */
export type Schema = Record<string, any>;
/** Ids a value can point at, by parameter name (`lead_id`, …): company A's fixtures. */
export type Ids = Record<string, number | string>;

/** JSON text written as is by `toJson` (numbers beyond a double, deep nesting that no recursion should walk). */
export class Raw {
  constructor(readonly text: string) {}
}

/** JSON.stringify, except Raw, and keys such as `__proto__` kept as own properties (see `withKey`). */
export function toJson(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${toJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  // undefined, NaN and Infinity have no JSON: JSON.stringify gives "null" for the numbers.
  return JSON.stringify(value) ?? 'null';
}

/** `object[key] = value` as an own, enumerable property, even for `__proto__`. */
export function withKey(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

const nest = (depth: number, open: string, close: string, inner = '1') =>
  new Raw(open.repeat(depth) + inner + close.repeat(depth));

export const deepNesting = fc
  .tuple(fc.constantFrom(8, 64, 300, 1000, 2500), fc.constantFrom('array', 'object', 'mixed'))
  .map(([depth, kind]) =>
    kind === 'array'
      ? nest(depth, '[', ']')
      : kind === 'object'
        ? nest(depth, '{"a":', '}')
        : nest(Math.ceil(depth / 2), '[{"a":', '}]'),
  );

const LONE_SURROGATES = ['\ud800', '\udfff', 'a\udc00b', '\ud83d'];
const ODD_TEXT = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0000'.repeat(10),
  '\u202e\u200b\ufeff',
  '💩🏳️‍🌈',
  'Ünïcödé ñ 中文 العربية',
  '\r\n\t',
  "' OR 1=1 --",
  '%_\\',
  '$' + '{jndi:ldap://x}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  'null',
  'undefined',
  'NaN',
  'true',
  '-1',
  '0',
  '1e400',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '=HYPERLINK("http://x")',
];
/** Timestamps and dates as PostgreSQL and Date read them differently, or not at all. */
export const ODD_TIMES = [
  '2020-01-01 00:00:00+25',
  '2020-01-01T00:00:00+25:00',
  '2020-01-01 00:00:00 Mars/Olympus',
  '2020-01-01T00:00:00.123456789Z',
  '2020-02-30T00:00:00Z',
  '2020-13-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '9999-12-31T23:59:59Z',
  '1970-01-01T00:00:00Z',
  '4714-11-24 00:00:00 BC',
  '294277-01-01T00:00:00Z',
  'infinity',
  '-infinity',
  'epoch',
  'now',
  'today',
  'allballs',
  '2020-01-01',
  '2020-W01',
  '',
];
export const ODD_NUMBERS: unknown[] = [
  0,
  -0,
  -1,
  0.5,
  -0.5,
  1.0000001,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  new Raw('1e400'),
  new Raw('-1e400'),
  new Raw('1e-400'),
  new Raw('123456789012345678901234567890'),
  new Raw('-0.0'),
  new Raw('1E+2'),
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...ODD_TEXT, ...LONE_SURROGATES, ...ODD_TIMES),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.oneof(fc.constantFrom('\u0000', 'é', '𝕏'), loneSurrogate), maxLength: 12 }),
  fc
    .tuple(fc.constantFrom(33, 101, 129, 201, 255, 257, 1001, 2001, 10_001, 70_000), fc.constantFrom('x', 'é', '💩'))
    .map(([length, char]) => char.repeat(length)),
);

const key: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'id', 'company_id', 'bogus', ''),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('a\u0000b', 'x'.repeat(300), '💩', '\ud800'),
);

/** An object that carries prototype keys as own properties, and many keys. */
const oddObject: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .tuple(fc.constantFrom('__proto__', 'constructor'), fc.jsonValue({ maxDepth: 2 }))
    .map(([k, v]) => withKey({}, k, k === 'constructor' ? { prototype: v } : v)),
  fc
    .constantFrom(200, 1001, 5000)
    .map((count) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]))),
  fc.dictionary(key, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
);

/** Anything but what the schema expects. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, '', [], {}, '1', 'true', 'null', [null], [[]]) },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_NUMBERS) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()) },
  { weight: 4, arbitrary: oddString },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: fc.constantFrom(201, 1001, 10_001).map((length) => Array(length).fill(1)) },
  { weight: 2, arbitrary: oddObject },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

export const unknownKey = key;

/** A cursor that no list issued: base64url of odd JSON, odd shapes, or not base64 at all. */
export const garbageCursor: fc.Arbitrary<string> = fc.oneof(
  // The shape most lists issue, [timestamp, id], with a timestamp or an id PostgreSQL cannot take.
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...ODD_TIMES, 'x'.repeat(300)), fc.constantFrom(...ODD_NUMBERS, 1, 1, 1, '1', null))
      .map(([time, id]) => Buffer.from(`[${toJson(time)},${toJson(id)}]`).toString('base64url')),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...ODD_TIMES), fc.constantFrom(...ODD_TIMES))
      .map(([a, b]) => Buffer.from(JSON.stringify([a, b])).toString('base64url')),
  },
  fc
    .tuple(fc.constantFrom(...ODD_NUMBERS, 1), fc.constantFrom(...ODD_NUMBERS, 1))
    .map(([a, b]) => Buffer.from(`[${toJson(a)},${toJson(b)}]`).toString('base64url')),
  fc
    .array(fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...ODD_TIMES)), { maxLength: 4 })
    .map((values) => Buffer.from(JSON.stringify(values)).toString('base64url')),
  fc.constantFrom(...ODD_NUMBERS, 'x').map((id) => Buffer.from(`[${toJson(id)}]`).toString('base64url')),
  deepNesting.map((raw) => Buffer.from(raw.text).toString('base64url')),
  fc.constantFrom('', '=', '!!!', '%00', 'W10', 'bnVsbA', 'e30', 'x'.repeat(600), '\u0000', '💩'),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
);

const email = fc.stringMatching(/^[a-z]{1,10}$/).map((local) => `${local}@example.com`);
const isoTime = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString());

/**
 * A value the schema accepts, as far as cheaply possible. `hint`: the property or parameter name, so that an id
 * points at a fixture of company A (`source_id`, and `source_ids` for each item).
 */
export function valid(schema: Schema | undefined, ids: Ids, hint = ''): fc.Arbitrary<unknown> {
  if (!schema) return fc.jsonValue({ maxDepth: 1 });
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches)) return fc.oneof(...branches.map((branch: Schema) => valid(branch, ids, hint)));
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  if ('const' in schema) return fc.constant(schema.const);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const id = ids[hint] ?? ids[hint.replace(/s$/, '')];
      const min = schema.minimum ?? -5;
      const max = Math.min(schema.maximum ?? 1000, Math.max(min, 0) + 1000);
      const number = fc.integer({ min, max });
      return typeof id === 'number' ? fc.oneof({ weight: 4, arbitrary: fc.constant(id) }, number) : number;
    }
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1e6,
        max: schema.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'string':
      return validString(schema, ids, hint);
    case 'array': {
      const maxLength = Math.min(schema.maxItems ?? 3, 3);
      return fc.array(valid(schema.items, ids, hint), {
        minLength: Math.min(schema.minItems ?? 0, maxLength),
        maxLength,
      });
    }
    case 'object':
      return validObject(schema, ids);
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

function validString(schema: Schema, ids: Ids, hint: string): fc.Arbitrary<string> {
  const id = ids[hint];
  // A known value (the fixture's email, a feed token): mostly that one, so that lookups find something.
  const generic = anyString(schema);
  return typeof id === 'string' ? fc.oneof({ weight: 3, arbitrary: fc.constant(id) }, generic) : generic;
}

function anyString(schema: Schema): fc.Arbitrary<string> {
  if (schema.format === 'email') return email;
  if (schema.format === 'date-time') return isoTime;
  if (schema.format === 'date') return isoTime.map((time) => time.slice(0, 10));
  const maxLength = Math.min(schema.maxLength ?? 30, 30);
  const minLength = Math.min(schema.minLength ?? 0, maxLength);
  if (typeof schema.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((text) => text.length <= (schema.maxLength ?? 1e9));
    } catch {
      // A pattern fast-check cannot read: any string, validation decides.
    }
  }
  return fc.string({ minLength: Math.max(minLength, 1), maxLength: Math.max(maxLength, 1) });
}

function validObject(schema: Schema, ids: Ids): fc.Arbitrary<unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set<string>(schema.required ?? []);
  const model = Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, valid(sub, ids, name)]));
  const record = fc.record(model, { requiredKeys: Object.keys(model).filter((name) => required.has(name)) });
  const extra = schema.additionalProperties;
  if (extra && typeof extra === 'object' && Object.keys(properties).length === 0) {
    return fc.dictionary(fc.stringMatching(/^[a-z_]{1,12}$/), valid(extra, ids), {
      maxKeys: Math.min(schema.maxProperties ?? 3, 3),
    });
  }
  return record;
}
