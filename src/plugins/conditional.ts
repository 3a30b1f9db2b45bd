import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { preconditionFailed } from '../lib/errors.ts';
import { etagOf, ifMatchHolds, ifMatchOf, noneMatchFails, parseTagCondition, staleCopy } from '../lib/etag.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false`: this route's answers carry no ETag. */
    etag?: false;
    /**
     * `handler`: the handler evaluates If-Match itself, inside its write transaction after locking the row (leads),
     * so the check and the write are atomic; the plugin then leaves If-Match alone.
     */
    ifMatch?: 'handler';
  }
}

/**
 * Conditional requests (RFC 9110 § 13), for every route at once:
 *
 * - **ETag.** A 200 JSON answer to a GET carries a strong ETag of its body (lib/etag.ts) when the route's 200
 *   schema is an object without a `meta` (a keyset page's tag would say nothing about the list), unless the route
 *   opts out (`config.etag: false`). Decided per route from its schema, so the document says the same (docs.ts).
 *   So single resources carry one, and so do small unpaged documents (reference data); lists do not. A 200 answer
 *   to PUT or PATCH carries the tag of the resource's GET representation: the body's tag when the route answers
 *   what its GET answers, or the one the handler set (leads, whose GET adds notes). Non-JSON answers carry none.
 * - **If-None-Match** on a GET: weak comparison; a match answers 304 with the ETag and no body.
 * - **If-Match** on PUT, PATCH and DELETE: strong comparison, `*` = the resource exists; a stale tag answers 412
 *   `precondition_failed` and the handler never runs. For leads the handler checks it inside its transaction
 *   (`config.ifMatch: 'handler'`). Elsewhere this plugin reads the current representation before the handler, by
 *   injecting a GET of the same path with the caller's own credentials (so it sees exactly what the caller may see),
 *   and compares. That leaves a window between the read and the write: a change committed by someone else inside
 *   it is overwritten. Leads, the resource integrations mirror and edit concurrently, have no such window; the
 *   others (companies, campaigns, cycles, territories, questions, appointments, users) are edited rarely and by
 *   admins, where the window of a few milliseconds is an accepted trade for one generic mechanism.
 * - A write route without a GET twin has no representation to tag (and this API never sent it an ETag): If-Match
 *   with tags answers 412, `*` lets the handler decide (404 if the resource is not there).
 * - Preconditions are evaluated only where the request would otherwise succeed: after authentication, the policy and
 *   validation, and a resource the caller cannot see stays 404 whatever the header says (another company's ids
 *   must not be probeable through 412 either).
 */
export function registerConditionalRequests(app: FastifyInstance): void {
  /** GET routes whose answers carry an ETag: a write to the same path has a tag to compare. */
  const tagged = new Set<string>();
  // The probe GET identifies itself with a secret of this process, so no client can skip a limit with it.
  const probeSecret = randomBytes(24).toString('base64url');

  app.decorateRequest('preconditionProbe', false);

  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = toArray(route.method);
    if (methods.includes('GET') && carriesTag(route)) tagged.add(route.url);
    if (route.config?.policy === undefined || route.config.ifMatch === 'handler') return;
    if (methods.some((method) => WRITES.has(method))) {
      route.preHandler = [...toArray(route.preHandler), checkIfMatch];
    }
  });

  app.addHook('onRequest', async (request) => {
    if (request.headers[PROBE_HEADER] === probeSecret) request.preconditionProbe = true;
  });

  async function checkIfMatch(request: FastifyRequest, reply: FastifyReply) {
    const condition = ifMatchOf(request.headers['if-match']);
    if (condition === undefined) return;
    if (!tagged.has(request.routeOptions.url ?? '')) {
      if (condition.any) return;
      throw preconditionFailed('This resource has no entity tag (it has no GET): If-Match can only be `*` here.');
    }
    const probe = await app.inject({
      method: 'GET',
      url: request.url.split('?')[0]!,
      headers: {
        ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
        'x-request-id': request.id,
        [PROBE_HEADER]: probeSecret,
      },
    });
    if (probe.statusCode === 200) {
      const current = probe.headers.etag;
      // `*`: the resource exists, whatever its tag.
      if (!condition.any && !ifMatchHolds(condition, typeof current === 'string' ? current : undefined)) {
        throw staleCopy();
      }
      return;
    }
    // Not visible: the handler answers its own 404, as it would without the header.
    if (probe.statusCode === 404) return;
    // The read failed for a reason of its own (database away, budget spent): that answer, not a guess.
    if (probe.statusCode === 429 || probe.statusCode >= 500) {
      const retryAfter = probe.headers['retry-after'];
      if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
      return reply.code(probe.statusCode).type('application/problem+json').send(probe.body);
    }
    // No representation this caller may read: no tag of ours can match it.
    if (!condition.any) throw staleCopy();
  }

  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    if (!tagged.has(request.routeOptions.url ?? '')) return payload;
    const read = request.method === 'GET' || request.method === 'HEAD';
    if (!read && request.method !== 'PUT' && request.method !== 'PATCH') return payload;
    if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    let tag = reply.getHeader('etag');
    if (typeof tag !== 'string') {
      tag = etagOf(payload);
      reply.header('etag', tag);
    }
    if (read) {
      const condition = parseTagCondition(request.headers['if-none-match']);
      // A malformed If-None-Match is ignored (RFC 9110 § 13.1.2 lets a cache validator be dropped, not the GET).
      if (condition && noneMatchFails(condition, tag)) {
        reply.code(304);
        reply.removeHeader('content-type');
        reply.removeHeader('content-length');
        return null;
      }
    }
    return payload;
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** This GET is the If-Match check of a write of the same caller (not a request of its own: no rate limit). */
    preconditionProbe: boolean;
  }
}

/** The header the If-Match probe carries its per-process secret in. */
const PROBE_HEADER = 'x-leadsy-precondition-probe';
const WRITES = new Set(['PUT', 'PATCH', 'DELETE']);

/** A GET whose 200 is a JSON object that is not a keyset page (`{ <items>: [...], meta }`), and not opted out. */
function carriesTag(route: RouteOptions): boolean {
  if (route.config?.policy === undefined || route.config.etag === false) return false;
  const ok = (route.schema?.response as Record<string, Schema> | undefined)?.[200];
  return ok?.properties !== undefined && !('meta' in ok.properties);
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

const ETAG_HEADER = {
  etag: {
    type: 'string',
    description: 'Strong entity tag of the resource as GET shows it: send it back in If-Match or If-None-Match.',
  },
};

type Schema = Record<string, unknown> & { properties?: Record<string, unknown> };

/** A header parameter added beside any the route (or another plugin) already documents. */
function withHeader(schema: Schema, name: string, description: string): Schema {
  const headers = (schema.headers ?? { type: 'object', properties: {} }) as Schema;
  return {
    ...schema,
    headers: {
      ...headers,
      properties: { ...headers.properties, [name]: { type: 'string', maxLength: 8192, description } },
    },
  };
}

/**
 * What conditional requests add to an operation of the OpenAPI document (called by plugins/docs.ts for every
 * route): the ETag answer header, the If-None-Match and If-Match parameters, 304 and 412. Returns the route schema
 * with its header parameters; `response` is completed in place.
 */
export function documentConditional(
  route: RouteOptions,
  schema: Schema,
  response: Record<string, unknown>,
  problem: (description: string) => unknown,
): Schema {
  const methods = toArray(route.method);
  const ok = response[200] as Schema | undefined;
  if (methods.includes('GET')) {
    // Only JSON answers that are not keyset pages carry a tag (see registerConditionalRequests).
    if (!carriesTag(route)) return schema;
    response[200] = { ...ok, headers: ETAG_HEADER };
    response[304] ??= {
      description: 'Not Modified: the ETag you sent in If-None-Match is still current (no body).',
      type: 'null',
      headers: ETAG_HEADER,
    };
    return withHeader(schema, 'if-none-match', 'Entity tags you hold (or `*`): a match answers 304, without a body.');
  }
  if (!methods.some((method) => WRITES.has(method)) || route.config?.etag === false) return schema;
  if (ok?.properties) response[200] = { ...ok, headers: ETAG_HEADER };
  response[412] ??= problem(
    '`precondition_failed`: If-Match does not match the current ETag (or the resource has none); nothing changed.',
  );
  return withHeader(
    schema,
    'if-match',
    'Entity tag from your last GET (strong comparison; `*`: the resource exists). A stale one answers 412 and ' +
      'changes nothing: no lost updates.',
  );
}
