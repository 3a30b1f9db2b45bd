import { type TSchema, Type } from 'typebox';

/** A company's path parameter: every company route's, whatever module it lives in. */
export const CompanyParams = Type.Object({ company_id: Type.Integer({ minimum: 1 }) });

/** A value of `schema`, or null. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** The body of a POST that takes none: nothing or `{}` (use with `optionalBody`). */
export const EmptyBody = Type.Object(
  {},
  { additionalProperties: false, description: 'Optional; send nothing or `{}`.' },
);

/** A route's preValidation for an optional body: a bodyless POST validates as `{}`. */
export const optionalBody = async (request: { body: unknown }) => {
  request.body ??= {};
};
