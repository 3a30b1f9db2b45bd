import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, FastifyServerOptions, RouteOptions } from 'fastify';
import { REDACTED, serializeError } from '../lib/log-errors.ts';

/**
 * What the logs may say about a request. Paths and query strings carry secrets (invitation codes, calendar-feed
 * tokens) and personal data (looked-up emails, search terms), and whoever reads a log must not be able to claim
 * an invitation or find a person with it. So a request is logged by its route template, with only the parameters
 * an allow-list names as harmless; everything else is `[redacted]`.
 */

/** Query keys whose values say nothing about a person and grant nothing: ids, paging, sorting, formats, dates. */
const HARMLESS_QUERY_KEYS = new Set([
  'limit',
  'count',
  'sort',
  'format',
  'status',
  'match',
  'access_code',
  'stage_id',
  'source_id',
  'campaign_id',
  'assigned_user_access_id',
  'created_from',
  'created_to',
  'from',
  'to',
]);

// Even an allow-listed key keeps its value only when it has the shape of an id, a flag, a date or an enum word,
// so a secret pasted into the wrong parameter is still not written down.
const HARMLESS_VALUE = [
  /^-?\d{1,20}$/,
  /^(true|false)$/,
  /^\d{4}-\d{2}-\d{2}(T[\d:.]{2,15}(Z|[+-]\d{2}:?\d{2})?)?$/,
  /^-?[a-z][a-z_]{0,31}$/,
];
const QUERY_KEY = /^[a-z][a-z_]{0,31}$/;
const NUMERIC = /^\d{1,20}$/;
// Short segments (`v1`, `api`) cannot hold a secret worth the name; longer unknown ones might.
const SHORT_SEGMENT = 3;

function redactValue(key: string, value: string): string {
  return HARMLESS_QUERY_KEYS.has(key) && HARMLESS_VALUE.some((shape) => shape.test(value)) ? value : REDACTED;
}

/** `q=ann&limit=10&x@y=1` → `q=[redacted]&limit=10&[redacted]=[redacted]`. */
export function redactQuery(search: string): string {
  const parts: string[] = [];
  for (const [key, value] of new URLSearchParams(search)) {
    parts.push(`${QUERY_KEY.test(key) ? key : REDACTED}=${redactValue(key, value)}`);
  }
  return parts.join('&');
}

/** A path no route matched: numeric ids, short segments and the literal segments of our routes stay. */
export function redactPath(path: string, literals: ReadonlySet<string>): string {
  return path
    .split('/')
    .map((segment) => {
      if (segment === '' || NUMERIC.test(segment) || literals.has(segment)) return segment;
      return segment.length <= SHORT_SEGMENT && /^[\w.-]*$/.test(segment) ? segment : REDACTED;
    })
    .join('/');
}

function splitUrl(url: string): { path: string; search: string } {
  const mark = url.indexOf('?');
  return mark === -1 ? { path: url, search: '' } : { path: url.slice(0, mark), search: url.slice(mark + 1) };
}

/** The log's `url`: the route template (`/api/v1/invitations/:code/accept`) or a redacted path, never the raw URL. */
export function loggableUrl(request: FastifyRequest, literals: ReadonlySet<string>): string {
  const { path, search } = splitUrl(request.url);
  const template = request.routeOptions.url;
  const shown = template ?? redactPath(path, literals);
  const query = search ? redactQuery(search) : '';
  return query ? `${shown}?${query}` : shown;
}

/** Path parameters of a matched route, numeric ids only: enough to find the row, never a code or token. */
function loggableParams(request: FastifyRequest): Record<string, string> | undefined {
  const params = request.params as Record<string, unknown> | undefined;
  if (!params || typeof params !== 'object' || request.routeOptions.url === undefined) return undefined;
  const entries = Object.entries(params).map(([key, value]) => [
    key,
    typeof value === 'string' && NUMERIC.test(value) ? value : REDACTED,
  ]);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/**
 * The logger options of the app: serializers for requests and errors, and redaction of fields a future log call
 * might add by mistake. `literals` fills up as routes are registered (`register`).
 */
export function createLogging() {
  const literals = new Set<string>();
  const serializers = {
    req: (request: FastifyRequest) => ({
      method: request.method,
      url: loggableUrl(request, literals),
      params: loggableParams(request),
      remoteAddress: request.ip,
    }),
    // The "request completed" line: who asked (ids only, never a secret) and in which company.
    res: (reply: { statusCode: number; request?: FastifyRequest }) => ({
      statusCode: reply.statusCode,
      user_id: reply.request?.principal?.userId,
      // With an API key, user_id is the key's creator (attribution); the key tells which integration asked.
      api_key_id: reply.request?.principal?.apiKey?.id,
      company_id: reply.request?.access?.companyId,
    }),
    err: serializeError,
  };
  const redact = {
    paths: ['password', 'token', 'email', 'to', '*.password', '*.token', '*.email', '*.to', 'req.headers'],
    censor: REDACTED,
  };
  /** Collects the literal path segments of every route, so a mistyped path keeps its readable parts. */
  function register(app: FastifyInstance): void {
    app.addHook('onRoute', (route: RouteOptions) => {
      for (const segment of route.url.split('/')) {
        if (segment && !segment.includes(':') && !segment.includes('*')) literals.add(segment);
      }
    });
  }
  return { serializers, redact, register };
}

type LoggerSetting = FastifyBaseLogger | boolean | { level: string } | undefined;
type Logging = ReturnType<typeof createLogging>;

/** Fastify's logger options with our serializers, whichever form the caller gave (options, an instance, or off). */
export function loggerOptions(
  setting: LoggerSetting,
  level: string,
  logging: Logging,
): Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  const { serializers, redact } = logging;
  if (setting === false) return { logger: false };
  if (setting === undefined || setting === true) return { logger: { level, serializers, redact } };
  if ('child' in setting && typeof setting.child === 'function') {
    // Fastify 5 takes a ready logger as `loggerInstance`; a child carries our serializers over the instance's own.
    return { loggerInstance: setting.child({}, { serializers, redact }) };
  }
  return { logger: { ...(setting as { level: string }), serializers, redact } };
}
