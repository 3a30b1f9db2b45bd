import type { Db } from '../../db/client.ts';
import type { AccessCode } from '../../lib/permissions.ts';
import { accessChain, findPrincipal } from './authz.repository.ts';

export type Principal = { userId: number; superadmin: boolean };

/** The caller's effective access in one company: direct, inherited from an ancestor, or platform staff. */
export type EffectiveAccess = {
  companyId: number;
  code: AccessCode;
  /** The user_access that grants it; null for superadmins without one. */
  userAccessId: number | null;
  inherited: boolean;
};

export function createAuthzService(deps: { db: Db }) {
  return {
    /** The signed-in user, if the token's user still exists, is not deactivated and the token version matches. */
    async principal(userId: number, tokenVersion: number): Promise<Principal | undefined> {
      const user = await findPrincipal(deps.db, userId);
      if (!user || user.status === 'inactive' || user.tokenVersion !== tokenVersion) return undefined;
      return { userId: user.id, superadmin: user.superadmin };
    },

    /** Undefined when the company does not exist or the caller has no access there (both answer 404). */
    async effectiveAccess(principal: Principal, companyId: number): Promise<EffectiveAccess | undefined> {
      const chain = await accessChain(deps.db, principal.userId, companyId);
      if (chain.length === 0) return undefined;
      const nearest = chain.find((row) => row.code !== null);
      // Platform staff administer every company, whatever access they also hold there.
      const code = principal.superadmin ? 'admin' : nearest?.code;
      if (!code) return undefined;
      return {
        companyId,
        code,
        userAccessId: nearest?.user_access_id ?? null,
        inherited: nearest === undefined || nearest.depth > 0,
      };
    },
  };
}

export type AuthzService = ReturnType<typeof createAuthzService>;
