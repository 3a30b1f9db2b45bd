import { type TSchema, Type } from 'typebox';

/** A value of `schema`, or null. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
