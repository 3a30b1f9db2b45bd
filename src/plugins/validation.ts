import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { fieldError, invalid } from '../lib/errors.ts';
import { nulPaths } from '../lib/text.ts';

/**
 * Two validators: path and query values arrive as strings and are coerced to their declared types; JSON bodies
 * are validated as sent (a number where a string belongs is a 422, not silently "42"). Both report every error
 * (`allErrors`) and reject unknown properties instead of dropping them.
 */
export function registerValidation(app: FastifyInstance): void {
  const base: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false };
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
