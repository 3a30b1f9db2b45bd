import type { Static } from 'typebox';
import type { Db } from '../../db/client.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import { countCompanyUsers, listCompanyUsers } from './company-users.repository.ts';
import type { CompanyUsersQuery } from './company-users.schemas.ts';

export function createCompanyUsersService(deps: { db: Db }) {
  const { db } = deps;

  return {
    /** The route policy has already checked company_users:read in this company (directly or inherited). */
    async list(companyId: number, query: Static<typeof CompanyUsersQuery>) {
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['text', 'text', 'id']);
      const filter = { companyId, accessCode: query.access_code, q: query.q, after, limit };
      const rows = await listCompanyUsers(db, filter);
      const total = query.count ? await countCompanyUsers(db, { ...filter, after: undefined }) : undefined;
      return toPage(rows, limit, (row) => [row.sortLast, row.sortFirst, row.user.id], total);
    },
  };
}

export type CompanyUsersService = ReturnType<typeof createCompanyUsersService>;
