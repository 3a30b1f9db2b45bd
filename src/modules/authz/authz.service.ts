import type { Db, Executor } from '../../db/client.ts';
import type { AccessCode } from '../../lib/permissions.ts';
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

export function createAuthzService(deps: { db: Db }) {
  return {
    /**
     * The principal and their access in `companyId` in one round trip (the common case: a company in the path).
     * `access` is null when the company is missing or invisible to them.
     */
    async principalWithAccess(userId: number, tokenVersion: number, companyId: number) {
      const rows = await principalAndChain(deps.db, userId, companyId);
      const user = rows[0];
      if (!user || user.status === 'inactive' || user.token_version !== tokenVersion) return undefined;
      const principal: Principal = { userId, superadmin: user.superadmin };
      const chain = rows.filter((row) => row.company_id !== null);
      return { principal, access: fromChain(principal, companyId, chain) ?? null };
    },

    /** The signed-in user, if the token's user still exists, is not deactivated and the token version matches. */
    async principal(userId: number, tokenVersion: number): Promise<Principal | undefined> {
      const user = await findPrincipal(deps.db, userId);
      if (!user || user.status === 'inactive' || user.tokenVersion !== tokenVersion) return undefined;
      return { userId: user.id, superadmin: user.superadmin };
    },

    /** Undefined when the company does not exist or the caller has no access there (both answer 404). */
    effectiveAccess: (principal: Principal, companyId: number) => effectiveAccessIn(deps.db, principal, companyId),
  };
}

export type AuthzService = ReturnType<typeof createAuthzService>;
