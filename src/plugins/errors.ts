import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldError } from '../lib/errors.ts';

export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  errors?: FieldError[];
};

type AjvError = {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
};

/** `/answers/0/value` → `answers.0.value`; the missing or unknown property is appended where ajv names it. */
function toFieldError(error: AjvError, context: string | undefined): FieldError {
  const path = error.instancePath.split('/').filter(Boolean);
  let code = error.keyword;
  if (error.keyword === 'required') {
    path.push(String(error.params.missingProperty));
    code = 'required';
  } else if (error.keyword === 'additionalProperties') {
    path.push(String(error.params.additionalProperty));
    code = 'unknown_field';
  }
  const field = path.join('.') || (context === 'body' ? 'body' : (context ?? 'request'));
  const message = code === 'unknown_field' ? 'is not a known field' : (error.message ?? 'is invalid');
  return { field, code, message };
}

/**
 * ajv reports a failed union once per branch plus once for the union itself, and a string can fail several
 * keywords: the client gets one entry per field, the union's own when there is one.
 */
function onePerField(errors: AjvError[], context: string | undefined): FieldError[] {
  const byField = new Map<string, FieldError>();
  for (const error of errors) {
    const fieldError = toFieldError(error, context);
    const union = error.keyword === 'anyOf' || error.keyword === 'oneOf';
    if (!byField.has(fieldError.field) || union) {
      byField.set(
        fieldError.field,
        union ? { ...fieldError, code: 'invalid', message: 'is not an allowed value' } : fieldError,
      );
    }
  }
  return [...byField.values()];
}

type PgError = { code?: string; constraint?: string; column?: string };

function findPgError(error: unknown): PgError | undefined {
  for (let current = error as { cause?: unknown } | undefined, depth = 0; current && depth < 4; depth++) {
    const code = (current as PgError).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return current as PgError;
    current = current.cause as { cause?: unknown } | undefined;
  }
  return undefined;
}

/** `users_email_unique` → `email`: constraint names carry the column they guard. */
function constraintField(constraint: string | undefined): string {
  const match = /^[a-z]+(?:_[a-z]+)*?_([a-zA-Z]+(?:_[a-z]+)*)_(?:unique|fkey|fk|check)$/.exec(constraint ?? '');
  return (match?.[1] ?? 'body').replace(/([A-Z])/g, '_$1').toLowerCase();
}

/** Database constraint violations are bad input, never a 500. Mapped once, here. */
function fromDatabase(error: PgError): AppError | undefined {
  switch (error.code) {
    case '23505':
      return new AppError(409, 'already_exists', 'Conflict', 'A resource with these values already exists.', [
        { field: constraintField(error.constraint), code: 'taken', message: 'is already taken' },
      ]);
    case '23P01':
      return new AppError(409, 'conflict', 'Conflict', 'The change conflicts with an existing resource.');
    case '23503':
      return new AppError(422, 'invalid_reference', 'Unprocessable Content', 'A referenced resource does not exist.', [
        { field: constraintField(error.constraint), code: 'invalid_reference', message: 'does not exist' },
      ]);
    case '23502':
    case '23514':
    case '22P02':
    case '22003':
    case '22007':
    case '22008':
    case '22001':
    case '22021':
    case '22P05':
      return new AppError(422, 'validation_failed', 'Unprocessable Content', 'The request has an invalid value.');
    default:
      return undefined;
  }
}

function fromFastify(error: FastifyError): AppError | undefined {
  if (error.validation) {
    const errors = onePerField(error.validation as AjvError[], error.validationContext);
    return new AppError(422, 'validation_failed', 'Unprocessable Content', 'The request has invalid fields.', errors);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const codes: Record<number, string> = { 413: 'payload_too_large', 415: 'unsupported_media_type' };
    const detail = status === 400 ? 'The request body could not be parsed.' : error.message;
    return new AppError(status, codes[status] ?? 'bad_request', STATUS_CODES[status] ?? 'Bad Request', detail);
  }
  return undefined;
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  const problem: Problem = {
    type: 'about:blank',
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    request_id: String(request.id),
    ...(error.errors ? { errors: error.errors } : {}),
  };
  if (error.headers) reply.headers(error.headers);
  // Sent as a string: problem bodies bypass the route's success serializers.
  return reply.code(error.status).type('application/problem+json').send(JSON.stringify(problem));
}

/** RFC 9457 problem+json for every failure, unknown routes included. 5xx bodies say nothing; the log has it all. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const pg = error instanceof AppError ? undefined : findPgError(error);
    const known =
      error instanceof AppError ? error : ((pg && fromDatabase(pg)) ?? (pg ? undefined : fromFastify(error)));
    if (known) {
      if (known.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, request, known);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendProblem(
      reply,
      request,
      new AppError(500, 'internal_error', 'Internal Server Error', 'An unexpected error occurred.'),
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      request,
      new AppError(404, 'route_not_found', 'Not Found', `No route ${request.method} ${request.url.split('?')[0]}.`),
    ),
  );
}
