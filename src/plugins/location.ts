import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

type Json = Record<string, unknown>;
/** The URL of what a 201 created, for a route where the generic rule (see registerLocation) is wrong. */
type Locator = (request: FastifyRequest, body: Json) => string | undefined;

/**
 * Where the generic rule is wrong, by route. Keep it short: a route whose created resource has a GET route named
 * after its envelope key needs nothing here.
 */
const OVERRIDES: Record<string, Locator> = {
  // The access created by accepting an invitation is the caller's: their accesses, not the (public) invitation.
  'POST /api/v1/invitations/:code/accept': (request) =>
    request.principal ? `/api/v1/users/${request.principal.userId}/user_access` : undefined,
  // The created resource is the calendar subscription itself (its URL carries the token, as the body does).
  'POST /api/v1/appointments/feed': (_request, body) => {
    const url = (body.feed as Json | undefined)?.url;
    return typeof url === 'string' ? url : undefined;
  },
};

type GetRoute = { url: string; segments: string[] };

/**
 * `Location` on every 201 (API.md "Created resources"): the URL of the created resource's GET route, as a path.
 * One rule for every route, read from the route table and the answer's body:
 * 1. the body's envelope key names the resource (`{"lead": {"id": 7}}`): the GET route whose last segment is
 *    `:lead_id` and whose other path parameters the request has, the one sharing most of the request's path
 *    (`/companies/{company_id}/leads/{lead_id}`; an appointment created under its lead: `/appointments/{id}`);
 * 2. otherwise (no GET route of its own: a note, a source, a bulk of territories, a subscription) the nearest GET
 *    route on the request's path or above it, where the created resource is listed or shown.
 * OVERRIDES handles the few routes where that is wrong. A Location already set by the route is kept.
 */
export function registerLocation(app: FastifyInstance): void {
  let getRoutes: GetRoute[] | undefined;
  const routes = () => {
    getRoutes ??= app.routeTable
      .filter((route) => route.method === 'GET' && route.policy !== undefined)
      .map((route) => ({ url: route.url, segments: route.url.split('/') }));
    return getRoutes;
  };

  function locate(request: FastifyRequest, body: Json): string | undefined {
    const override = OVERRIDES[`${request.method} ${request.routeOptions.url}`];
    if (override) return override(request, body);
    const params = (request.params ?? {}) as Record<string, unknown>;
    const own = (request.routeOptions.url ?? '').split('/');
    for (const [name, value] of Object.entries(body)) {
      const id = (value as Json | null)?.id;
      if (typeof value !== 'object' || Array.isArray(value) || (typeof id !== 'number' && typeof id !== 'string')) {
        continue;
      }
      const param = `:${name}_id`;
      const candidates = routes().filter(
        (route) =>
          route.segments.at(-1) === param &&
          route.segments.every(
            (segment) => !segment.startsWith(':') || segment === param || segment.slice(1) in params,
          ),
      );
      const best = candidates.sort((a, b) => sharedPrefix(b.segments, own) - sharedPrefix(a.segments, own))[0];
      if (best) return fill(best.segments, { ...params, [param.slice(1)]: id });
    }
    return nearestGet(app, (request.url.split('?')[0] ?? '').replace(/\/+$/, ''));
  }

  app.addHook('onRoute', documentLocation);
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (reply.statusCode !== 201 || reply.hasHeader('location') || typeof payload !== 'string') return payload;
    let body: unknown;
    try {
      body = JSON.parse(payload);
    } catch {
      return payload;
    }
    if (body === null || typeof body !== 'object') return payload;
    const location = locate(request, body as Json);
    if (location) reply.header('location', location);
    return payload;
  });
}

/** The header in the OpenAPI document of every 201 (`headers` is how @fastify/swagger documents response headers). */
function documentLocation(route: RouteOptions): void {
  const schema = route.schema as (Record<string, unknown> & { response?: Record<string, unknown> }) | undefined;
  const created = schema?.response?.[201] as { headers?: Record<string, unknown> } | undefined;
  if (!schema?.response || !created) return;
  const location = {
    type: 'string',
    description: 'The created resource: its GET route, or where it is listed when it has none of its own.',
  };
  route.schema = {
    ...schema,
    response: { ...schema.response, 201: { ...created, headers: { ...created.headers, location } } },
  };
}

function sharedPrefix(a: string[], b: string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function fill(segments: string[], values: Record<string, unknown>): string {
  return segments
    .map((segment) => (segment.startsWith(':') ? encodeURIComponent(String(values[segment.slice(1)])) : segment))
    .join('/');
}

/** The request's path or its nearest ancestor that a GET route of ours serves (not a catch-all). */
function nearestGet(app: FastifyInstance, path: string): string | undefined {
  const segments = path.split('/');
  for (let end = segments.length; end > 1; end--) {
    const candidate = segments.slice(0, end).join('/');
    const found = app.findRoute({ method: 'GET', url: candidate });
    if (found && !('*' in (found.params as Record<string, string>))) return candidate;
  }
  return undefined;
}
