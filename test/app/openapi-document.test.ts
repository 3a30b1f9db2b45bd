import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSchemaId } from '../../src/modules/events/events.schemas.ts';
import { EVENT_TYPES } from '../../src/modules/outbox/event-types.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { servedDocument } from '../helpers/openapi.ts';

let ctx: TestContext;
let document: Json;
beforeAll(async () => {
  ctx = await buildTestApp();
  document = await servedDocument(ctx.app);
});
afterAll(() => ctx.close());

const NAMED = [
  'User',
  'UserAccess',
  'Company',
  'Lead',
  'LeadDetail',
  'LeadAnswer',
  'LeadTombstone',
  'Activity',
  'Note',
  'Appointment',
  'Source',
  'Campaign',
  'Question',
  'QuestionOption',
  'Cycle',
  'Territory',
  'Invitation',
  'Import',
  'Membership',
  'Subscription',
  'Stage',
  'ApiKey',
  'Webhook',
  'WebhookDelivery',
  'Problem',
  'PageMeta',
  'Event',
  ...EVENT_TYPES.map(eventSchemaId),
];

const operations = () =>
  Object.entries(document.paths as Record<string, Record<string, Json>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
  );

/** The app's body validator's options and formats (plugins/validation.ts), over the document's named schemas. */
function documentAjv() {
  const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
  (addFormats as unknown as (ajv: Ajv) => void)(ajv);
  ajv.addSchema({ components: document.components }, 'doc');
  return ajv;
}
const rooted = (schema: unknown) =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/'));

/** Shapes compared without their annotations: a copy of a named schema may differ only in those. */
const ANNOTATIONS = new Set(['title', 'description', 'examples', 'example', 'default']);
function shape(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(shape).join(',')}]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const keys = Object.keys(value)
    .filter((key) => !ANNOTATIONS.has(key))
    .sort();
  return `{${keys.map((key) => `${key}:${shape((value as Json)[key])}`).join(',')}}`;
}

describe('the OpenAPI document', () => {
  it('has the named schemas of the resources, each with an example where it is an answer', () => {
    const schemas = document.components.schemas as Json;
    expect(NAMED.filter((name) => !schemas[name])).toEqual([]);
    const answers = ['Lead', 'LeadDetail', 'Note', 'Appointment', 'Import', 'ApiKey', 'Webhook', 'WebhookDelivery'];
    expect(answers.filter((name) => !schemas[name].examples?.length)).toEqual([]);
  });

  it('holds no inline copy of a named schema', () => {
    const named = new Map<string, string>();
    for (const [name, schema] of Object.entries(document.components.schemas as Json)) {
      // Small shapes (`{status}`) may well recur by chance; a resource is bigger.
      if (Object.keys((schema as Json).properties ?? {}).length >= 3) named.set(shape(schema), name);
    }
    const copies: string[] = [];
    const walk = (value: unknown, where: string): void => {
      if (Array.isArray(value)) {
        for (const [i, child] of value.entries()) walk(child, `${where}/${i}`);
        return;
      }
      if (typeof value !== 'object' || value === null) return;
      const name = named.get(shape(value));
      if (name) copies.push(`${where}: ${name}`);
      for (const [key, child] of Object.entries(value))
        if (key !== 'examples' && key !== 'example') walk(child, `${where}/${key}`);
    };
    walk(document.paths, '#/paths');
    for (const [name, schema] of Object.entries(document.components.schemas as Json)) {
      for (const [key, child] of Object.entries(schema as Json)) walk(child, `#/components/schemas/${name}/${key}`);
    }
    expect(copies).toEqual([]);
  });

  it('has an example on every request body, which its schema accepts', () => {
    const ajv = documentAjv();
    const problems: string[] = [];
    for (const { name, operation } of operations()) {
      for (const [type, media] of Object.entries((operation.requestBody?.content ?? {}) as Record<string, Json>)) {
        const schema = media.schema.$ref
          ? document.components.schemas[media.schema.$ref.split('/').pop()]
          : (media.schema as Json);
        const examples = media.example !== undefined ? [media.example] : (schema.examples ?? []);
        if (examples.length === 0) problems.push(`${name} ${type}: no example`);
        // A multipart example names the form's fields; its file is a string only there.
        if (type !== 'application/json') continue;
        const validate = ajv.compile(rooted(media.schema));
        for (const example of examples) {
          if (!validate(example)) problems.push(`${name}: ${ajv.errorsText(validate.errors)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('has examples that the very schemas the routes validate with accept (the app body validator)', async () => {
    // The TypeBox schemas themselves, as every module exports them: the objects the routes hand to the validator.
    const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
    (addFormats as unknown as (ajv: Ajv) => void)(ajv);
    const root = join(import.meta.dirname, '../../src/modules');
    const problems: string[] = [];
    let checked = 0;
    for (const module of readdirSync(root)) {
      for (const file of readdirSync(join(root, module)).filter((name) => name.endsWith('.schemas.ts'))) {
        const exported = (await import(join(root, module, file))) as Record<string, unknown>;
        for (const [name, schema] of Object.entries(exported)) {
          const examples = (schema as Json | null)?.examples;
          if (typeof schema !== 'object' || !Array.isArray(examples)) continue;
          const validate = ajv.compile(schema as object);
          for (const example of examples) {
            checked++;
            if (!validate(example)) problems.push(`${module}/${file} ${name}: ${ajv.errorsText(validate.errors)}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it("has named answers' examples that their schema accepts", () => {
    const ajv = documentAjv();
    const problems: string[] = [];
    for (const [name, schema] of Object.entries(document.components.schemas as Json)) {
      for (const example of (schema as Json).examples ?? []) {
        const validate = ajv.compile({ $ref: `doc#/components/schemas/${name}` });
        if (!validate(example)) problems.push(`${name}: ${ajv.errorsText(validate.errors)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('documents every status the shared plugins answer, with the Problem schema', () => {
    const problems: string[] = [];
    for (const { name, operation } of operations()) {
      const statuses = Object.keys(operation.responses);
      const authenticated = operation.security.length > 0;
      const expected = ['500', '503'];
      if (authenticated) expected.push('401', '429');
      if (operation.requestBody) expected.push('400', '413', '415', '422');
      if (name.includes('{')) expected.push('404');
      for (const status of expected) if (!statuses.includes(status)) problems.push(`${name}: no ${status}`);
      for (const status of statuses.filter((s) => /^[45]/.test(s))) {
        const schema = operation.responses[status].content?.['application/problem+json']?.schema;
        if (schema?.$ref !== '#/components/schemas/Problem') problems.push(`${name} ${status}: not a Problem`);
      }
      if (
        authenticated &&
        !operation.responses['200' in operation.responses ? '200' : statuses[0]!].headers?.['RateLimit-Limit']
      ) {
        problems.push(`${name}: no RateLimit headers`);
      }
      for (const [status, answer] of Object.entries(operation.responses as Record<string, Json>)) {
        if (answer.description === 'Default Response') problems.push(`${name} ${status}: no description`);
      }
    }
    expect(problems).toEqual([]);
    expect(document.paths['/readyz'].get.responses['503'].description).toContain('not_ready');
  });

  it('holds the error answers many operations share once, in components.responses', async () => {
    // The raw document, as a client generator reads it (servedDocument writes the shared answers out).
    const raw = (await call(ctx.app, 'GET', '/openapi.json')).body_json;
    const shared = raw.components.responses as Record<string, Json>;
    expect(Object.keys(shared)).toEqual(expect.arrayContaining(['Unauthorized', 'NotFound', 'InternalError']));
    const inline = new Map<string, number>();
    let referred = 0;
    for (const item of Object.values(raw.paths as Record<string, Record<string, Json>>)) {
      for (const operation of Object.values(item)) {
        for (const [status, answer] of Object.entries(operation.responses as Record<string, Json>)) {
          if (answer.$ref) {
            referred++;
            expect(Object.keys(answer)).toEqual(['$ref']);
            expect(shared[answer.$ref.replace('#/components/responses/', '')], answer.$ref).toBeDefined();
          } else if (/^[45]/.test(status)) {
            const key = `${status} ${JSON.stringify(answer)}`;
            inline.set(key, (inline.get(key) ?? 0) + 1);
          }
        }
      }
    }
    expect(referred).toBeGreaterThan(500);
    // An error answer written out inline is one of a kind; two alike would have been shared.
    expect([...inline.values()].filter((count) => count > 1)).toEqual([]);
  });

  it('describes every tag in use', () => {
    const described = new Map((document.tags as Json[]).map((tag) => [tag.name, tag.description]));
    const used = new Set(operations().flatMap(({ operation }) => operation.tags as string[]));
    expect([...used].filter((tag) => !described.get(tag))).toEqual([]);
    expect(used.size).toBe(described.size);
  });

  it('types string enums, the lead sort among them', () => {
    const sort = document.paths['/api/v1/companies/{company_id}/leads'].get.parameters.find(
      (parameter: Json) => parameter.name === 'sort',
    );
    expect(sort.schema).toMatchObject({
      type: 'string',
      enum: ['created_at', '-created_at', 'updated_at', '-updated_at'],
    });
    const activity = document.components.schemas.Activity;
    expect(activity.anyOf.map((branch: Json) => branch.$ref)).toContain('#/components/schemas/ActivityStageChanged');
  });

  it('documents bodies that may be left out as optional, and none where a route takes none', () => {
    expect(document.paths['/api/v1/appointments/feed'].post.requestBody).toBeUndefined();
    expect(document.paths['/api/v1/invitations/{code}/accept'].post.requestBody.required).toBe(false);
  });
});
