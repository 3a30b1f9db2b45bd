import { timingSafeEqual } from 'node:crypto';
import type { Db, Executor } from '../../db/client.ts';
import { type Clock, systemClock } from '../../lib/clock.ts';
import type { ApiKeyPrincipal, EffectiveAccess, Principal } from '../../lib/permissions.ts';
import { sha256 } from '../../lib/secrets.ts';
import { findKeyForAuth, touchLastUsed } from './api-key-auth.repository.ts';
import type { AuthzCache } from './authz.cache.ts';
import { accessChain, ancestorDepth, type ChainRow, findPrincipal, principalAndChain } from './authz.repository.ts';

/** The nearest access up the chain decides; platform staff administer every company. */
function fromChain(principal: Principal, companyId: number, chain: ChainRow[]): EffectiveAccess | undefined {
  if (chain.length === 0) return undefined;
  const nearest = chain.find((row) => row.code !== null);
  const code = principal.superadmin ? 'admin' : nearest?.code;
  if (!code) return undefined;
  return {
    companyId,
    code,
    userAccessId: nearest?.user_access_id ?? null,
    inherited: nearest === undefined || nearest.depth > 0,
    sourceCompanyId: nearest?.company_id ?? null,
  };
}

/**
 * An API key's access: its code in its own company and that company's descendants (`depth`: how far up the chain
 * its company is), nothing elsewhere. It holds no user access: nothing is assigned to a key.
 */
function keyAccess(key: ApiKeyPrincipal, companyId: number, depth: number | null | undefined) {
  if (depth === null || depth === undefined) return undefined;
  return {
    companyId,
    code: key.code,
    userAccessId: null,
    inherited: depth > 0,
    sourceCompanyId: key.companyId,
    apiKeyId: key.id,
  } satisfies EffectiveAccess;
}

/**
 * `effectiveAccess` on any executor: policies run it inside the transaction of the change they guard, after its
 * locks, so the answer cannot go stale before the write.
 */
export async function effectiveAccessIn(
  db: Executor,
  principal: Principal,
  companyId: number,
): Promise<EffectiveAccess | undefined> {
  const key = principal.apiKey;
  if (key) return keyAccess(key, companyId, await ancestorDepth(db, key.companyId, companyId));
  return fromChain(principal, companyId, await accessChain(db, principal.userId, companyId));
}

// last_used_at is kept to the minute: at most one write per key per minute.
const LAST_USED_PRECISION_MS = 60_000;

const sameHash = (a: string, b: string) => {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
};

/** What a request checks of its token's user; cached per process (authz.cache.ts). */
type PrincipalRow = { status: string; tokenVersion: number; superadmin: boolean };

const principalKey = (userId: number) => `p:${userId}`;
const chainKey = (userId: number, companyId: number) => `c:${userId}:${companyId}`;

function principalIfValid(userId: number, tokenVersion: number, user: PrincipalRow | undefined) {
  if (!user || user.status === 'inactive' || user.tokenVersion !== tokenVersion) return undefined;
  return { userId, superadmin: user.superadmin } satisfies Principal;
}

/**
 * The request-level checks. With a cache, only a grant is answered from memory: a refusal (no such user, a
 * revoked token, no access) is always read again, so a token or an access newer than the cached rows (a login or
 * an invitation accepted on another node a moment ago) is never refused from memory, and a missing user or company
 * is never stored. `effectiveAccessIn` stays uncached: policies run it inside a change's transaction, after its
 * locks.
 */
export function createAuthzService(deps: {
  db: Db;
  cache?: AuthzCache | undefined;
  clock?: Clock;
  log?: { warn(obj: object, msg: string): void };
}) {
  const cache = deps.cache;
  const clock = deps.clock ?? systemClock;

  function cachedPrincipal(userId: number, tokenVersion: number) {
    return principalIfValid(userId, tokenVersion, cache?.get<PrincipalRow>(principalKey(userId)));
  }

  function cachedAccess(principal: Principal, companyId: number) {
    const chain = cache?.get<ChainRow[]>(chainKey(principal.userId, companyId));
    return chain && fromChain(principal, companyId, chain);
  }

  function store(ticket: number, userId: number, user: PrincipalRow | undefined) {
    if (user) cache?.set(ticket, principalKey(userId), userId, user);
  }

  function storeChain(ticket: number, userId: number, companyId: number, chain: ChainRow[]) {
    if (chain.length > 0) cache?.set(ticket, chainKey(userId, companyId), userId, chain);
  }

  return {
    /** Read-your-writes for this process: returns once the cache has applied every change committed so far. */
    settle: async () => cache?.settle(),

    /**
     * The principal and their access in `companyId` in one round trip (the common case: a company in the path).
     * `access` is null when the company is missing or invisible to them.
     */
    async principalWithAccess(userId: number, tokenVersion: number, companyId: number) {
      const ticket = cache?.ticket() ?? 0;
      const hit = cachedPrincipal(userId, tokenVersion);
      const access = hit && cachedAccess(hit, companyId);
      if (hit && access) return { principal: hit, access };
      const rows = await principalAndChain(deps.db, userId, companyId);
      const row = rows[0];
      const user = row && { status: row.status, tokenVersion: row.token_version, superadmin: row.superadmin };
      const chain = rows
        .filter((each) => each.company_id !== null)
        .map(({ company_id, depth, user_access_id, code }) => ({ company_id, depth, user_access_id, code }));
      store(ticket, userId, user);
      storeChain(ticket, userId, companyId, chain);
      const principal = principalIfValid(userId, tokenVersion, user);
      if (!principal) return undefined;
      return { principal, access: fromChain(principal, companyId, chain) ?? null };
    },

    /** The signed-in user, if the token's user still exists, is not deactivated and the token version matches. */
    async principal(userId: number, tokenVersion: number): Promise<Principal | undefined> {
      const ticket = cache?.ticket() ?? 0;
      const hit = cachedPrincipal(userId, tokenVersion);
      if (hit) return hit;
      const row = await findPrincipal(deps.db, userId);
      const user = row && { status: row.status, tokenVersion: row.tokenVersion, superadmin: row.superadmin };
      store(ticket, userId, user);
      return principalIfValid(userId, tokenVersion, user);
    },

    /**
     * The principal of an API key's secret (`lsk_…`) and its access in `companyId` (null: invisible), or undefined
     * for an unknown, revoked or expired key, or one whose creator no longer exists. Never cached: a revocation
     * takes effect on the next request on every process, with no notification to miss.
     */
    async apiKeyWithAccess(secret: string, companyId: number | undefined) {
      const hash = sha256(secret);
      const now = clock.now();
      const staleBefore = new Date(now.getTime() - LAST_USED_PRECISION_MS);
      const row = await findKeyForAuth(deps.db, hash, companyId, now, staleBefore);
      // The index found the row by hash; the comparison that decides is constant-time all the same.
      if (!row || !sameHash(row.secret_hash, hash) || row.dead || row.created_by_user_id === null) return undefined;
      const apiKey = { id: row.id, companyId: row.company_id, code: row.code };
      const principal: Principal = { userId: row.created_by_user_id, superadmin: false, apiKey };
      if (row.stale) {
        // Bookkeeping: a failed write never fails the request it describes.
        await touchLastUsed(deps.db, apiKey, now, staleBefore).catch((error: unknown) =>
          deps.log?.warn({ err: error, apiKeyId: apiKey.id }, 'api key last_used_at not written'),
        );
      }
      const access =
        companyId === undefined || !row.company_exists ? undefined : keyAccess(apiKey, companyId, row.depth);
      return { principal, access: access ?? null };
    },

    /** Undefined when the company does not exist or the caller has no access there (both answer 404). */
    async effectiveAccess(principal: Principal, companyId: number): Promise<EffectiveAccess | undefined> {
      if (principal.apiKey) return effectiveAccessIn(deps.db, principal, companyId);
      const ticket = cache?.ticket() ?? 0;
      const hit = cachedAccess(principal, companyId);
      if (hit) return hit;
      const chain = await accessChain(deps.db, principal.userId, companyId);
      storeChain(ticket, principal.userId, companyId, chain);
      return fromChain(principal, companyId, chain);
    },
  };
}

export type AuthzService = ReturnType<typeof createAuthzService>;
