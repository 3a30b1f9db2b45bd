import type { Db, Executor } from '../../db/client.ts';
import type { EffectiveAccess, Principal } from '../../lib/permissions.ts';
import type { AuthzCache } from './authz.cache.ts';
import { accessChain, type ChainRow, findPrincipal, principalAndChain } from './authz.repository.ts';

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
 * `effectiveAccess` on any executor: policies run it inside the transaction of the change they guard, after its
 * locks, so the answer cannot go stale before the write.
 */
export async function effectiveAccessIn(
  db: Executor,
  principal: Principal,
  companyId: number,
): Promise<EffectiveAccess | undefined> {
  return fromChain(principal, companyId, await accessChain(db, principal.userId, companyId));
}

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
export function createAuthzService(deps: { db: Db; cache?: AuthzCache | undefined }) {
  const cache = deps.cache;

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

    /** Undefined when the company does not exist or the caller has no access there (both answer 404). */
    async effectiveAccess(principal: Principal, companyId: number): Promise<EffectiveAccess | undefined> {
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
