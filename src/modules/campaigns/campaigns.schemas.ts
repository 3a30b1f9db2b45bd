import { type Static, Type } from 'typebox';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import type { CampaignWithSource } from './campaigns.repository.ts';

export const MAX_CAMPAIGN_QUESTIONS = 200;

const Id = Type.Integer({ minimum: 1 });
const DateTime = Type.String({ format: 'date-time' });
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: 'Trimmed; 1..200 characters.' });
const Status = Type.Enum(['active', 'paused', 'finished']);
const NullableDateTime = Type.Union([DateTime, Type.Null()]);

export const CampaignJson = Type.Object(
  {
    id: Type.Integer(),
    company_id: Type.Integer(),
    name: Type.String(),
    source: Type.Union([Type.Object({ id: Type.Integer(), name: Type.String() }), Type.Null()]),
    status: Status,
    starts_at: NullableDateTime,
    ends_at: NullableDateTime,
    question_ids: Type.Array(Type.Integer(), { description: "The campaign's live questions, in campaign order." }),
    created_at: DateTime,
    updated_at: DateTime,
  },
  {
    title: 'Campaign',
    description: 'A marketing campaign leads can come from, with the questions its leads answer.',
    examples: [
      {
        id: 4,
        company_id: 7,
        name: 'Spring 2026',
        source: { id: 11, name: 'Website' },
        status: 'active',
        starts_at: '2026-03-01T00:00:00.000Z',
        ends_at: '2026-05-31T22:00:00.000Z',
        question_ids: [21, 22],
        created_at: '2026-03-02T09:40:00.000Z',
        updated_at: '2026-03-02T09:40:00.000Z',
      },
    ],
  },
);

export const CampaignEnvelope = Type.Object({ campaign: CampaignJson });
export const CampaignList = Type.Object({ campaigns: Type.Array(CampaignJson), meta: PageMeta });

export const CompanyParams = Type.Object({ company_id: Id });
export const CampaignParams = Type.Object({ company_id: Id, campaign_id: Id });
export const ListCampaignsQuery = Type.Object({ status: Type.Optional(Status), ...PageQuery });

const fields = {
  source_id: Type.Optional(
    Type.Union([Id, Type.Null()], { description: 'A live source of this company, or null for none.' }),
  ),
  status: Type.Optional(Status),
  starts_at: Type.Optional(NullableDateTime),
  ends_at: Type.Optional(Type.Union([DateTime, Type.Null()], { description: 'After `starts_at` when both are set.' })),
  question_ids: Type.Optional(
    Type.Array(Id, {
      maxItems: MAX_CAMPAIGN_QUESTIONS,
      description: "Live questions of this company, in the campaign's order. On update, replaces the whole set.",
    }),
  ),
};

export const CreateCampaignBody = Type.Object(
  { name: Name, ...fields },
  {
    additionalProperties: false,
    title: 'CampaignCreate',
    examples: [
      { name: 'Spring 2026', status: 'active', starts_at: '2026-03-01T00:00:00Z', ends_at: '2026-05-31T22:00:00Z' },
    ],
  },
);
export const UpdateCampaignBody = Type.Object(
  { name: Type.Optional(Name), ...fields },
  {
    additionalProperties: false,
    minProperties: 1,
    title: 'CampaignUpdate',
    examples: [{ status: 'paused', ends_at: '2026-04-30T22:00:00Z' }],
  },
);

export type CreateCampaignInput = Static<typeof CreateCampaignBody>;
export type UpdateCampaignInput = Static<typeof UpdateCampaignBody>;
export type ListCampaignsInput = Static<typeof ListCampaignsQuery>;

export type CampaignView = CampaignWithSource & { questionIds: number[] };

export function presentCampaign({ campaign, source, questionIds }: CampaignView) {
  return {
    id: campaign.id,
    company_id: campaign.companyId,
    name: campaign.name,
    source: source ? { id: source.id, name: source.name } : null,
    status: campaign.status,
    starts_at: campaign.startsAt?.toISOString() ?? null,
    ends_at: campaign.endsAt?.toISOString() ?? null,
    question_ids: questionIds,
    created_at: campaign.createdAt.toISOString(),
    updated_at: campaign.updatedAt.toISOString(),
  };
}
