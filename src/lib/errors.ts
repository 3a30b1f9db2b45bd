/**
 * The one error vocabulary. Services throw these; src/plugins/errors.ts turns every error into RFC 9457
 * problem+json. Anything that is not an AppError is unexpected and answers a generic 500.
 */
export type FieldError = { field: string; code: string; message: string };

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail?: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? title);
  }
}

export const unauthorized = (detail = 'A valid bearer token is required.') =>
  new AppError(401, 'unauthorized', 'Unauthorized', detail, undefined, { 'www-authenticate': 'Bearer' });

export const forbidden = (detail = 'You are not allowed to do this.') =>
  new AppError(403, 'forbidden', 'Forbidden', detail);

/** Also the answer for resources of other tenants: their ids must not be probeable. */
export const notFound = (what = 'Resource') => new AppError(404, 'not_found', 'Not Found', `${what} not found.`);

export const conflict = (code: string, detail: string) => new AppError(409, code, 'Conflict', detail);

export const invalid = (errors: FieldError[], detail = 'The request has invalid fields.') =>
  new AppError(422, 'validation_failed', 'Unprocessable Content', detail, errors);

/** A business rule refused a well-formed request (last admin, plan limit, …). */
export const unprocessable = (code: string, detail: string, field?: string) =>
  new AppError(422, code, 'Unprocessable Content', detail, field ? [{ field, code, message: detail }] : undefined);

/** A budget of the caller's ran out (verification mails, invitations); `retryAfterSeconds` says when to come back. */
export const tooManyRequests = (code: string, detail: string, retryAfterSeconds: number) =>
  new AppError(429, code, 'Too Many Requests', detail, undefined, {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  });

export const fieldError = (field: string, code: string, message: string): FieldError => ({ field, code, message });

/** Throws one 422 listing every collected field error, if there is any. */
export function assertValid(errors: FieldError[]): void {
  if (errors.length > 0) throw invalid(errors);
}
