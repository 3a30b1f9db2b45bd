import Fastify from 'fastify';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { registerDocs } from '../../src/plugins/docs.ts';
import { hoistTitledSchemas } from '../../src/plugins/docs-schemas.ts';

const config = loadConfig({ PUBLIC_URL: 'http://leadsy.test', LOG_LEVEL: 'silent', WORKER: 'off' });

/** A bare Fastify with the docs plugin and the given routes: what the plugin does, without the whole app. */
async function documentOf(routes: { url: string; schema: Record<string, unknown> }[]) {
  const app = Fastify();
  await registerDocs(app, config);
  for (const { url, schema } of routes) {
    app.post(url, { schema: { operationId: url.slice(1), ...schema }, config: { policy: 'public' } }, async () => ({}));
  }
  await app.ready();
  const document = app.swagger() as Record<string, any>;
  await app.close();
  return document;
}

const Stage = Type.Object({ id: Type.Integer(), kind: Type.Enum(['open', 'won']) }, { title: 'Stage' });
const Lead = Type.Object({ id: Type.Integer(), stage: Stage }, { title: 'Lead', examples: [{ id: 1 }] });

describe('named schemas in the OpenAPI document', () => {
  it('holds a titled schema once in components and refers to it wherever it is used, nested ones too', async () => {
    const document = await documentOf([
      { url: '/a', schema: { body: Lead, response: { 200: Lead } } },
      { url: '/b', schema: { response: { 200: Type.Object({ data: Type.Array(Lead) }) } } },
    ]);
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    expect(document.components.schemas.Lead).toMatchObject({
      title: 'Lead',
      properties: { stage: ref('Stage') },
      examples: [{ id: 1 }],
    });
    expect(document.components.schemas.Stage.properties.kind).toEqual({ type: 'string', enum: ['open', 'won'] });
    expect(document.paths['/a'].post.requestBody.content['application/json'].schema).toEqual(ref('Lead'));
    expect(document.paths['/a'].post.responses['200'].content['application/json'].schema).toEqual(ref('Lead'));
    expect(document.paths['/b'].post.responses['200'].content['application/json'].schema.properties.data.items).toEqual(
      ref('Lead'),
    );
    expect(JSON.stringify(document.paths)).not.toContain('"title":"Lead"');
  });

  it('fails the start when one title names two different shapes, naming the title', async () => {
    const Other = Type.Object({ id: Type.String() }, { title: 'Lead' });
    await expect(
      documentOf([
        { url: '/a', schema: { response: { 200: Lead } } },
        { url: '/b', schema: { response: { 200: Other } } },
      ]),
    ).rejects.toThrow(/"Lead"/);
  });

  it('tells a property named title from a schema title, and leaves examples alone', () => {
    const Question = {
      type: 'object',
      title: 'Question',
      properties: { title: { type: 'string' } },
      examples: [{ title: 'Budget?' }],
    };
    const document = hoistTitledSchemas({
      paths: { '/q': { get: { responses: { 200: { content: { 'application/json': { schema: Question } } } } } } },
      components: { schemas: { Wrapper: { type: 'object', properties: { q: Question } } } },
    }) as Record<string, any>;
    expect(document.components.schemas.Question).toEqual(Question);
    expect(document.components.schemas.Wrapper.properties.q).toEqual({ $ref: '#/components/schemas/Question' });
  });

  it('throws when a titled schema differs from a component of that name', () => {
    expect(() =>
      hoistTitledSchemas({
        paths: {},
        components: {
          schemas: { Problem: { type: 'object' }, Other: { properties: { p: { title: 'Problem', type: 'string' } } } },
        },
      }),
    ).toThrow(/"Problem"/);
  });
});
