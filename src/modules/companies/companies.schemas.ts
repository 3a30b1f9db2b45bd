import { type Static, Type } from 'typebox';
import { avatarRoute } from '../../lib/avatar-route.ts';
import type { PlanRow } from '../memberships/memberships.repository.ts';
import { MembershipJson, presentMembership } from '../memberships/memberships.schemas.ts';
import type { CompanyRow } from './companies.repository.ts';

const Country = Type.String({
  pattern: '^[A-Z]{2}$',
  description: 'ISO 3166-1 alpha-2; the default for phone numbers.',
});
const TimeZone = Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Madrid.' });
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const Id = Type.Integer({ minimum: 1 });

export const CompanyAccessJson = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  code: Type.String(),
  user_access_id: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The access that grants it: here, or in an ancestor company when `inherited`.',
  }),
  inherited: Type.Boolean(),
});

export const CompanyJson = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  default: Type.Boolean(),
  parent_company_id: Type.Union([Type.Integer(), Type.Null()]),
  avatar_route: Type.Union([Type.String(), Type.Null()]),
  cycles_enabled: Type.Boolean(),
  country: Type.Union([Type.String(), Type.Null()]),
  time_zone: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  membership: Type.Optional(
    Type.Object(MembershipJson.properties, {
      description: 'The plan in force, whose limits apply (the free plan without a subscription).',
    }),
  ),
  access: Type.Optional(
    Type.Union([CompanyAccessJson, Type.Null()], { description: "The caller's effective access in this company." }),
  ),
});

/** One company as its routes answer it (create, show, update). */
export const CompanyEnvelope = Type.Object({ company: CompanyJson });

export { CompanyParams } from '../../lib/schema.ts';

export const CreateCompanyBody = Type.Object(
  {
    name: Name,
    parent_company_id: Type.Optional(Type.Union([Id, Type.Null()])),
    default: Type.Optional(Type.Boolean()),
    country: Type.Optional(Country),
    time_zone: Type.Optional(TimeZone),
  },
  { additionalProperties: false },
);

export const UpdateCompanyBody = Type.Object(
  {
    name: Type.Optional(Name),
    parent_company_id: Type.Optional(Type.Union([Id, Type.Null()])),
    default: Type.Optional(Type.Boolean()),
    country: Type.Optional(Type.Union([Country, Type.Null()])),
    time_zone: Type.Optional(Type.Union([TimeZone, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ListCompaniesQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});

export type CreateCompanyInput = Static<typeof CreateCompanyBody>;
export type UpdateCompanyInput = Static<typeof UpdateCompanyBody>;
export type CompanyAccess = Static<typeof CompanyAccessJson>;

/** `plan` is the plan in force (LimitsService.planOf / plansOf). */
export function presentCompany(row: CompanyRow, access?: CompanyAccess | null, plan?: PlanRow) {
  return {
    id: row.id,
    name: row.name,
    default: row.default,
    parent_company_id: row.parentCompanyId,
    avatar_route: avatarRoute('companies', row.avatarKey),
    cycles_enabled: row.cyclesEnabled,
    country: row.country,
    time_zone: row.timeZone,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    ...(plan === undefined ? {} : { membership: presentMembership(plan) }),
    ...(access === undefined ? {} : { access }),
  };
}
