/**
 * The one error vocabulary. Services throw these; src/plugins/errors.ts turns every error into RFC 9457
 * problem+json. Anything that is not an AppError is unexpected and answers a generic 500.
 */
export type FieldError = { field: string; code: string; message: string };

/**
 * Every problem `code` the API answers: clients branch on these, so they are a closed list (the OpenAPI document
 * names them too). A new one is added here first.
 */
export const ERROR_CODES = [
  // Requests the transport or the router refuses.
  'bad_request',
  'bad_url',
  'body_too_deep',
  'body_too_many_values',
  'headers_too_large',
  'method_not_allowed',
  'payload_too_large',
  'request_timeout',
  'route_not_found',
  'unsupported_media_type',
  'uri_too_long',
  // Who is asking.
  'unauthorized',
  'forbidden',
  'inherited_admin',
  'api_key_not_allowed',
  'account_inactive',
  'invalid_credentials',
  'invalid_token',
  'email_not_verified',
  'oidc_not_configured',
  'oidc_unavailable',
  // What was asked.
  'not_found',
  'validation_failed',
  'invalid_cursor',
  'invalid_reference',
  'invalid_image',
  'invalid_invitation',
  'invalid_id_token',
  'image_too_large',
  'legal_term_superseded',
  'contact_required',
  'no_assignee',
  'mismatch',
  // Conflicts with what exists.
  'conflict',
  'already_exists',
  'already_assigned',
  'already_member',
  'already_verified',
  'email_taken',
  'external_id_taken',
  'source_name_taken',
  'source_has_cycle',
  'default_cycle_changed',
  'appointment_overlap',
  'appointment_canceled',
  'import_finished',
  'webhook_disabled',
  'last_admin',
  'precondition_failed',
  'idempotency_key_in_use',
  'idempotency_key_reused',
  // Limits.
  'plan_limit_reached',
  'membership_unavailable',
  'payment_required',
  'too_many_cycles',
  'too_many_feeds',
  'too_many_questions',
  'too_many_sources',
  'too_many_webhooks',
  'rate_limited',
  'verification_budget',
  'invitation_budget',
  // The service's state.
  'database_unavailable',
  'transaction_conflict',
  'shutting_down',
  'not_ready',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
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

export const conflict = (code: ErrorCode, detail: string) => new AppError(409, code, 'Conflict', detail);

/** 412: an If-Match (or other precondition) does not hold; nothing was changed. */
export const preconditionFailed = (detail: string) =>
  new AppError(412, 'precondition_failed', 'Precondition Failed', detail);

export const invalid = (errors: FieldError[], detail = 'The request has invalid fields.') =>
  new AppError(422, 'validation_failed', 'Unprocessable Content', detail, errors);

/** A business rule refused a well-formed request (last admin, plan limit, …). */
export const unprocessable = (code: ErrorCode, detail: string, field?: string) =>
  new AppError(422, code, 'Unprocessable Content', detail, field ? [{ field, code, message: detail }] : undefined);

/** A budget of the caller's ran out (verification mails, invitations); `retryAfterSeconds` says when to come back. */
export const tooManyRequests = (code: ErrorCode, detail: string, retryAfterSeconds: number) =>
  new AppError(429, code, 'Too Many Requests', detail, undefined, {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  });

export const payloadTooLarge = (detail: string) => new AppError(413, 'payload_too_large', 'Payload Too Large', detail);

export const unsupportedMediaType = (detail: string) =>
  new AppError(415, 'unsupported_media_type', 'Unsupported Media Type', detail);

export const fieldError = (field: string, code: string, message: string): FieldError => ({ field, code, message });

/** Throws one 422 listing every collected field error, if there is any. */
export function assertValid(errors: FieldError[]): void {
  if (errors.length > 0) throw invalid(errors);
}
