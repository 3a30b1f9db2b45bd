import { type Static, Type } from 'typebox';
import type { territories } from '../../db/schema/index.ts';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import {
  MemberJson,
  type MemberView,
  memberExamples,
  presentMember,
  UserAccessIds,
  Weights,
} from '../rotation-members/rotation-members.schemas.ts';

/** Every lead creation matches against all of a company's territories: they are capped, and so are their lists. */
export const MAX_TERRITORIES = 1000;
export const MAX_BULK = 100;
export const MAX_REGIONS = 100;
export const MAX_POSTAL_CODES = 500;

const Id = Type.Integer({ minimum: 1 });
const DateTime = Type.String({ format: 'date-time' });
const Name = Type.String({ minLength: 1, maxLength: 120, pattern: '\\S', description: 'Trimmed; 1..120 characters.' });
const Country = Type.Union([Type.String({ minLength: 2, maxLength: 2, pattern: '^[A-Za-z]{2}$' }), Type.Null()], {
  description: 'ISO 3166-1 alpha-2, stored upper-case. The territory then only takes leads of this country.',
});
const Regions = Type.Array(Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }), {
  maxItems: MAX_REGIONS,
  description: 'Region names, stored trimmed as written; matched case- and accent-insensitively. Each once.',
});
const PostalCodes = Type.Array(Type.String({ minLength: 1, maxLength: 20 }), {
  maxItems: MAX_POSTAL_CODES,
  description:
    'Exact postal codes (`28013`) or prefixes ending in one `*` (`06*`); letters, digits and `-`. Stored ' +
    'upper-case without spaces. Each once.',
});

const fields = {
  name: Name,
  country: Type.Optional(Country),
  regions: Type.Optional(Regions),
  postal_codes: Type.Optional(PostalCodes),
  user_access_ids: UserAccessIds,
  weights: Type.Optional(Weights),
};

const territoryInputExample = {
  name: 'Madrid',
  country: 'ES',
  regions: ['Madrid'],
  postal_codes: ['28*'],
  user_access_ids: [31, 32],
  weights: [2, 1],
};

export const TerritoryInputSchema = Type.Object(fields, {
  additionalProperties: false,
  title: 'TerritoryCreate',
  examples: [territoryInputExample],
});

export const CreateTerritoriesBody = Type.Object(
  { territories: Type.Array(TerritoryInputSchema, { minItems: 1, maxItems: MAX_BULK }) },
  {
    additionalProperties: false,
    title: 'TerritoriesCreate',
    examples: [
      {
        territories: [
          territoryInputExample,
          { name: 'Badajoz', country: 'ES', postal_codes: ['06*'], user_access_ids: [32] },
        ],
      },
    ],
  },
);

export const UpdateTerritoryBody = Type.Object(
  {
    ...fields,
    name: Type.Optional(Name),
    user_access_ids: Type.Optional(UserAccessIds),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    title: 'TerritoryUpdate',
    examples: [{ name: 'Comunidad de Madrid', postal_codes: ['28*', '19200'] }],
  },
);

export const TerritoryJson = Type.Object(
  {
    id: Type.Integer(),
    company_id: Type.Integer(),
    name: Type.String(),
    country: Type.Union([Type.String(), Type.Null()]),
    regions: Type.Array(Type.String()),
    postal_codes: Type.Array(Type.String()),
    members: Type.Array(MemberJson, { description: 'In rotation order.' }),
    created_at: DateTime,
    updated_at: DateTime,
  },
  {
    title: 'Territory',
    description: 'An area (postal codes, regions, a country) whose new leads rotate among its members.',
    examples: [
      {
        id: 9,
        company_id: 7,
        name: 'Madrid',
        country: 'ES',
        regions: ['Madrid'],
        postal_codes: ['28*'],
        members: memberExamples,
        created_at: '2026-03-02T09:50:00.000Z',
        updated_at: '2026-03-02T09:50:00.000Z',
      },
    ],
  },
);

export const TerritoryEnvelope = Type.Object({ territory: TerritoryJson });
export const TerritoryArray = Type.Object({ territories: Type.Array(TerritoryJson) });
export const TerritoryList = Type.Object({ territories: Type.Array(TerritoryJson), meta: PageMeta });

export const CompanyParams = Type.Object({ company_id: Id });
export const TerritoryParams = Type.Object({ company_id: Id, territory_id: Id });
export const ListTerritoriesQuery = Type.Object(PageQuery);

export type TerritoryInput = Static<typeof TerritoryInputSchema>;
export type UpdateTerritoryInput = Static<typeof UpdateTerritoryBody>;
export type PageInput = Static<typeof ListTerritoriesQuery>;

export type TerritoryRow = typeof territories.$inferSelect;
export type TerritoryView = { territory: TerritoryRow; members: MemberView[] };

export function presentTerritory({ territory, members }: TerritoryView) {
  return {
    id: territory.id,
    company_id: territory.companyId,
    name: territory.name,
    country: territory.country,
    regions: territory.regions,
    postal_codes: territory.postalCodes,
    members: members.map(presentMember),
    created_at: territory.createdAt.toISOString(),
    updated_at: territory.updatedAt.toISOString(),
  };
}
