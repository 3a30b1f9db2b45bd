import { type Static, Type } from 'typebox';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import {
  MemberJson,
  type MemberView,
  memberExamples,
  presentMember,
  UserAccessIds,
  Weights,
} from '../rotation-members/rotation-members.schemas.ts';
import type { CycleWithSource } from './cycles.repository.ts';

/** A company's cycles are capped, like every list a tenant can grow. */
export const MAX_CYCLES = 200;

const Id = Type.Integer({ minimum: 1 });
const DateTime = Type.String({ format: 'date-time' });
const Name = Type.String({ minLength: 1, maxLength: 120, pattern: '\\S', description: 'Trimmed; 1..120 characters.' });
const SourceId = Type.Union([Id, Type.Null()], {
  description:
    'A live source of this company: its leads rotate in this cycle. At most one cycle per source (409). ' +
    '`null` unbinds.',
});
const Default = Type.Boolean({
  description: "The company's default cycle, for leads no other rule places. Setting it clears the previous one.",
});

export const CycleJson = Type.Object(
  {
    id: Type.Integer(),
    company_id: Type.Integer(),
    name: Type.String(),
    source: Type.Union([Type.Object({ id: Type.Integer(), name: Type.String() }), Type.Null()]),
    default: Type.Boolean(),
    members: Type.Array(MemberJson, { description: 'In rotation order.' }),
    created_at: DateTime,
    updated_at: DateTime,
  },
  {
    title: 'Cycle',
    description: 'A rotation that hands new leads to its members in turn, by weight.',
    examples: [
      {
        id: 3,
        company_id: 7,
        name: 'Inbound',
        source: { id: 11, name: 'Website' },
        default: true,
        members: memberExamples,
        created_at: '2026-03-02T09:45:00.000Z',
        updated_at: '2026-03-02T09:45:00.000Z',
      },
    ],
  },
);

export const CycleEnvelope = Type.Object({ cycle: CycleJson });
export const CycleList = Type.Object({ cycles: Type.Array(CycleJson), meta: PageMeta });

export const CompanyParams = Type.Object({ company_id: Id });
export const CycleParams = Type.Object({ company_id: Id, cycle_id: Id });
export const ListCyclesQuery = Type.Object(PageQuery);

export const CyclesEnabledBody = Type.Object(
  { enabled: Type.Boolean({ description: 'Whether new leads without an assignee are distributed.' }) },
  { additionalProperties: false, title: 'CyclesEnabledUpdate', examples: [{ enabled: true }] },
);

export const CreateCycleBody = Type.Object(
  {
    name: Name,
    user_access_ids: UserAccessIds,
    weights: Type.Optional(Weights),
    source_id: Type.Optional(SourceId),
    default: Type.Optional(Default),
  },
  {
    additionalProperties: false,
    title: 'CycleCreate',
    examples: [{ name: 'Inbound', user_access_ids: [31, 32], weights: [2, 1], default: true }],
  },
);

export const UpdateCycleBody = Type.Object(
  {
    name: Type.Optional(Name),
    user_access_ids: Type.Optional(UserAccessIds),
    weights: Type.Optional(Weights),
    source_id: Type.Optional(SourceId),
    default: Type.Optional(Default),
  },
  { additionalProperties: false, minProperties: 1, title: 'CycleUpdate', examples: [{ name: 'Inbound leads' }] },
);

export type CreateCycleInput = Static<typeof CreateCycleBody>;
export type UpdateCycleInput = Static<typeof UpdateCycleBody>;
export type PageInput = Static<typeof ListCyclesQuery>;

export type CycleView = CycleWithSource & { members: MemberView[] };

export function presentCycle({ cycle, source, members }: CycleView) {
  return {
    id: cycle.id,
    company_id: cycle.companyId,
    name: cycle.name,
    source,
    default: cycle.isDefault,
    members: members.map(presentMember),
    created_at: cycle.createdAt.toISOString(),
    updated_at: cycle.updatedAt.toISOString(),
  };
}
