import { Type } from 'typebox';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import { AccessCode } from '../reference/reference.schemas.ts';
import { presentUser, UserJson, userExample } from '../users/users.schemas.ts';
import type { CompanyUserRow } from './company-users.repository.ts';

export const CompanyUsersQuery = Type.Object({
  q: Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: 'Searches first name, last name and email.' }),
  ),
  access_code: Type.Optional(
    Type.Enum(['admin', 'manager', 'agent'], { description: 'Only the users holding this access in the company.' }),
  ),
  ...PageQuery,
  // Longer than other lists' cursors: this one carries two names.
  cursor: Type.Optional(
    Type.String({ maxLength: 2048, description: 'Opaque cursor from `meta.next_cursor` of the previous page.' }),
  ),
});

export const CompanyUserJson = Type.Object(
  {
    ...UserJson.properties,
    user_access: Type.Object({
      id: Type.Integer(),
      primary: Type.Boolean(),
      access: Type.Object({ id: Type.Integer(), code: AccessCode, name: Type.String() }),
    }),
  },
  {
    title: 'CompanyUser',
    description: 'A user of a company, with the access they hold directly in it.',
    examples: [
      { ...userExample, user_access: { id: 31, primary: true, access: { id: 3, code: 'agent', name: 'Sales agent' } } },
    ],
  },
);

export const CompanyUsersPage = Type.Object({ users: Type.Array(CompanyUserJson), meta: PageMeta });

export function presentCompanyUser(row: CompanyUserRow) {
  return {
    ...presentUser(row.user),
    user_access: { id: row.userAccess.id, primary: row.userAccess.primary, access: row.access },
  };
}
