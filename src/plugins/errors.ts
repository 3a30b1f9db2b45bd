import { randomUUID } from 'node:crypto';
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type DatabaseError, databaseError, isDatabaseUnavailable, isTransactionCollision } from '../db/faults.ts';
import { AppError, type ErrorCode, type FieldError } from '../lib/errors.ts';
import { INPUT_LIMITS } from '../lib/input-limits.ts';

export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id: string;
  errors?: FieldError[];
  /** Present (true) when `errors` holds only the first INPUT_LIMITS.problemErrors entries. */
  errors_truncated?: true;
};

type AjvError = {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  /** With ajv's `verbose`: the schema holding the keyword, for its `x-error` (see onePerField). */
  parentSchema?: { 'x-error'?: FieldError };
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
 * keywords: the client gets one entry per field, the union's own when there is one. A union whose schema names
 * its own error (`x-error`, e.g. "an email or a phone") is reported as that one entry, its branches dropped.
 */
function onePerField(errors: AjvError[], context: string | undefined): FieldError[] {
  const byField = new Map<string, FieldError>();
  const named = errors.filter((error) => isUnion(error) && error.parentSchema?.['x-error']);
  const inNamed = (error: AjvError) => named.some((union) => error.schemaPath.startsWith(`${union.schemaPath}/`));
  for (const error of errors) {
    const own = isUnion(error) ? error.parentSchema?.['x-error'] : undefined;
    if (own) {
      const prefix = error.instancePath.split('/').filter(Boolean);
      const field = [...prefix, own.field].join('.');
      byField.set(field, { ...own, field });
      continue;
    }
    if (inNamed(error)) continue;
    const fieldError = toFieldError(error, context);
    const union = isUnion(error);
    if (!byField.has(fieldError.field) || union) {
      byField.set(
        fieldError.field,
        union ? { ...fieldError, code: 'invalid', message: 'is not an allowed value' } : fieldError,
      );
    }
  }
  // Unknown fields last: when the list is cut (toProblem), missing and invalid fields are what it keeps.
  const entries = [...byField.values()];
  return [...entries.filter((e) => e.code !== 'unknown_field'), ...entries.filter((e) => e.code === 'unknown_field')];
}

const isUnion = (error: AjvError) => error.keyword === 'anyOf' || error.keyword === 'oneOf';

/** `users_email_unique` → `email`: constraint names carry the column they guard. */
function constraintField(constraint: string | undefined): string {
  const match = /^[a-z]+(?:_[a-z]+)*?_([a-zA-Z]+(?:_[a-z]+)*)_(?:unique|fkey|fk|check)$/.exec(constraint ?? '');
  return (match?.[1] ?? 'body').replace(/([A-Z])/g, '_$1').toLowerCase();
}

/**
 * Constraints whose violation has an answer of its own, by name: what the services that rely on them would answer
 * had they checked first (and do answer when they do). Consulted before the generic mapping below.
 */
const CONSTRAINT_ERRORS: Record<string, () => AppError> = {
  // Two sign-ups racing for one address: the unique index decides (users.service checks first).
  users_email_unique: () =>
    new AppError(409, 'email_taken', 'Conflict', 'An account with this email already exists.', [
      { field: 'email', code: 'taken', message: 'is already registered' },
    ]),
  // The cycles lock makes these two unreachable; mapped anyway, so that no race can ever answer 500.
  cycles_one_per_source: () =>
    new AppError(409, 'source_has_cycle', 'Conflict', 'Another cycle of the company is bound to this source.', [
      { field: 'source_id', code: 'taken', message: 'already has a cycle' },
    ]),
  cycles_one_default: () =>
    new AppError(409, 'default_cycle_changed', 'Conflict', 'Another cycle became the default at the same time; retry.'),
  leads_company_external_id_unique: () =>
    new AppError(409, 'external_id_taken', 'Conflict', 'Another lead of this company has this external_id.', [
      { field: 'external_id', code: 'taken', message: 'is already used by another lead' },
    ]),
  // The exclusion constraint is the real guard against double booking: it holds under any concurrency.
  appointments_no_overlap: () =>
    new AppError(
      422,
      'appointment_overlap',
      'Unprocessable Content',
      'The agent already has a scheduled appointment at this time.',
      [
        {
          field: 'starts_at',
          code: 'appointment_overlap',
          message: 'The agent already has a scheduled appointment at this time.',
        },
      ],
    ),
};

/**
 * Database constraint violations are bad input, never a 500. Mapped once, here. Any data exception (SQLSTATE
 * class 22: a value out of range, a bad date, a NUL, …) is a 422 too: input is checked before it gets there, so
 * this is the last line of defence, not the way values are validated.
 */
function fromDatabase(error: DatabaseError): AppError | undefined {
  const constraint = error.constraint;
  if (error.code?.startsWith('23') && constraint !== undefined && Object.hasOwn(CONSTRAINT_ERRORS, constraint)) {
    return CONSTRAINT_ERRORS[constraint]!();
  }
  if (error.code?.startsWith('22')) {
    return new AppError(422, 'validation_failed', 'Unprocessable Content', 'The request has an invalid value.');
  }
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
      return new AppError(422, 'validation_failed', 'Unprocessable Content', 'The request has an invalid value.');
    default:
      return undefined;
  }
}

/**
 * The database, not the request: unreachable, restarting, out of connections, or a collision that outlived its
 * retries (src/db/client.ts). 503 with Retry-After, so clients and load balancers come back instead of giving up.
 */
function fromDatabaseState(error: unknown): AppError | undefined {
  if (isDatabaseUnavailable(error)) {
    return new AppError(
      503,
      'database_unavailable',
      'Service Unavailable',
      'The database is unavailable; retry shortly.',
      undefined,
      { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
    );
  }
  if (isTransactionCollision(error)) {
    return new AppError(
      503,
      'transaction_conflict',
      'Service Unavailable',
      'The change collided with concurrent changes; retry it.',
      undefined,
      { 'retry-after': '1' },
    );
  }
  return undefined;
}

const DATABASE_RETRY_AFTER_SECONDS = 2;

function fromFastify(error: FastifyError): AppError | undefined {
  if (error.validation) {
    const errors = onePerField(error.validation as AjvError[], error.validationContext);
    return new AppError(422, 'validation_failed', 'Unprocessable Content', 'The request has invalid fields.', errors);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const codes: Record<number, ErrorCode> = { 413: 'payload_too_large', 415: 'unsupported_media_type' };
    const detail = status === 400 ? 'The request body could not be parsed.' : error.message;
    return new AppError(status, codes[status] ?? 'bad_request', STATUS_CODES[status] ?? 'Bad Request', detail);
  }
  return undefined;
}

/** The problem document of `error`; its `errors` cut to the first INPUT_LIMITS.problemErrors. */
export function toProblem(error: AppError, requestId: string): Problem {
  const errors = error.errors;
  const cut = errors !== undefined && errors.length > INPUT_LIMITS.problemErrors;
  return {
    type: 'about:blank',
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    request_id: requestId,
    ...(errors ? { errors: cut ? errors.slice(0, INPUT_LIMITS.problemErrors) : errors } : {}),
    ...(cut ? { errors_truncated: true as const } : {}),
  };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  // Sent as a string: problem bodies bypass the route's success serializers.
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send(JSON.stringify(toProblem(error, String(request.id))));
}

/** RFC 9457 problem+json for every failure, unknown routes included. 5xx bodies say nothing; the log has it all. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const pg = error instanceof AppError ? undefined : databaseError(error);
    const known =
      error instanceof AppError
        ? error
        : (fromDatabaseState(error) ?? (pg && fromDatabase(pg)) ?? (pg ? undefined : fromFastify(error)));
    if (known) {
      // A database outage is logged once per request at warn: it is the operator's to see, not a bug.
      if (known.status === 503) request.log.warn({ err: error }, 'request failed: database unavailable');
      else if (known.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, request, known);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendProblem(
      reply,
      request,
      new AppError(500, 'internal_error', 'Internal Server Error', 'An unexpected error occurred.'),
    );
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = allowedMethods(app, path);
    if (allowed.length > 0) {
      const detail = `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}.`;
      const notAllowed = new AppError(405, 'method_not_allowed', 'Method Not Allowed', detail, undefined, {
        allow: allowed.join(', '),
      });
      return sendProblem(reply, request, notAllowed);
    }
    return sendProblem(
      reply,
      request,
      new AppError(404, 'route_not_found', 'Not Found', `No route ${request.method} ${path}.`),
    );
  });
  // Node's socket idle timeout (connectionTimeout): with a listener here Node no longer closes the socket itself.
  app.server.on('timeout', (socket: Socket) => {
    const response = inFlight(socket);
    // A request still arriving gets the 408 REQUEST_TIMEOUT_MS promises; an idle or answering socket just closes.
    if (response && !response.req.complete) writeProblem(socket, CLIENT_ERRORS.ERR_HTTP_REQUEST_TIMEOUT);
    socket.destroy();
  });
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The methods of the routes matching `path`; the catch-all CORS preflight (`OPTIONS *`) does not count. */
function allowedMethods(app: FastifyInstance, path: string): string[] {
  return METHODS.filter((method) => {
    const found = app.findRoute({ method, url: path });
    return found !== null && !('*' in (found.params as Record<string, string>));
  });
}

type RawProblem = { status: number; code: ErrorCode; detail: string };

const CLIENT_ERRORS = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', detail: 'The request was not received in time.' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', detail: 'The request headers are too large.' },
} satisfies Record<string, RawProblem>;

const inFlight = (socket: Socket) => (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;

/**
 * A problem written straight to a socket, for errors Node's HTTP server raises before (or instead of) a request
 * Fastify handles: only while nothing of an answer has been sent, then the connection closes.
 */
function writeProblem(socket: Socket, { status, code, detail }: RawProblem): void {
  if (!socket.writable || inFlight(socket)?.headersSent) return;
  const requestId = randomUUID();
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const body = JSON.stringify(toProblem(new AppError(status, code, title, detail), requestId));
  socket.write(
    `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nx-request-id: ${requestId}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser errors (malformed requests, headers over the size limit) and
 * its request timeout (REQUEST_TIMEOUT_MS, body included) as problem+json instead of Node's plain answers.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[error.code as keyof typeof CLIENT_ERRORS];
  writeProblem(socket, known ?? { status: 400, code: 'bad_request', detail: 'The request could not be parsed.' });
  socket.destroy(error);
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route (a path parameter over `maxParamLength`,
 * a URL that does not decode). Route hooks have not run, so the headers they would set are set here.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id).header('cache-control', 'no-store');
  const known =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError(414, 'uri_too_long', 'URI Too Long', 'A path segment is longer than 256 characters.')
      : error.code === 'FST_ERR_BAD_URL'
        ? new AppError(400, 'bad_url', 'Bad Request', 'The URL could not be decoded.')
        : undefined;
  if (!known) request.log.error({ err: error }, 'router error');
  sendProblem(
    reply,
    request,
    known ?? new AppError(500, 'internal_error', 'Internal Server Error', 'An unexpected error occurred.'),
  );
}
