import fc from 'fast-check';
import {
  garbageCursor,
  hostile,
  type Ids,
  ODD_NUMBERS,
  oddString,
  Raw,
  type Schema,
  toJson,
  unknownKey,
  valid,
  withKey,
} from './values.ts';

/** One operation of /openapi.json, with what the fuzz needs of it. */
export type FuzzOperation = {
  operationId: string;
  method: string;
  path: string;
  parameters: { name: string; in: string; required?: boolean; schema?: Schema }[];
  jsonBody?: Schema;
  multipart?: Schema;
  /**
   * The methods of every operation on this path: a "wrong method" request uses none of them, so that a DELETE
   * never runs before the delete phase (see the test).
   */
  pathMethods: string[];
  /** 5xx statuses the document declares besides 500 (501 for sign-in through OIDC when it is not configured). */
  serverStatuses: number[];
};

export type Caller = 'admin' | 'manager' | 'agent' | 'outsider' | 'none' | 'garbage';

/** A generated request; the caller's token is looked up when it is sent (tokens are refreshed during a run). */
export type FuzzRequest = {
  operationId: string;
  method: string;
  url: string;
  caller: Caller;
  /** The Authorization header of a `garbage` caller. */
  authorization?: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
};

/** What the generators build requests from: company A's ids, a valid body or file per operation, forged tokens. */
export type FuzzEnv = {
  ids: Ids;
  bodies: Record<string, unknown>;
  uploads: Record<string, { body: Buffer; headers: Record<string, string> }>;
  forgedTokens: string[];
};

/**
 * The document with every `$ref` to a named schema replaced by that schema (the generators read schemas inline).
 * The document's named schemas hold no cycle, so this ends.
 */
export function dereference(document: Schema): Schema {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Schema>;
  const inline = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(inline);
    if (typeof value !== 'object' || value === null) return value;
    const ref = (value as Schema).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
      return inline(schemas[decodeURIComponent(ref.slice('#/components/schemas/'.length))]);
    }
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, inline(child)]));
  };
  return { ...document, paths: inline(document.paths) };
}

export function operationsOf(document: Schema): FuzzOperation[] {
  const operations: FuzzOperation[] = [];
  const { paths } = dereference(document);
  for (const [path, methods] of Object.entries(paths as Record<string, Record<string, Schema>>)) {
    for (const [method, operation] of Object.entries(methods)) {
      const content = operation.requestBody?.content ?? {};
      operations.push({
        operationId: operation.operationId,
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        jsonBody: content['application/json']?.schema,
        multipart: content['multipart/form-data']?.schema,
        pathMethods: Object.keys(methods).map((name) => name.toUpperCase()),
        serverStatuses: Object.keys(operation.responses ?? {})
          .map(Number)
          // 503 is documented everywhere (the database away, a shutdown); the fuzz runs with neither.
          .filter((status) => status > 500 && status !== 503),
      });
    }
  }
  return operations;
}

/** Percent-encodes the UTF-8 bytes (a lone surrogate becomes U+FFFD, as a browser would send it). */
export function pctEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Path segments as sent (already encoded): out of range, not numbers, too long, broken percent-encoding. */
const ODD_SEGMENTS = [
  '0',
  '-1',
  '1.5',
  '1e3',
  '0x10',
  '+1',
  '%201',
  '2147483647',
  '2147483648',
  '9007199254740993',
  '9223372036854775808',
  '99999999999999999999999999',
  'abc',
  'null',
  '__proto__',
  'constructor',
  '%00',
  '1%00',
  '%2F',
  '..',
  '%2E%2E',
  '%zz',
  '%E0%A4%A',
  '%ED%A0%80',
  '%C0%AF',
  '%FF',
  '%F0%9F%92%A9',
  'x'.repeat(255),
  'x'.repeat(257),
  '1'.repeat(300),
];

/**
 * What a request gets wrong: nothing (`valid`: it reaches the services), one part (its path ids, query, body,
 * caller, method or headers), or everything at once (`chaos`). One part at a time gets deep: a garbage cursor
 * with every other parameter valid reaches the SQL, as it would not if something else were refused first.
 */
export type Focus = 'valid' | 'path' | 'query' | 'body' | 'caller' | 'method' | 'headers' | 'chaos';
type Mode = 'valid' | 'hostile' | 'chaos';
const modeOf = (focus: Focus, part: Focus): Mode =>
  focus === 'chaos' ? 'chaos' : focus === part ? 'hostile' : 'valid';

function pathValue(name: string, ids: Ids, mode: Mode): fc.Arbitrary<string> {
  const own = ids[name];
  if (mode === 'valid') return fc.constant(String(own ?? 1));
  return fc.oneof(
    { weight: own === undefined ? 0 : mode === 'chaos' ? 10 : 2, arbitrary: fc.constant(String(own ?? 1)) },
    { weight: 1, arbitrary: fc.constantFrom(...Object.values(ids)).map((id) => pctEncode(String(id))) },
    { weight: 3, arbitrary: fc.constantFrom(...ODD_SEGMENTS) },
    { weight: 1, arbitrary: oddString.map(pctEncode) },
  );
}

/** A query value as a string; arrays become repeated parameters. */
const queryText = (value: unknown): string[] =>
  Array.isArray(value) ? value.flatMap(queryText) : [value instanceof Raw ? value.text : String(value)];

const oddQueryValue: fc.Arbitrary<string[]> = fc.oneof(
  oddString.map((text) => [text]),
  fc.constantFrom(...ODD_NUMBERS).map(queryText),
  fc.constantFrom<string[]>(['1', '2'], [], ['']),
);

type QueryPair = [name: string, value: string, raw?: boolean];

function queryArbitrary(operation: FuzzOperation, ids: Ids, mode: Mode): fc.Arbitrary<QueryPair[]> {
  const declared = operation.parameters.filter((parameter) => parameter.in === 'query');
  const validOf = (parameter: (typeof declared)[number]) => valid(parameter.schema, ids, parameter.name).map(queryText);
  const hostileOf = (parameter: (typeof declared)[number]): fc.Arbitrary<string[]> =>
    parameter.name === 'cursor'
      ? fc.oneof({ weight: 4, arbitrary: garbageCursor.map((cursor) => [cursor]) }, oddQueryValue)
      : oddQueryValue;
  const pairs = (name: string, texts: string[] | null): QueryPair[] => (texts ?? []).map((text) => [name, text]);
  const optional = (parameter: (typeof declared)[number], values: fc.Arbitrary<string[]>) =>
    fc.option(values, { freq: parameter.required ? 8 : 2 }).map((texts) => pairs(parameter.name, texts));
  const validPairs = fc.tuple(...declared.map((parameter) => optional(parameter, validOf(parameter))));
  const unknown = fc
    .array(
      fc.tuple(fc.oneof(unknownKey, fc.constantFrom('stageid', 'a[b]', 'a.b', 'limit[]', 'cursor[0]')), oddQueryValue),
      { minLength: 1, maxLength: 2 },
    )
    .map(flatUnknown);
  const raw = fc.constantFrom<QueryPair[]>(
    [['limit', '%zz', true]],
    [['q', '%E0%A4%A', true]],
    [['q', '%00', true]],
    [['', '', true]],
    [['&&&', '===', true]],
  );
  // No valid cursor can be made up (only a list issues one): valid requests go without.
  if (mode === 'valid') return validPairs.map((known) => known.flat().filter(([name]) => name !== 'cursor'));
  // One declared parameter wrong (a cursor: mostly garbage), the others valid; or an unknown or malformed one.
  // A list's cursor is the wrong one half of the time: garbage cursors are what reaches the SQL.
  const cursor = declared.findIndex((parameter) => parameter.name === 'cursor');
  const pick = cursor < 0 ? fc.nat() : fc.oneof(fc.nat(), fc.constant(cursor));
  const oneWrong = fc.tuple(validPairs, pick, fc.tuple(...declared.map(hostileOf))).map(([known, pick, wrong]) => {
    const index = pick % declared.length;
    const list = known.map((pair, i) => (i === index ? pairs(declared[i]!.name, wrong[i]!) : pair));
    return list.flat();
  });
  const chaos = fc
    .tuple(
      fc.tuple(...declared.map((parameter) => optional(parameter, fc.oneof(validOf(parameter), hostileOf(parameter))))),
      fc.oneof({ weight: 5, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: unknown }),
      fc.oneof({ weight: 12, arbitrary: fc.constant<QueryPair[]>([]) }, { weight: 1, arbitrary: raw }),
    )
    .map(([known, extra, rawPairs]) => [...known.flat(), ...extra, ...rawPairs]);
  if (mode === 'chaos') return chaos;
  return fc.oneof(
    { weight: declared.length > 0 ? 6 : 0, arbitrary: oneWrong },
    { weight: 2, arbitrary: fc.tuple(validPairs, unknown).map(([known, extra]) => [...known.flat(), ...extra]) },
    { weight: 1, arbitrary: fc.tuple(validPairs, raw).map(([known, extra]) => [...known.flat(), ...extra]) },
    { weight: 1, arbitrary: chaos },
  );
}

const flatUnknown = (pairs: [string, string[]][]): QueryPair[] =>
  pairs.flatMap(([name, texts]) => texts.map((text): QueryPair => [name, text]));

function queryString(pairs: QueryPair[]): string {
  if (pairs.length === 0) return '';
  return `?${pairs.map(([name, value, raw]) => (raw ? `${name}=${value}` : `${pctEncode(name)}=${pctEncode(value)}`)).join('&')}`;
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (value !== null && typeof value === 'object' && !(value instanceof Raw)) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) withKey(copy, key, clone((value as Record<string, unknown>)[key]));
    return copy;
  }
  return value;
}

function containers(value: unknown, found: (Record<string, unknown> | unknown[])[] = []) {
  if (Array.isArray(value)) {
    found.push(value);
    for (const item of value) containers(item, found);
  } else if (value !== null && typeof value === 'object' && !(value instanceof Raw)) {
    found.push(value as Record<string, unknown>);
    for (const item of Object.values(value)) containers(item, found);
  }
  return found;
}

type Mutation = {
  at: number;
  action: 'set' | 'add' | 'delete' | 'wrap' | 'nest';
  pick: number;
  key: string;
  value: unknown;
};

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  action: fc.constantFrom('set', 'set', 'set', 'add', 'delete', 'wrap', 'nest'),
  pick: fc.nat(),
  key: unknownKey,
  value: hostile,
});

/** Applies one mutation to a node of the (cloned) body: a field set to a hostile value, added, removed, nested. */
function mutate(body: unknown, { at, action, pick, key, value: shared }: Mutation): unknown {
  // A copy: generated values may be shared constants, which a later mutation must not change (or make cyclic).
  const value = clone(shared);
  const nodes = containers(body);
  if (nodes.length === 0) return value;
  const node = nodes[at % nodes.length]!;
  if (Array.isArray(node)) {
    if (action === 'add' || node.length === 0) node.push(value);
    else if (action === 'delete') node.splice(pick % node.length, 1);
    else {
      const index = pick % node.length;
      node[index] = action === 'wrap' ? [node[index]] : action === 'nest' ? { a: node[index] } : value;
    }
    return body;
  }
  const keys = Object.keys(node);
  if (action === 'add' || keys.length === 0) {
    withKey(node, key, value);
    return body;
  }
  const name = keys[pick % keys.length]!;
  if (action === 'delete') delete node[name];
  else withKey(node, name, action === 'wrap' ? [node[name]] : action === 'nest' ? { a: node[name] } : value);
  return body;
}

const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'application/json, text/plain',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  '',
];

type Body = { payload?: string | Buffer; contentType?: string };

/** Raw text the JSON parser must refuse, or read to a prototype key. */
function rawVariants(text: string): fc.Arbitrary<Body> {
  const cut = fc.nat({ max: Math.max(text.length - 1, 0) });
  const json = (payload: string | Buffer): Body => ({ payload, contentType: 'application/json' });
  return fc.oneof(
    cut.map((n) => json(text.slice(0, n))),
    fc.constantFrom(
      json(`${text}garbage`),
      json(`\ufeff${text}`),
      json(text.replace(/^\{/, '{"__proto__":{"polluted":1},')),
      json(text.replace(/^\{/, '{"constructor":{"prototype":{"polluted":1}},')),
      json(text.replace(/^\{/, '{"a":1,"a":2,')),
      json(''),
      json(' '),
      json('null'),
      json('"\\ud800"'),
      json('{"a":"\\u0000"}'),
      json(text.replace(/"$/, '\\')),
    ),
    cut.map((n) =>
      json(
        Buffer.concat([
          Buffer.from(text.slice(0, n)),
          Buffer.from([0xed, 0xa0, 0x80, 0xff, 0xc0, 0xaf]),
          Buffer.from(text.slice(n)),
        ]),
      ),
    ),
  );
}

function jsonBodyArbitrary(operation: FuzzOperation, env: FuzzEnv, mode: Mode): fc.Arbitrary<Body> {
  const schema = operation.jsonBody!;
  const fixture = env.bodies[operation.operationId];
  const base = fc.oneof(
    { weight: fixture === undefined ? 0 : 3, arbitrary: fc.constant(fixture).map(clone) },
    { weight: 3, arbitrary: valid(schema, env.ids) },
  );
  const mutated = fc
    .tuple(base, fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([body, mutations]) => mutations.reduce((current, step) => mutate(current, step), body));
  const sent = base.map((body): Body => ({ payload: toJson(body), contentType: 'application/json' }));
  if (mode === 'valid') return sent;
  return fc.oneof(
    { weight: mode === 'chaos' ? 3 : 0, arbitrary: sent },
    { weight: 8, arbitrary: mutated.map((body): Body => ({ payload: toJson(body), contentType: 'application/json' })) },
    { weight: 2, arbitrary: hostile.map((body): Body => ({ payload: toJson(body), contentType: 'application/json' })) },
    { weight: 2, arbitrary: base.chain((body) => rawVariants(toJson(body))) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(base, fc.constantFrom(...CONTENT_TYPES))
        .map(([body, contentType]): Body => ({ payload: toJson(body), contentType })),
    },
    { weight: 1, arbitrary: fc.constant<Body>({}) },
  );
}

const MAGIC = {
  png: Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'),
  jpeg: Buffer.from('ffd8ffe000104a464946', 'hex'),
  gif: Buffer.from('GIF89a'),
  webp: Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 '),
  zip: Buffer.from('504b0304140000000800', 'hex'),
  csv: Buffer.from('email,phone,first_name\n'),
};

const fileBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
  fc
    .tuple(fc.constantFrom(...Object.values(MAGIC)), fc.uint8Array({ maxLength: 1024 }))
    .map(([magic, bytes]) => Buffer.concat([magic, Buffer.from(bytes)])),
  fc
    .array(fc.tuple(oddString, oddString), { maxLength: 5 })
    .map((rows) => Buffer.concat([MAGIC.csv, Buffer.from(rows.map((row) => row.join(',')).join('\n'))])),
  fc.constantFrom(Buffer.alloc(0), Buffer.from('\u0000'.repeat(100))),
);

type Part = { name: string; filename?: string; type?: string; data: Buffer };

/** multipart/form-data by hand, so that names, file names and types can be anything. */
function formData(parts: Part[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const filename = part.filename === undefined ? '' : `; filename="${part.filename}"`;
    const type = part.type === undefined ? '' : `\r\nContent-Type: ${part.type}`;
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${filename}${type}\r\n\r\n`),
    );
    chunks.push(part.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

function multipartArbitrary(operation: FuzzOperation, env: FuzzEnv, mode: Mode): fc.Arbitrary<Body> {
  const properties = Object.entries((operation.multipart!.properties ?? {}) as Record<string, Schema>);
  const fileField = properties.find(([, schema]) => schema.format === 'binary')?.[0] ?? 'file';
  const textFields = properties.filter(([, schema]) => schema.format !== 'binary');
  const filePart = fc.record({
    name: fc.oneof({ weight: 6, arbitrary: fc.constant(fileField) }, { weight: 1, arbitrary: unknownKey }),
    filename: fc.oneof(
      fc.constantFrom('a.csv', 'a.xlsx', 'a.png', '', '../../etc/passwd', 'a\u0000.png', 'x'.repeat(300), '💩.gif'),
      oddString,
    ),
    type: fc.constantFrom(
      'image/png',
      'image/jpeg',
      'text/csv',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'application/octet-stream',
      'text/html',
      'garbage',
    ),
    data: fileBytes,
  });
  const textPart = fc
    .tuple(
      fc.oneof(fc.constantFrom(...textFields.map(([name]) => name), 'x'), unknownKey),
      fc.oneof(
        oddString,
        hostile.map(toJson),
        fc.constantFrom('{"email":"email"}', '{"a":"question:999999"}', '{"__proto__":{"x":1}}', 'skip', 'update'),
        fc.constantFrom(...Object.values(env.ids)).map(String),
      ),
    )
    .map(([name, text]): Part => ({ name, data: Buffer.from(text) }));
  const parts = fc
    .tuple(fc.array(filePart, { minLength: 0, maxLength: 2 }), fc.array(textPart, { maxLength: 3 }))
    .map(([files, texts]) => [...texts, ...files]);
  const boundary = '----fuzzboundary7MA4YWxkTrZu0gW';
  const upload = env.uploads[operation.operationId];
  const validUpload = fc.constant<Body>({ payload: upload?.body, contentType: upload?.headers['content-type'] });
  if (mode === 'valid' && upload) return validUpload;
  return fc.oneof(
    {
      weight: upload && mode === 'chaos' ? 2 : 0,
      arbitrary: validUpload,
    },
    {
      weight: 8,
      arbitrary: parts.map(
        (list): Body => ({
          payload: formData(list, boundary),
          contentType: `multipart/form-data; boundary=${boundary}`,
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(parts, fc.nat()).map(([list, cut]): Body => {
        const payload = formData(list, boundary);
        return {
          payload: payload.subarray(0, cut % (payload.length + 1)),
          contentType: `multipart/form-data; boundary=${boundary}`,
        };
      }),
    },
    {
      weight: 1,
      arbitrary: parts.map(
        (list): Body => ({ payload: formData(list, boundary), contentType: 'multipart/form-data; boundary=other' }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Body>(
        { payload: '{}', contentType: 'application/json' },
        { payload: 'a', contentType: 'multipart/form-data' },
        { payload: '', contentType: `multipart/form-data; boundary=${boundary}` },
        {},
      ),
    },
  );
}

function noBodyArbitrary(mode: Mode): fc.Arbitrary<Body> {
  if (mode === 'valid') return fc.constant<Body>({});
  return fc.oneof(
    { weight: mode === 'chaos' ? 12 : 0, arbitrary: fc.constant<Body>({}) },
    { weight: 1, arbitrary: hostile.map((body): Body => ({ payload: toJson(body), contentType: 'application/json' })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Body>(
        { payload: '', contentType: 'application/json' },
        { payload: '{', contentType: 'application/json' },
        { payload: 'x', contentType: 'text/plain' },
      ),
    },
  );
}

const garbageAuthorization = (env: FuzzEnv): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      'Bearer x',
      'bearer x.y.z',
      'Basic dXNlcjpwYXNz',
      'Token abc',
      `Bearer ${'a'.repeat(5000)}`,
      'Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwidmVyIjowfQ.',
      'Bearer e30.e30.e30',
      'Bearer ..',
    ),
    fc.constantFrom(...env.forgedTokens).map((token) => `Bearer ${token}`),
    fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((text) => `Bearer ${text.replace(/[^\x20-\x7e]/g, '')}`),
  );

const EXTRA_HEADERS: Record<string, string>[] = [
  { accept: 'text/html' },
  { accept: 'application/xml' },
  { 'accept-encoding': 'gzip, br' },
  { 'x-request-id': 'x'.repeat(1000) },
  { 'x-request-id': '../../\\"' },
  { 'x-forwarded-for': 'garbage, 999.1.1.1' },
  { origin: 'http://evil.example' },
  { range: 'bytes=0-1' },
  { 'if-none-match': '*' },
  { 'accept-language': 'zz-ZZ;q=2, *' },
];

const ROLES: Caller[] = ['admin', 'admin', 'admin', 'manager', 'agent', 'agent', 'outsider'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

/** The requests of one operation that get `focus` wrong (see Focus). */
function focusedArbitrary(operation: FuzzOperation, env: FuzzEnv, focus: Focus): fc.Arbitrary<FuzzRequest> {
  const names = [...operation.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  const bodyMode = modeOf(focus, 'body');
  const body = operation.multipart
    ? multipartArbitrary(operation, env, bodyMode)
    : operation.jsonBody
      ? jsonBodyArbitrary(operation, env, bodyMode)
      : noBodyArbitrary(bodyMode);
  const callers: Record<Mode, Caller[]> = {
    valid: ROLES,
    hostile: ['none', 'garbage', 'garbage'],
    chaos: [...ROLES, 'none', 'garbage'],
  };
  const methods: Record<Mode, string[]> = {
    valid: [operation.method],
    hostile: METHODS.filter((method) => !operation.pathMethods.includes(method)),
    chaos: [
      ...Array(30).fill(operation.method),
      ...METHODS.filter((method) => !operation.pathMethods.includes(method)),
    ],
  };
  const headers: Record<Mode, Record<string, string>[]> = {
    valid: [{}],
    hostile: EXTRA_HEADERS,
    chaos: [...Array(10).fill({}), ...EXTRA_HEADERS],
  };
  return fc
    .record({
      segments: fc.tuple(...names.map((name) => pathValue(name, env.ids, modeOf(focus, 'path')))),
      query: queryArbitrary(operation, env.ids, modeOf(focus, 'query')),
      body,
      caller: fc.constantFrom(...callers[modeOf(focus, 'caller')]),
      authorization: garbageAuthorization(env),
      method: fc.constantFrom(...methods[modeOf(focus, 'method')]),
      extra: fc.constantFrom(...headers[modeOf(focus, 'headers')]),
    })
    .map(({ segments, query, body: { payload, contentType }, caller, authorization, method, extra }) => {
      let index = 0;
      const path = operation.path.replace(/\{\w+\}/g, () => segments[index++]!);
      return {
        operationId: operation.operationId,
        method,
        url: path + queryString(query),
        caller,
        ...(caller === 'garbage' ? { authorization } : {}),
        headers: { ...extra, ...(contentType ? { 'content-type': contentType } : {}) },
        ...(payload === undefined ? {} : { payload }),
      };
    });
}

/** How often an operation is drawn: twice as often as the rest when it has a body or a cursor to get wrong. */
export function weightOf(operation: FuzzOperation): number {
  const hasCursor = operation.parameters.some((parameter) => parameter.name === 'cursor');
  return hasCursor || operation.jsonBody !== undefined || operation.multipart !== undefined ? 2 : 1;
}

/** Every generated request of one operation: mostly one part wrong at a time, sometimes none or all. */
export function requestArbitrary(operation: FuzzOperation, env: FuzzEnv): fc.Arbitrary<FuzzRequest> {
  const hasPath = operation.path.includes('{');
  const hasQuery = operation.parameters.some((parameter) => parameter.in === 'query');
  const hasCursor = operation.parameters.some((parameter) => parameter.name === 'cursor');
  const hasBody = operation.jsonBody !== undefined || operation.multipart !== undefined;
  const weights: [Focus, number][] = [
    ['valid', 2],
    ['path', hasPath ? 2 : 0],
    ['query', hasCursor ? 6 : hasQuery ? 3 : 1],
    ['body', hasBody ? 5 : 1],
    ['caller', 1],
    ['method', 1],
    ['headers', 1],
    ['chaos', 2],
  ];
  return fc.oneof(
    ...weights
      .filter(([, weight]) => weight > 0)
      .map(([focus, weight]) => ({ weight, arbitrary: focusedArbitrary(operation, env, focus) })),
  );
}
