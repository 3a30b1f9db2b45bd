import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Static, TSchema } from 'typebox';
import { ProblemSchema } from '../../src/plugins/docs.ts';
import type { Response } from './app.ts';

const ajv = new Ajv({ allErrors: true, strict: false });
(addFormats as unknown as (ajv: Ajv) => void)(ajv);
const compiled = new WeakMap<TSchema, ValidateFunction>();

/**
 * A response body typed by its route's response schema — the TypeBox schema the route declares, imported from the
 * module's `*.schemas.ts` — and checked against it at run time: a test reads only what the contract promises, and an
 * answer with a missing field or a wrong type fails here, naming them (the app serializes answers without checking
 * them). Throws, with the body, when the status is not the one expected.
 */
export function answer<S extends TSchema>(response: Response, status: number, schema: S): Static<S> {
  if (response.statusCode !== status) {
    throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`);
  }
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (!validate(response.body_json)) {
    throw new Error(`the ${status} answer does not match its schema: ${ajv.errorsText(validate.errors)}`);
  }
  return response.body_json as Static<S>;
}

/** A problem+json answer (RFC 9457), typed and checked like `answer`. */
export const problem = (response: Response, status: number) => answer(response, status, ProblemSchema);
