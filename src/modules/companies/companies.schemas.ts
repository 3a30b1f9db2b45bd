import { type Static, Type } from 'typebox';
import { avatarRoute } from '../../lib/avatar-route.ts';
import type { PlanRow } from '../memberships/memberships.repository.ts';
import { freePlanExample, MembershipJson, presentMembership } from '../memberships/memberships.schemas.ts';
import { AccessCode } from '../reference/reference.schemas.ts';
import type { CompanyRow } from './companies.repository.ts';

const Country = Type.String({
  pattern: '^[A-Z]{2}$',
  description: 'ISO 3166-1 alpha-2; the default for phone numbers.',
});
const TimeZone = Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Madrid.' });
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const Id = Type.Integer({ minimum: 1 });

const companyAccessExample = { id: 1, name: 'Administrator', code: 'admin', user_access_id: 31, inherited: false };

export const CompanyAccessJson = Type.Object(
  {
    id: Type.Integer({ description: 'The access (role) id.' }),
    name: Type.String(),
    code: AccessCode,
    user_access_id: Type.Union([Type.Integer(), Type.Null()], {
      description: 'The access that grants it: here, or in an ancestor company when `inherited`.',
    }),
    inherited: Type.Boolean(),
  },
  {
    title: 'CompanyAccess',
    description: "The caller's effective access in a company: held there, or inherited from an ancestor.",
    examples: [companyAccessExample],
  },
);

export const CompanyJson = Type.Object(
  {
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
    membership: Type.Optional(MembershipJson),
    access: Type.Optional(
      Type.Union([CompanyAccessJson, Type.Null()], { description: "The caller's effective access in this company." }),
    ),
  },
  {
    title: 'Company',
    description:
      'A company (a tenant; companies may nest). `membership` is the plan in force, whose limits apply (the free ' +
      "plan without a subscription); `access` is the caller's effective access in it.",
    examples: [
      {
        id: 7,
        name: 'Acme Iberia',
        default: false,
        parent_company_id: null,
        avatar_route: null,
        cycles_enabled: false,
        country: 'ES',
        time_zone: 'Europe/Madrid',
        created_at: '2026-03-02T09:10:00.000Z',
        updated_at: '2026-03-02T09:10:00.000Z',
        membership: freePlanExample,
        access: companyAccessExample,
      },
    ],
  },
);

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
  {
    additionalProperties: false,
    title: 'CompanyCreate',
    examples: [{ name: 'Acme Iberia', country: 'ES', time_zone: 'Europe/Madrid' }],
  },
);

export const UpdateCompanyBody = Type.Object(
  {
    name: Type.Optional(Name),
    parent_company_id: Type.Optional(Type.Union([Id, Type.Null()])),
    default: Type.Optional(Type.Boolean()),
    country: Type.Optional(Type.Union([Country, Type.Null()])),
    time_zone: Type.Optional(Type.Union([TimeZone, Type.Null()])),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    title: 'CompanyUpdate',
    examples: [{ name: 'Acme Iberia S.L.', time_zone: 'Atlantic/Canary' }],
  },
);

export const ListCompaniesQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});

export type CreateCompanyInput = Static<typeof CreateCompanyBody>;
export type UpdateCompanyInput = Static<typeof UpdateCompanyBody>;
export type CompanyAccess = Static<typeof CompanyAccessJson>;

/** An access as the company list reads it from SQL: its code is a column of the three `AccessCode` values. */
type ListedAccess = Omit<CompanyAccess, 'code'> & { code: string };

/** `plan` is the plan in force (LimitsService.planOf / plansOf). */
export function presentCompany(row: CompanyRow, access?: CompanyAccess | ListedAccess | null, plan?: PlanRow) {
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
    ...(access === undefined ? {} : { access: access && { ...access, code: access.code as CompanyAccess['code'] } }),
  };
}
