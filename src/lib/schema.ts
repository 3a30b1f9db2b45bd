import { type TSchema, Type } from 'typebox';
import { fieldError, invalid } from './errors.ts';

/** A company's path parameter: every company route's, whatever module it lives in. */
export const CompanyParams = Type.Object({ company_id: Type.Integer({ minimum: 1 }) });

/** A value of `schema`, or null. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** The body of a POST that takes none: nothing or `{}` (use with `optionalBody`). */
export const EmptyBody = Type.Object(
  {},
  { additionalProperties: false, description: 'Optional; send nothing or `{}`.', examples: [{}] },
);

/** A route's preValidation for an optional body: a bodyless POST validates as `{}`. */
export const optionalBody = async (request: { body: unknown }) => {
  request.body ??= {};
};

/**
 * A route's preValidation where the route takes no body (the document shows none): nothing, `null` or `{}` pass, as
 * clients that always send JSON send them; anything else is a 422, as an unknown field of a body is.
 */
export const noBody = async (request: { body: unknown }) => {
  const { body } = request;
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) return;
  throw invalid([fieldError('body', 'unexpected', 'this route takes no body')]);
};
