import type { Db } from '../../db/client.ts';
import { forbidden } from '../../lib/errors.ts';
import type { Principal } from '../../lib/permissions.ts';
import { isSelfOrStaff } from '../authz/authz.policies.ts';
import type { UsersService } from '../users/users.service.ts';
import { listUserProviders } from './user-providers.repository.ts';

export function createUserProvidersService(deps: { db: Db; users: Pick<UsersService, 'visible'> }) {
  return {
    /** Self and platform staff. A manager who can see the user gets 403; anyone else 404 (see users.visible). */
    async list(principal: Principal, userId: number) {
      const user = await deps.users.visible(principal, userId);
      if (!isSelfOrStaff(principal, userId)) {
        throw forbidden('Only the user and platform staff may see how a user signs in.');
      }
      return { user, links: await listUserProviders(deps.db, userId) };
    },
  };
}

export type UserProvidersService = ReturnType<typeof createUserProvidersService>;
