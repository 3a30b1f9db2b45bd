import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { callerKey } from './auth.ts';
import { problemResponse } from './docs.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Headers replayed with a stored answer; the others (rate limits, request id, …) belong to the new request. */
export const REPLAYED_HEADERS = ['content-type', 'location', 'etag'] as const;

/** What a stored answer holds (sealed at rest by the store). */
export type StoredAnswer = { status: number; headers: Record<string, string>; body: string; base64?: true };
/** A key this request holds: it runs the handler, then completes or releases it. */
export type Claim = { id: number; claim: string };
export type Begin = { kind: 'claimed'; claim: Claim } | { kind: 'replay'; answer: StoredAnswer };

/** What the plugin asks of the store of keys (src/modules/idempotency), wired by the composition root. */
export type IdempotencyStore = {
  /** A keyed digest of the request's parts (method, route, path parameters, query, body). */
  fingerprint(parts: unknown[]): string;
  begin(caller: string, key: string, fingerprint: string): Promise<Begin>;
  complete(claim: Claim, answer: StoredAnswer): Promise<void>;
  release(claim: Claim): Promise<void>;
};

/**
 * `Idempotency-Key` on every POST (API.md "Integrations", Stripe's semantics), safe across processes (the claim is a
 * row under a unique index, src/modules/idempotency):
 * - the key is per principal (callerKey: `user:<id>`, `key:<id>`) and lives 24 h from its first use;
 * - the first request claims it once it is authenticated, authorized and its input validated (a request refused
 *   before that stores nothing, as with Stripe), runs, and stores its answer before it is sent;
 * - the same key on the same request (method, route, path parameters, query, body) replays that answer, status,
 *   body, Content-Type and Location, with `Idempotent-Replayed: true`; on another request → 422
 *   `idempotency_key_reused`; while the first still runs → 409 `idempotency_key_in_use` with Retry-After;
 * - 5xx and 429 answers are not stored (the key is released: a retry runs again); other 4xx answers are;
 * - a claim whose process died mid-request is taken over once it is older than `staleAfterMs`.
 * Public routes (sign-up, sign-in, resets, invitation lookups) ignore the header: there is no principal to scope a
 * key to (only an address, shared behind NAT), several answer with credentials, and keeping those (and a digest of
 * a body holding a password) for a day buys nothing a client cannot get by simply retrying.
 * Upload routes (multipart) stream their body into the handler, which reads it once, after the claim: their
 * fingerprint leaves the body out. There the key names the upload: a retry with the same key replays the first
 * answer whatever file it carries.
 */
export function registerIdempotency(app: FastifyInstance, deps: { service: IdempotencyStore }): void {
  const { service } = deps;
  const claims = new WeakMap<FastifyRequest, Claim>();

  async function claimKey(request: FastifyRequest, reply: FastifyReply) {
    const key = request.headers[IDEMPOTENCY_HEADER];
    // Validated by the route's header schema (documentRoute below): a string of 1–255 visible ASCII characters.
    if (typeof key !== 'string') return;
    const multipart = /^multipart\//i.test(request.headers['content-type'] ?? '');
    const fingerprint = service.fingerprint([
      request.method,
      request.routeOptions.url,
      request.params ?? null,
      request.query ?? null,
      multipart ? 'multipart' : (request.body ?? null),
    ]);
    const begun = await service.begin(callerKey(request), key, fingerprint);
    if (begun.kind === 'claimed') {
      claims.set(request, begun.claim);
      return;
    }
    const { answer } = begun;
    reply.code(answer.status).headers(answer.headers).header('idempotent-replayed', 'true');
    return reply.send(answer.base64 ? Buffer.from(answer.body, 'base64') : answer.body);
  }

  async function storeAnswer(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const claim = claims.get(request);
    if (!claim) return payload;
    claims.delete(request);
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload : undefined;
    // A streamed answer cannot be kept: the key is released (no POST of ours streams its answer).
    if (payload !== undefined && payload !== null && body === undefined) {
      await service.release(claim);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    const answer: StoredAnswer = Buffer.isBuffer(body)
      ? { status: reply.statusCode, headers, body: body.toString('base64'), base64: true }
      : { status: reply.statusCode, headers, body: body ?? '' };
    try {
      await service.complete(claim, answer);
    } catch (error) {
      // The change may have committed: the answer still goes out, and the key stays claimed (retries get 409) until
      // the claim is stale, rather than being released for a retry that would run it twice at once.
      request.log.error({ err: error }, 'idempotency: the answer could not be stored');
    }
    return payload;
  }

  // Whatever ended a claimed request without an answer stored (the store failed, the client went away before an
  // answer): the key is given back rather than left running until it looks stale.
  async function releaseLeftover(request: FastifyRequest) {
    const claim = claims.get(request);
    if (!claim) return;
    claims.delete(request);
    await service.release(claim);
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    const policy = route.config?.policy;
    if (policy === undefined || !toArray(route.method).includes('POST')) return;
    documentRoute(route, policy === 'public');
    if (policy === 'public') return;
    route.preHandler = [...toArray(route.preHandler), claimKey];
    route.onSend = [...toArray(route.onSend), storeAnswer];
    route.onResponse = [...toArray(route.onResponse), releaseLeftover];
  });
}

type Schema = Record<string, unknown> & { headers?: { properties?: Record<string, unknown> }; response?: object };
/** A response schema (or OpenAPI response object); `headers` is how @fastify/swagger documents response headers. */
type ResponseDoc = { description?: string; headers?: Record<string, unknown> };

/** The header as a validated, documented parameter of every POST, and the answers it adds. */
function documentRoute(route: RouteOptions, ignored: boolean): void {
  const schema = (route.schema ?? {}) as Schema;
  const header = ignored
    ? {
        type: 'string',
        description:
          'Accepted and ignored on public routes: there is no principal to scope the key to, and several of them ' +
          'answer with credentials, which are not kept for replay. Retry the request itself.',
      }
    : {
        type: 'string',
        minLength: 1,
        maxLength: 255,
        pattern: '^[!-~]+$',
        description:
          'Makes a retried POST safe (Stripe semantics). Within 24 h, the same key from the same principal on the ' +
          'same request (method, path, query, body) replays the first answer (its status, body, Content-Type and ' +
          'Location) with `Idempotent-Replayed: true`, without running the request again. A different request ' +
          'with the key → 422 `idempotency_key_reused`; the first one still running → 409 ' +
          '`idempotency_key_in_use` (retry after Retry-After). Answers 5xx and 429 are not kept (a retry runs ' +
          'again); other 4xx are. 1–255 visible ASCII characters; a UUID v4 is a good key. On upload ' +
          '(multipart) routes the file is not compared: the key alone names the upload.',
      };
  const headers = {
    type: 'object',
    ...(schema.headers ?? {}),
    properties: { ...(schema.headers?.properties ?? {}), [IDEMPOTENCY_HEADER]: header },
  };
  if (ignored) {
    route.schema = { ...schema, headers };
    return;
  }
  const response = { ...(schema.response ?? {}) } as Record<string, ResponseDoc | undefined>;
  for (const [status, answer] of Object.entries(response)) {
    if (!answer || !/^2\d\d$/.test(status)) continue;
    response[status] = {
      ...answer,
      headers: {
        ...answer.headers,
        'idempotent-replayed': {
          type: 'string',
          enum: ['true'],
          description: 'Present on a replay: the answer of the first request with this Idempotency-Key.',
        },
      },
    };
  }
  const inUse =
    'A request with the same Idempotency-Key is still running (`idempotency_key_in_use`, with Retry-After).';
  const own = response[409];
  response[409] = own?.description
    ? { ...own, description: `${own.description} Or: ${inUse}` }
    : problemResponse(inUse);
  const reused =
    'Or: the Idempotency-Key is malformed or over 255 characters, or was used with another request ' +
    '(`idempotency_key_reused`).';
  const invalid = response[422];
  response[422] = invalid?.description
    ? { ...invalid, description: `${invalid.description} ${reused}` }
    : problemResponse(`Invalid input: every invalid field is listed in \`errors\`. ${reused}`);
  route.schema = { ...schema, headers, response };
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
