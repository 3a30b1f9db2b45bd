import { type Static, Type } from 'typebox';
import { AccessCode } from '../reference/reference.schemas.ts';
import { presentSeedUser, SeedUserJson, userSummaryExample } from '../users/users.schemas.ts';
import type { UserAccessView } from './user-accesses.repository.ts';

const Id = Type.Integer({ minimum: 1 });

/** Exactly the seed's 201 body for POST /api/v1/users/{user_id}/user_access, key for key. */
export const UserAccessJson = Type.Object(
  {
    id: Type.Integer(),
    primary: Type.Boolean(),
    company: Type.Object({
      id: Type.Integer(),
      name: Type.String(),
      default: Type.Boolean(),
      parent_company_id: Type.Union([Type.Integer(), Type.Null()]),
    }),
    access: Type.Object({ id: Type.Integer(), name: Type.String(), code: AccessCode }),
    user: SeedUserJson,
  },
  {
    title: 'UserAccess',
    description: "A user's access (role) in one company.",
    examples: [
      {
        id: 31,
        primary: true,
        company: { id: 7, name: 'Acme Iberia', default: false, parent_company_id: null },
        access: { id: 3, name: 'Sales agent', code: 'agent' },
        user: userSummaryExample,
      },
    ],
  },
);

export const UserAccessEnvelope = Type.Object({ user_access: UserAccessJson });

export const UserParams = Type.Object({ user_id: Id });
export const UserAccessParams = Type.Object({ user_id: Id, user_access_id: Id });

export const CreateUserAccessBody = Type.Object(
  {
    user_id: Type.Optional(Type.Integer({ description: 'Must equal the path user_id when sent (the seed sends it).' })),
    company_id: Id,
    access_id: Id,
    primary: Type.Optional(Type.Boolean({ default: false })),
  },
  {
    additionalProperties: false,
    title: 'UserAccessCreate',
    examples: [{ company_id: 7, access_id: 3, primary: false }],
  },
);

export const UpdateUserAccessBody = Type.Object(
  { access_id: Type.Optional(Id), primary: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1, title: 'UserAccessUpdate', examples: [{ access_id: 2 }] },
);

export type CreateUserAccessInput = Static<typeof CreateUserAccessBody>;
export type UpdateUserAccessInput = Static<typeof UpdateUserAccessBody>;

export function presentUserAccess(view: UserAccessView) {
  return {
    id: view.ua.id,
    primary: view.ua.primary,
    company: {
      id: view.company.id,
      name: view.company.name,
      default: view.company.default,
      parent_company_id: view.company.parentCompanyId,
    },
    access: { id: view.access.id, name: view.access.name, code: view.access.code },
    user: presentSeedUser(view.user),
  };
}
