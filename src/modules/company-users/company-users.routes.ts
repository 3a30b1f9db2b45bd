import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CompanyParams } from '../companies/companies.schemas.ts';
import { CompanyUsersPage, CompanyUsersQuery, presentCompanyUser } from './company-users.schemas.ts';
import type { CompanyUsersService } from './company-users.service.ts';

export const companyUsersRoutes: FastifyPluginAsyncTypebox<{ service: CompanyUsersService }> = async (
  app,
  { service },
) => {
  app.get(
    '/api/v1/companies/:company_id/users',
    {
      config: { policy: { permission: 'company_users:read' } },
      schema: {
        operationId: 'listCompanyUsers',
        tags: ['Company Users'],
        summary: 'Get users from an specific company',
        description:
          'The users holding an access directly in this company (not those who only inherit one from a parent ' +
          'company), each with that access in `user_access`. Ordered by last name, then first name ' +
          '(case-insensitive), then id; keyset-paginated. `q` searches first name, last name and email; ' +
          '`access_code` keeps one access. Administrators and managers only.',
        params: CompanyParams,
        querystring: CompanyUsersQuery,
        response: { 200: CompanyUsersPage },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      return { users: page.items.map(presentCompanyUser), meta: page.meta };
    },
  );
};
