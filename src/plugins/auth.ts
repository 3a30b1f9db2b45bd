import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { AppError, forbidden, notFound, unauthorized } from '../lib/errors.ts';
import { can, type EffectiveAccess, type Permission, type Principal } from '../lib/permissions.ts';
import type { TokenService } from '../lib/tokens.ts';

/**
 * Every route declares one policy:
 * - `public`: no token;
 * - `user`: any signed-in user; the service applies the resource's own rule (self, shared company, …);
 * - `{ permission }`: the caller's effective access in the route's company must grant `permission`. The company
 *   is the `company_id` path parameter unless `company` resolves it (from the body, or from the resource).
 */
export type CompanyResolver = (request: FastifyRequest) => number | undefined | Promise<number | undefined>;
export type Policy = 'public' | 'user' | { permission: Permission; company?: CompanyResolver };

/** What authentication asks of the authorization service (modules/authz), wired by the composition root. */
export type Authorizer = {
  principal(userId: number, tokenVersion: number): Promise<Principal | undefined>;
  principalWithAccess(
    userId: number,
    tokenVersion: number,
    companyId: number,
  ): Promise<{ principal: Principal; access: EffectiveAccess | null } | undefined>;
  effectiveAccess(principal: Principal, companyId: number): Promise<EffectiveAccess | undefined>;
  /** An API key's principal and its access in `companyId` (null: invisible); undefined: unknown, revoked, expired. */
  apiKeyWithAccess(
    secret: string,
    companyId: number | undefined,
  ): Promise<{ principal: Principal; access: EffectiveAccess | null } | undefined>;
  /** Returns once this process's authorization cache has applied every change committed so far. */
  settle(): Promise<void>;
};

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: Policy;
    /** A permission route whose change can take an access away (moving a company): it answers after `settle`. */
    revokesAccess?: boolean;
    /**
     * Whether an API key may call the route, where the default does not fit: by default keys call the company
     * routes (permission policies) and no `user` route. `allowed`: a `user` route any key may read (reference data:
     * stages, accesses); `refused`: a company route for people only (managing keys: a leaked key must not mint
     * others that outlive its revocation).
     */
    apiKeys?: 'allowed' | 'refused';
  }
  interface FastifyInstance {
    /** Every route registered, with the policy it declared: the policy and OpenAPI coverage tests read it. */
    routeTable: { method: string; url: string; policy: Policy | undefined }[];
    /**
     * For answers that outlive their request (the event stream): authenticates and authorizes the request again,
     * as at its start (token or key still valid and not revoked, access still granting the route's permission),
     * and sets `request.access` afresh. False when it no longer would be allowed.
     */
    authorizeAgain(request: FastifyRequest): Promise<boolean>;
  }
  interface FastifyRequest {
    /** Resolved with the principal when the company is in the path (one query for both); null: invisible. */
    pathAccess: EffectiveAccess | null | undefined;
    principal: Principal | null;
    tokenExpiresAt: Date | null;
    access: EffectiveAccess | null;
  }
}

/** The principal of a route whose policy is not public. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

/**
 * Who is calling, as one string: the key of per-caller budgets and records (rate limits, idempotency keys).
 * An API key is its own caller (`key:<id>`), apart from its creator and from the company's other keys.
 */
export function callerKey(request: FastifyRequest): string {
  const principal = request.principal;
  if (!principal) return `ip:${request.ip}`;
  return principal.apiKey ? `key:${principal.apiKey.id}` : `user:${principal.userId}`;
}

/** The effective access of a route with a permission policy. */
export function accessOf(request: FastifyRequest): EffectiveAccess {
  if (!request.access) throw forbidden();
  return request.access;
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
// An API key's secret: `lsk_` and base64url (43 characters for 32 bytes; bounded, so no long string is hashed).
const API_KEY = /^Bearer (lsk_[A-Za-z0-9_-]{16,128})$/;

// API.md "Integrations": a key acts in a company; a person's own routes are not for it: those of the signed-in user
// (policy `user`: invitations to accept, their companies, …) and every `/users/…` route, whatever its policy (granting
// an access names the company in the body, but it is still a person's access).
const PERSON_ROUTE = /^\/api\/v1\/users(\/|$)/;
const apiKeyNotAllowed = () =>
  new AppError(
    403,
    'api_key_not_allowed',
    'Forbidden',
    'API keys act inside a company; this route is for signed-in users only.',
  );

// Routes added by third-party plugins (the interactive docs) carry no policy; they are public and static.
const PLUGIN_ROUTE = /^\/docs(\/|$)/;

export function registerAuth(app: FastifyInstance, deps: { tokens: TokenService; authz: Authorizer }): void {
  const routeTable: FastifyInstance['routeTable'] = [];
  app.decorate('routeTable', routeTable);
  app.decorateRequest('principal', null);
  app.decorateRequest('pathAccess', undefined);
  app.decorateRequest('tokenExpiresAt', null);
  app.decorateRequest('access', null);

  async function authenticateKey(request: FastifyRequest, secret: string) {
    const companyId = companyInPath(request);
    const found = await deps.authz.apiKeyWithAccess(secret, companyId);
    if (!found) throw unauthorized('The API key is invalid, revoked or expired.');
    request.principal = found.principal;
    if (companyId !== undefined) request.pathAccess = found.access;
    const { config, url } = request.routeOptions;
    const refused = config.apiKeys ? config.apiKeys === 'refused' : config.policy === 'user';
    if (refused || PERSON_ROUTE.test(url ?? '')) throw apiKeyNotAllowed();
  }

  async function authenticate(request: FastifyRequest) {
    const key = API_KEY.exec(request.headers.authorization ?? '');
    if (key?.[1]) return authenticateKey(request, key[1]);
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (!match?.[1]) throw unauthorized();
    const claims = await deps.tokens.verify(match[1]);
    if (!claims) throw unauthorized('The token is invalid or expired.');
    const companyId = companyInPath(request);
    if (companyId === undefined) {
      const principal = await deps.authz.principal(claims.userId, claims.tokenVersion);
      if (!principal) throw unauthorized('The token has been revoked.');
      request.principal = principal;
    } else {
      const found = await deps.authz.principalWithAccess(claims.userId, claims.tokenVersion, companyId);
      if (!found) throw unauthorized('The token has been revoked.');
      request.principal = found.principal;
      request.pathAccess = found.access;
    }
    request.tokenExpiresAt = claims.expiresAt;
  }

  function authorizer(permission: Permission, resolve: CompanyResolver | undefined) {
    return async (request: FastifyRequest) => {
      const params = request.params as { company_id?: number };
      const companyId = resolve ? await resolve(request) : params.company_id;
      // 404, not 403: a company the caller cannot see must look like one that does not exist.
      if (companyId === undefined) throw notFound('Company');
      const access =
        !resolve && request.pathAccess !== undefined
          ? request.pathAccess
          : await deps.authz.effectiveAccess(principalOf(request), companyId);
      if (!access) throw notFound('Company');
      if (!can(access.code, permission)) throw forbidden(`Your access in this company does not allow ${permission}.`);
      request.access = access;
    };
  }

  async function settleAfterChange(_request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    if (reply.statusCode < 400) await deps.authz.settle();
    return payload;
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    const policy = route.config?.policy;
    for (const method of toArray(route.method)) routeTable.push({ method, url: route.url, policy });
    if (policy === undefined) {
      if (PLUGIN_ROUTE.test(route.url) || route.url === '*') return;
      throw new Error(`Route ${route.method} ${route.url} declares no policy`);
    }
    // A change to a person's credentials or accesses (the public and `user` routes that write: sign-in, resets,
    // profiles, accesses, …) or one that declares it may take access away is answered only once this process's
    // authorization cache has applied it: the caller's next request on this node must not be served what it ended.
    const mutating = toArray(route.method).some((method) => !READS.has(method));
    if (mutating && (typeof policy !== 'object' || route.config?.revokesAccess)) {
      route.onSend = [...toArray(route.onSend), settleAfterChange];
    }
    if (policy === 'public') return;
    route.onRequest = [...toArray(route.onRequest), authenticate];
    if (typeof policy === 'object') {
      route.preHandler = [...toArray(route.preHandler), authorizer(policy.permission, policy.company)];
    }
  });

  app.decorate('authorizeAgain', async (request: FastifyRequest): Promise<boolean> => {
    const policy = request.routeOptions.config.policy;
    if (policy === undefined || policy === 'public') return true;
    try {
      // Read afresh: what the first check resolved is exactly what may have changed since.
      request.pathAccess = undefined;
      await authenticate(request);
      if (typeof policy === 'object') await authorizer(policy.permission, policy.company)(request);
      return true;
    } catch (error) {
      if (error instanceof AppError && error.status < 500) return false;
      throw error;
    }
  });
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

const ID = /^[1-9][0-9]{0,14}$/;

/** The path's company for routes authorized against it, read before validation (a malformed id: not here). */
function companyInPath(request: FastifyRequest): number | undefined {
  const policy = request.routeOptions.config.policy;
  if (typeof policy !== 'object' || policy.company) return undefined;
  const raw = (request.params as { company_id?: unknown }).company_id;
  return typeof raw === 'string' && ID.test(raw) ? Number(raw) : undefined;
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
