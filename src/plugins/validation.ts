import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { AppError, fieldError, invalid } from '../lib/errors.ts';
import { INPUT_LIMITS, jsonOverLimit, schemaValueBound } from '../lib/input-limits.ts';
import { nulPaths } from '../lib/text.ts';

/**
 * Two validators: path and query values arrive as strings and are coerced to their declared types; JSON bodies
 * are validated as sent (a number where a string belongs is a 422, not silently "42"). Both report every error
 * (`allErrors`; the problem keeps the first 50) and reject unknown properties instead of dropping them: every
 * route's query string is closed (see closeQuery). `verbose` lets a union name its own error (`x-error`).
 * A JSON body is bounded in depth and size before it is parsed (see registerJsonParser).
 */
export function registerValidation(app: FastifyInstance): void {
  const base: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false, verbose: true };
  const make = (coerceTypes: Options['coerceTypes']) => {
    const ajv = new Ajv({ ...base, coerceTypes });
    (addFormats as unknown as (ajv: Ajv) => void)(ajv);
    return ajv;
  };
  const strict = make(false);
  const coercing = make('array');
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema as object),
  );
  app.addHook('onRoute', closeQuery);
  registerJsonParser(app);
  // A NUL cannot be stored (see lib/text.ts): refused here, with its field, rather than failing a query later.
  app.addHook('preValidation', async (request) => {
    const fields = [...nulPaths(request.query), ...nulPaths(request.body)];
    if (fields.length > 0) {
      throw invalid(
        fields.map((field) => fieldError(field || 'body', 'invalid_character', 'contains a NUL character')),
      );
    }
  });
}

type QuerySchema = { type?: string; properties?: object; additionalProperties?: unknown };

/**
 * Query strings are validated like bodies: an unknown parameter (`?stageid=3` for `stage_id`) is a 422 naming it,
 * never silently ignored. So every route of ours gets a closed query schema: its own, with
 * `additionalProperties: false` unless it says otherwise (which is refused), or an empty one. The docs UI's own
 * routes (no policy) are left as they are.
 */
function closeQuery(route: RouteOptions): void {
  if (route.config?.policy === undefined) return;
  const query = route.schema?.querystring as QuerySchema | undefined;
  if (query !== undefined && query.additionalProperties !== undefined && query.additionalProperties !== false) {
    throw new Error(`Route ${route.method} ${route.url}: its query string must not accept unknown parameters`);
  }
  const closed = { ...(query ?? { type: 'object', properties: {} }), additionalProperties: false };
  route.schema = { ...route.schema, querystring: closed };
}

// Computed once per body schema: the walk is over our own schemas, never over request data.
const valueBounds = new WeakMap<object, number>();

/** INPUT_LIMITS.jsonValues, or what the route's body schema allows when that is more (a bounded bulk body). */
function valuesAllowed(request: FastifyRequest): number {
  const schema = request.routeOptions.schema?.body;
  if (typeof schema !== 'object' || schema === null) return INPUT_LIMITS.jsonValues;
  let bound = valueBounds.get(schema);
  if (bound === undefined) {
    bound = schemaValueBound(schema);
    valueBounds.set(schema, bound);
  }
  return Number.isFinite(bound) && bound > INPUT_LIMITS.jsonValues ? bound : INPUT_LIMITS.jsonValues;
}

/**
 * Fastify's own JSON parser (secure-json-parse: `__proto__` and `constructor` keys refused), behind a scan of the
 * raw text that refuses a body nested deeper than INPUT_LIMITS.jsonDepth or holding more values than allowed, so
 * neither the parser, the schema validation nor any walk of the body ever does unbounded work.
 */
function registerJsonParser(app: FastifyInstance): void {
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig;
  const parse = app.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, raw, done) => {
    const body = raw as string;
    const values = valuesAllowed(request);
    const over = jsonOverLimit(body, { depth: INPUT_LIMITS.jsonDepth, values });
    if (over === 'depth') {
      const detail = `The JSON body is nested deeper than ${INPUT_LIMITS.jsonDepth} levels.`;
      return done(new AppError(400, 'body_too_deep', 'Bad Request', detail), undefined);
    }
    if (over === 'values') {
      const detail = `The JSON body holds more than ${values} keys and array elements.`;
      return done(new AppError(400, 'body_too_many_values', 'Bad Request', detail), undefined);
    }
    parse(request, body, done);
  });
}
