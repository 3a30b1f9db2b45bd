import { stdSerializers } from 'pino';

/**
 * Errors as every log line carries them — the API's (plugins/logging.ts) and the worker's and command line's
 * (lib/console-logger.ts) — without the values some errors hold: a query's parameters, a row's values, recipients.
 */
export const REDACTED = '[redacted]';

// Properties errors carry with values in them: drizzle's bound `params`, PostgreSQL's `detail`
// (`Key (email)=(ann@example.com) already exists`), nodemailer's recipients and the SMTP server's answer.
const VALUE_BEARING_ERROR_KEYS = ['params', 'detail', 'envelope', 'accepted', 'rejected', 'rejectedErrors', 'response'];
// drizzle writes the bound parameters into its message, so into the stack: cut from `params:` to the frames.
const QUERY_PARAMS = /\nparams: [\s\S]*?(?=\n {4}at |$)/g;
// An SMTP refusal names the recipient in its message.
const EMAIL = /[^\s<>()[\]@"',;:]+@[^\s<>()[\]@"',;:]+\.[^\s<>()[\]@"',;:]+/g;

const scrub = (text: string) => text.replace(QUERY_PARAMS, `\nparams: ${REDACTED}`).replace(EMAIL, REDACTED);

/** The messages of the error's causes, as pino would append them (`: cause: its cause`). */
function causeMessages(error: Error): string {
  const messages: string[] = [];
  for (let cause = error.cause, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    messages.push(cause.message);
  }
  return messages.map((message) => `: ${message}`).join('');
}

type SerializedError = { [key: string]: unknown; type: string; message: string; stack: string };

/** pino's error serializer (type, message and stack with their causes, own fields), minus the values above. */
export function serializeError(error: Error): SerializedError {
  const serialized = stdSerializers.err(error) as SerializedError;
  if (!serialized || typeof serialized !== 'object') return serialized;
  for (const key of VALUE_BEARING_ERROR_KEYS) {
    if (key in serialized) serialized[key] = REDACTED;
  }
  const query = (error as { query?: unknown }).query;
  // A failed query's message is rebuilt from its SQL (placeholders only) and its causes, without the values.
  const message =
    typeof query === 'string' && 'params' in error ? `Failed query: ${query}${causeMessages(error)}` : null;
  if (typeof serialized.message === 'string') serialized.message = scrub(message ?? serialized.message);
  if (typeof serialized.stack === 'string') serialized.stack = scrub(serialized.stack);
  return serialized;
}
