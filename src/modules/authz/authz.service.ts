import type { Db, Executor } from '../../db/client.ts';
import type { AccessCode } from '../../lib/permissions.ts';
import type { AuthzCache } from './authz.cache.ts';
import { accessChain, type ChainRow, findPrincipal, principalAndChain } from './authz.repository.ts';

export type Principal = { userId: number; superadmin: boolean };

/** The caller's effective access in one company: direct, inherited from an ancestor, or platform staff. */
export type EffectiveAccess = {
  companyId: number;
  code: AccessCode;
  /** The user_access that grants it; null for superadmins without one. */
  userAccessId: number | null;
  inherited: boolean;
  /** The company of that user_access (this one, or the ancestor it is inherited from); null for staff without one. */
  sourceCompanyId: number | null;
};

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
 * The request-level checks. With a cache, they read the database only on a miss; a missing user or company is
 * never stored (a new company id must not stay "not found"). `effectiveAccessIn` stays uncached: policies run it
 * inside a change's transaction, after its locks.
 */
export function createAuthzService(deps: { db: Db; cache?: AuthzCache | undefined }) {
  const cache = deps.cache;

  async function chainOf(userId: number, companyId: number): Promise<ChainRow[]> {
    const ticket = cache?.ticket() ?? 0;
    const cached = cache?.get<ChainRow[]>(chainKey(userId, companyId));
    if (cached) return cached;
    const chain = await accessChain(deps.db, userId, companyId);
    if (chain.length > 0) cache?.set(ticket, chainKey(userId, companyId), userId, chain);
    return chain;
  }

  return {
    /**
     * The principal and their access in `companyId` in one round trip (the common case: a company in the path).
     * `access` is null when the company is missing or invisible to them.
     */
    async principalWithAccess(userId: number, tokenVersion: number, companyId: number) {
      const ticket = cache?.ticket() ?? 0;
      let user = cache?.get<PrincipalRow>(principalKey(userId));
      let chain = user && cache?.get<ChainRow[]>(chainKey(userId, companyId));
      if (!user || !chain) {
        const rows = await principalAndChain(deps.db, userId, companyId);
        const row = rows[0];
        user = row && { status: row.status, tokenVersion: row.token_version, superadmin: row.superadmin };
        chain = rows
          .filter((each) => each.company_id !== null)
          .map(({ company_id, depth, user_access_id, code }) => ({ company_id, depth, user_access_id, code }));
        if (user) cache?.set(ticket, principalKey(userId), userId, user);
        if (chain.length > 0) cache?.set(ticket, chainKey(userId, companyId), userId, chain);
      }
      const principal = principalIfValid(userId, tokenVersion, user);
      if (!principal) return undefined;
      return { principal, access: fromChain(principal, companyId, chain) ?? null };
    },

    /** The signed-in user, if the token's user still exists, is not deactivated and the token version matches. */
    async principal(userId: number, tokenVersion: number): Promise<Principal | undefined> {
      const ticket = cache?.ticket() ?? 0;
      let user = cache?.get<PrincipalRow>(principalKey(userId));
      if (!user) {
        const row = await findPrincipal(deps.db, userId);
        user = row && { status: row.status, tokenVersion: row.tokenVersion, superadmin: row.superadmin };
        if (user) cache?.set(ticket, principalKey(userId), userId, user);
      }
      return principalIfValid(userId, tokenVersion, user);
    },

    /** Undefined when the company does not exist or the caller has no access there (both answer 404). */
    effectiveAccess: async (principal: Principal, companyId: number) =>
      fromChain(principal, companyId, await chainOf(principal.userId, companyId)),
  };
}

export type AuthzService = ReturnType<typeof createAuthzService>;
