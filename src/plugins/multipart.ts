import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { AppError } from '../lib/errors.ts';

const malformed = () => new AppError(400, 'bad_request', 'Bad Request', 'The multipart body could not be parsed.');

/** Busboy's parse errors carry no status: a broken body is the client's fault, never a 500. */
export function multipartClientError(error: unknown, tooLarge: () => AppError): unknown {
  const { code, statusCode } = error as { code?: string; statusCode?: number };
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge();
  if (error instanceof AppError || typeof statusCode === 'number') return error;
  return malformed();
}

/**
 * For upload routes: the multipart body is read by the handler as a stream, after the route's policy and the
 * service's own checks, so an unauthorized caller never gets to upload. The body schema only documents it; params
 * and query are validated as on every route.
 */
export function streamedBody(app: FastifyInstance): FastifySchemaCompiler<unknown> {
  return (route) => {
    if (route.httpPart === 'body') return () => true;
    const compile = app.validatorCompiler;
    if (!compile) throw new Error('upload routes need the app-wide validator compiler');
    return compile(route);
  };
}
