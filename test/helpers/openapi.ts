import type { App } from '../../src/app.ts';
import { call, type Json } from './app.ts';

const SHARED = '#/components/responses/';

/**
 * The served OpenAPI document, with each shared answer (components.responses, see src/plugins/docs-shared.ts)
 * written out where an operation refers to it: tests read an operation's answers as a client resolves them.
 */
export async function servedDocument(app: App): Promise<Json> {
  const document = (await call(app, 'GET', '/openapi.json')).body_json as Json;
  const shared = (document.components?.responses ?? {}) as Record<string, Json>;
  for (const item of Object.values(document.paths as Record<string, Record<string, Json>>)) {
    for (const operation of Object.values(item)) {
      for (const [status, answer] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
        if (typeof answer.$ref === 'string' && answer.$ref.startsWith(SHARED)) {
          operation.responses[status] = structuredClone(shared[answer.$ref.slice(SHARED.length)]);
        }
      }
    }
  }
  return document;
}
