import type { RouteOptions } from 'fastify';

type Json = Record<string, unknown>;

export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
});

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const RATE_LIMITED = 'x-rate-limited';
const OPTIONAL_BODY = 'x-optional-body';

const methodsOf = (route: RouteOptions) => (Array.isArray(route.method) ? route.method : [route.method]);

/** Rate limits (plugins/rate-limits.ts): per caller on every authenticated route, per client IP where declared. */
export const isRateLimited = (route: RouteOptions) =>
  Boolean(route.config && 'rateLimit' in route.config && route.config.rateLimit) ||
  (route.config?.policy !== undefined && route.config.policy !== 'public');

/** Where a key or a policy can refuse a signed-in caller (plugins/auth.ts): every authenticated route but reference data. */
const mayRefuse = (route: RouteOptions) => {
  const policy = route.config?.policy;
  if (policy === undefined || policy === 'public') return false;
  return typeof policy === 'object' || route.config?.apiKeys !== 'allowed' || /^\/api\/v1\/users(\/|$)/.test(route.url);
};

function successDescription(status: string, summary: string | undefined): string {
  const what = summary ?? 'Done';
  if (status === '201') return `Created: ${what[0]!.toLowerCase()}${what.slice(1)}.`;
  if (status === '202') return `Accepted: ${what[0]!.toLowerCase()}${what.slice(1)}; it completes in the background.`;
  if (status === '204') return `Done (${what[0]!.toLowerCase()}${what.slice(1)}); no body.`;
  return `${what}.`;
}

/**
 * Every status a route can answer, with the problem+json schema: what the shared plugins do to every request
 * (parsing, validation, authentication, authorization, rate limits, draining, database faults) documented once here
 * from what the route declares, so no route documents them by hand. A route's own description of a status wins.
 */
export function documentResponses(route: RouteOptions, response: Json): void {
  const policy = route.config?.policy;
  const schema = (route.schema ?? {}) as Json;
  const takesBody = Boolean(schema.body) && methodsOf(route).some((method) => WITH_BODY.has(method));
  const takesInput = Boolean(schema.body || schema.querystring || schema.params || schema.headers);
  const summary = typeof schema.summary === 'string' ? schema.summary : undefined;
  for (const [status, answer] of Object.entries(response)) {
    if (!/^2\d\d$/.test(status) || typeof answer !== 'object' || answer === null) continue;
    const own = answer as Json;
    if (own.description === undefined && own['x-response-description'] === undefined) {
      response[status] = { ...own, 'x-response-description': successDescription(status, summary) };
    }
  }
  if (takesBody) {
    response[400] ??= problemResponse(
      'The body could not be parsed (malformed JSON or multipart), or is nested too deep or holds too many values.',
    );
    response[413] ??= problemResponse('`payload_too_large`: the body is larger than the server accepts.');
    response[415] ??= problemResponse('`unsupported_media_type`: the body is not of a type this route reads.');
  }
  if (takesInput) response[422] ??= problemResponse('Invalid input: every invalid field is listed in `errors`.');
  if (policy !== 'public') response[401] ??= problemResponse('Missing, malformed, expired or revoked token or key.');
  if (typeof policy === 'object') {
    response[403] ??= problemResponse(
      'Your access in this company does not allow this, or `api_key_not_allowed` (a route for people only).',
    );
  } else if (mayRefuse(route)) {
    response[403] ??= problemResponse(
      '`api_key_not_allowed`: API keys cannot use this route; or you may not act on this resource.',
    );
  }
  if (typeof policy === 'object' || route.url.includes(':')) {
    response[404] ??= problemResponse('Not found, or not visible to you.');
  }
  if (isRateLimited(route)) response[429] ??= problemResponse('`rate_limited`: too many requests; see Retry-After.');
  response[500] ??= problemResponse('Unexpected error; details are in the server log under the request id.');
  response[503] ??= problemResponse(
    'The database is unavailable, or this server is shutting down: retry after Retry-After.',
  );
}

/** Markers on the route schema that finishDocument turns into what @fastify/swagger cannot express itself. */
export function documentMarkers(route: RouteOptions): Json {
  const preValidation = Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
  return {
    ...(isRateLimited(route) ? { [RATE_LIMITED]: true } : {}),
    ...(preValidation.some((hook) => hook?.name === 'optionalBody') ? { [OPTIONAL_BODY]: true } : {}),
  };
}

const header = (description: string) => ({ description, schema: { type: 'integer', minimum: 0 } });
const RATE_HEADERS = {
  'RateLimit-Limit': header('Requests allowed in the current window (per caller, or per client IP where stated).'),
  'RateLimit-Remaining': header('Requests left in the current window.'),
  'RateLimit-Reset': header('Seconds until the window resets.'),
  'Retry-After': header('Seconds to wait before retrying.'),
};
const refTo = (name: string) => ({ $ref: `#/components/headers/${name}` });

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A string enum without `type` shows as "any" in reference UIs and generators: it gets `type: string`. */
function typedEnums(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(typedEnums);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) {
    // Data, not schemas: examples are kept as written.
    out[key] =
      key === 'examples' || key === 'example' || key === 'default' || key === 'const' ? child : typedEnums(child);
  }
  if (Array.isArray(out.enum) && out.type === undefined && out.enum.every((v) => typeof v === 'string')) {
    return { type: 'string', ...out };
  }
  return out;
}

/**
 * The document's last pass: rate-limit headers on every answer of a limited route (Retry-After on its 429 and on
 * every 503), optional bodies marked so, string enums typed, and the tags described.
 */
export function finishDocument(document: Json, tags: { name: string; description: string }[]): Json {
  const paths = isObject(document.paths) ? document.paths : {};
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue;
    for (const operation of Object.values(item)) {
      if (!isObject(operation)) continue;
      const limited = operation[RATE_LIMITED] === true;
      if (operation[OPTIONAL_BODY] === true && isObject(operation.requestBody)) operation.requestBody.required = false;
      delete operation[RATE_LIMITED];
      delete operation[OPTIONAL_BODY];
      for (const [status, answer] of Object.entries(isObject(operation.responses) ? operation.responses : {})) {
        if (!isObject(answer)) continue;
        const headers: Json = { ...(isObject(answer.headers) ? answer.headers : {}) };
        if (limited) {
          for (const name of ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']) headers[name] = refTo(name);
        }
        if ((limited && status === '429') || status === '503') headers['Retry-After'] = refTo('Retry-After');
        if (Object.keys(headers).length > 0) answer.headers = headers;
      }
    }
  }
  const components = isObject(document.components) ? document.components : {};
  return typedEnums({
    ...document,
    tags,
    components: {
      ...components,
      headers: { ...(isObject(components.headers) ? components.headers : {}), ...RATE_HEADERS },
    },
  }) as Json;
}
