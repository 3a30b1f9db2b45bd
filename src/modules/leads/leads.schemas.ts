import { type Static, Type } from 'typebox';
import type { leads } from '../../db/schema/index.ts';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import { Nullable } from '../../lib/schema.ts';

const Id = Type.Integer({ minimum: 1 });
const Text = (maxLength: number) => Nullable(Type.String({ maxLength }));

export const AnswerValue = Type.Union([
  Type.String({ maxLength: 2000 }),
  Type.Number(),
  Type.Boolean(),
  Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 }),
  Type.Null(),
]);

export const AnswerInput = Type.Object(
  { question_id: Id, value: AnswerValue },
  {
    additionalProperties: false,
    description:
      'A value of the question kind: text, number, YYYY-MM-DD, boolean, an option value, or a list of option values.',
  },
);

/** A bounded JSON object: at most 50 keys of scalar values. */
export const Attributes = Type.Record(
  Type.String({ minLength: 1, maxLength: 64 }),
  Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean(), Type.Null()]),
  { maxProperties: 50, description: 'Free-form data: up to 50 keys, scalar values.' },
);

const leadFields = {
  first_name: Text(100),
  last_name: Text(100),
  email: Text(254),
  phone: Text(40),
  country: Nullable(Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2' })),
  region: Text(100),
  city: Text(100),
  postal_code: Text(20),
  source_id: Nullable(Id),
  campaign_id: Nullable(Id),
  stage_id: Id,
  assigned_user_access_id: Nullable(Id),
  value: Nullable(Type.Number({ minimum: 0, maximum: 999_999_999_999 })),
  currency: Nullable(Type.String({ pattern: '^[A-Z]{3}$' })),
  external_id: Text(200),
  answers: Type.Array(AnswerInput, { maxItems: 200 }),
  attributes: Attributes,
};

type LeadFields = typeof leadFields;
const optional = <K extends keyof LeadFields>(keys: K[]) =>
  Object.fromEntries(keys.map((key) => [key, Type.Optional(leadFields[key])])) as {
    [P in K]: ReturnType<typeof Type.Optional<LeadFields[P]>>;
  };
const ALL = Object.keys(leadFields) as (keyof LeadFields)[];

export const CreateLeadBody = Type.Object(optional(ALL), {
  title: 'LeadCreate',
  additionalProperties: false,
  // Also in the schema (the service checks the normalized values), so one 422 lists it beside every other error.
  anyOf: [
    { required: ['email'], properties: { email: { type: 'string' } } },
    { required: ['phone'], properties: { phone: { type: 'string' } } },
  ],
  'x-error': { field: 'email', code: 'contact_required', message: 'a lead needs an email or a phone (or both)' },
  description: 'At least one of `email` or `phone`. `stage_id` defaults to the first open stage.',
  examples: [
    {
      first_name: 'Ana',
      last_name: 'García',
      email: 'ana@example.com',
      phone: '+34612345678',
      country: 'ES',
      city: 'Madrid',
      postal_code: '28001',
      value: 1500,
      currency: 'EUR',
      attributes: { utm_source: 'newsletter' },
    },
  ],
});
export const UpdateLeadBody = Type.Object(optional(ALL), {
  title: 'LeadUpdate',
  additionalProperties: false,
  minProperties: 1,
  description: 'Only the fields to change; `null` clears one.',
  examples: [{ city: 'Barcelona', postal_code: '08001', value: 2500 }],
});

export type LeadInput = Static<typeof CreateLeadBody>;

const Ref = Type.Object({ id: Type.Integer(), name: Type.String() });

export const LeadAnswerJson = Type.Object(
  { question_id: Type.Integer(), value: AnswerValue },
  { title: 'LeadAnswer', description: "A lead's answer to a question, of the question's kind." },
);

const STAGE_KINDS = ['open', 'won', 'lost'] as const;
const LeadStage = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  code: Type.String(),
  kind: Type.Enum([...STAGE_KINDS]),
});

const leadExample = {
  id: 101,
  company_id: 1,
  first_name: 'Ana',
  last_name: 'García',
  full_name: 'Ana García',
  email: 'ana@example.com',
  phone: '+34612345678',
  phone_raw: '612 34 56 78',
  country: 'ES',
  region: 'Madrid',
  city: 'Madrid',
  postal_code: '28001',
  source: { id: 3, name: 'Website form' },
  campaign: null,
  stage: { id: 1, name: 'New', code: 'new', kind: 'open' },
  assigned_user_access_id: 7,
  assignee: { user_access_id: 7, user_id: 5, full_name: 'Luis Pérez', email: 'luis@example.com' },
  value: 1500,
  currency: 'EUR',
  external_id: null,
  answers: [{ question_id: 4, value: 'Next month' }],
  attributes: { utm_source: 'newsletter' },
  created_at: '2026-03-23T15:30:28.000Z',
  updated_at: '2026-03-23T15:30:28.000Z',
};

const leadFieldsJson = {
  id: Type.Integer(),
  company_id: Type.Integer(),
  first_name: Nullable(Type.String()),
  last_name: Nullable(Type.String()),
  full_name: Type.String(),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String({ description: 'E.164' })),
  phone_raw: Nullable(Type.String({ description: 'As received' })),
  country: Nullable(Type.String()),
  region: Nullable(Type.String()),
  city: Nullable(Type.String()),
  postal_code: Nullable(Type.String()),
  source: Nullable(Ref),
  campaign: Nullable(Ref),
  stage: LeadStage,
  assigned_user_access_id: Nullable(Type.Integer()),
  assignee: Nullable(
    Type.Object({
      user_access_id: Type.Integer(),
      user_id: Type.Integer(),
      full_name: Type.String(),
      email: Type.String(),
    }),
  ),
  value: Nullable(Type.Number()),
  currency: Nullable(Type.String()),
  external_id: Nullable(Type.String()),
  answers: Type.Array(LeadAnswerJson),
  attributes: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
};

export const LeadJson = Type.Object(leadFieldsJson, {
  title: 'Lead',
  description: 'A lead: a person or company that may buy, with its pipeline stage, assignee and answers.',
  examples: [leadExample],
});

const noteExample = {
  id: 12,
  lead_id: 101,
  body: 'Called: wants a quote for 20 seats before Friday.',
  author: { id: 5, full_name: 'Luis Pérez' },
  created_at: '2026-03-24T09:12:00.000Z',
};

export const NoteJson = Type.Object(
  {
    id: Type.Integer(),
    lead_id: Type.Integer(),
    body: Type.String(),
    author: Nullable(Type.Object({ id: Type.Integer(), full_name: Type.String() })),
    created_at: Type.String({ format: 'date-time' }),
  },
  { title: 'Note', description: 'A note on a lead.', examples: [noteExample] },
);

export const LeadDetailJson = Type.Object(
  { ...leadFieldsJson, notes: Type.Array(NoteJson, { description: 'The latest 20 notes, newest first.' }) },
  {
    title: 'LeadDetail',
    description: 'A lead as its GET shows it: the lead with its latest notes.',
    examples: [{ ...leadExample, notes: [noteExample] }],
  },
);

export const LeadParams = Type.Object({ company_id: Id, lead_id: Id });

const SORTS = ['created_at', '-created_at', 'updated_at', '-updated_at'] as const;
export type LeadSort = (typeof SORTS)[number];

/**
 * What a list shows of a soft-deleted lead with `include_deleted=true`: enough for a mirror to drop its copy. The
 * same shape as the `data` of a `lead.deleted` event.
 */
export const LeadTombstoneJson = Type.Object(
  {
    id: Type.Integer(),
    deleted_at: Type.String({ format: 'date-time', description: 'When it was deleted: also its `updated_at`.' }),
    external_id: Nullable(Type.String()),
  },
  {
    title: 'LeadTombstone',
    description: 'A deleted lead: in lists with `include_deleted=true`, and the `data` of `lead.deleted`.',
    examples: [{ id: 101, deleted_at: '2026-03-25T10:00:00.000Z', external_id: null }],
  },
);

export const ListLeadsQuery = Type.Object({
  stage_id: Type.Optional(Id),
  source_id: Type.Optional(Id),
  campaign_id: Type.Optional(Id),
  assigned_user_access_id: Type.Optional(Id),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Searches name, email and phone.' })),
  created_from: Type.Optional(Type.String({ format: 'date-time' })),
  created_to: Type.Optional(Type.String({ format: 'date-time' })),
  updated_since: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'Only leads whose `updated_at` is at or after this instant (≥, inclusive: a sync that starts again from ' +
        'the last `updated_at` it saw may see that lead twice, never miss one). Every change to a lead, its ' +
        'deletion included, moves its `updated_at`.',
    }),
  ),
  include_deleted: Type.Optional(
    Type.Boolean({
      description:
        'Also list soft-deleted leads (that the caller could see: agents, their own) as tombstones ' +
        '`{id, deleted_at, external_id}`, in the same order as the leads. Needs `sort=updated_at` or ' +
        '`-updated_at`. With `count`, `meta.total` counts them too.',
    }),
  ),
  sort: Type.Optional(
    Type.Enum([...SORTS], {
      default: '-created_at',
      description:
        'A keyset order, `-` for descending; ties broken by id. To mirror a company: `sort=updated_at`, ' +
        '`updated_since=<the last updated_at you saw>`, `include_deleted=true`, then follow `meta.next_cursor` ' +
        'until it is null. A lead changed during the walk moves to its end and is listed again there. ' +
        '`updated_at` is the time its transaction started, so a change committing later than a newer one can ' +
        'land behind a cursor already past it: start each sync from the last `updated_at` seen minus a margin ' +
        '(a minute is ample) and skip what you already have (same id and `updated_at`).',
    }),
  ),
  ...PageQuery,
});
export type ListLeadsInput = Static<typeof ListLeadsQuery>;

export const MetricsJson = Type.Object({
  metrics: Type.Array(
    Type.Object(
      { stage: LeadStage, count: Type.Integer(), value_sum: Type.Number() },
      {
        title: 'LeadStageMetrics',
        description: 'The leads of one stage under the filters: how many, and the sum of their `value`.',
        examples: [{ stage: { id: 1, name: 'New', code: 'new', kind: 'open' }, count: 42, value_sum: 63000 }],
      },
    ),
  ),
});

export const DuplicatesQuery = Type.Object({
  match: Type.Optional(Type.Enum(['email', 'phone'], { description: 'Only groups of this kind.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});

export const DuplicatesJson = Type.Object({
  duplicates: Type.Array(
    Type.Object(
      { key: Type.String(), match: Type.Enum(['email', 'phone']), leads: Type.Array(LeadJson) },
      {
        title: 'LeadDuplicateGroup',
        description: 'Live leads sharing one normalized email or phone (`key`).',
        examples: [{ key: 'ana@example.com', match: 'email', leads: [leadExample, { ...leadExample, id: 102 }] }],
      },
    ),
  ),
  meta: PageMeta,
});

type Named = { id: number | null; name: string | null } | null;

/**
 * What a lead's JSON is made from: its row with the names it shows (leads.repository.ts selectLeadViews reads them
 * in one query) and its answers. Written out here so the contract depends on nothing above it.
 */
export type LeadViewModel = {
  lead: typeof leads.$inferSelect;
  source: Named;
  campaign: Named;
  stage: { id: number; name: string; code: string; kind: (typeof STAGE_KINDS)[number] };
  assignee: {
    userAccessId: number | null;
    userId: number | null;
    firstName: string | null;
    lastName: string | null;
    email: string | null;
  } | null;
  answers: { question_id: number; value: unknown }[];
};

type View = LeadViewModel;

const fullName = (first: string | null, last: string | null) => [first, last].filter(Boolean).join(' ');

export function presentTombstone(lead: Pick<typeof leads.$inferSelect, 'id' | 'deletedAt' | 'externalId'>) {
  return { id: lead.id, deleted_at: lead.deletedAt!.toISOString(), external_id: lead.externalId };
}

export function presentLead(view: View) {
  const { lead } = view;
  return {
    id: lead.id,
    company_id: lead.companyId,
    first_name: lead.firstName,
    last_name: lead.lastName,
    full_name: fullName(lead.firstName, lead.lastName),
    email: lead.email,
    phone: lead.phone,
    phone_raw: lead.phoneRaw,
    country: lead.country,
    region: lead.region,
    city: lead.city,
    postal_code: lead.postalCode,
    source: view.source?.id == null ? null : { id: view.source.id, name: view.source.name! },
    campaign: view.campaign?.id == null ? null : { id: view.campaign.id, name: view.campaign.name! },
    stage: view.stage,
    assigned_user_access_id: lead.assignedUserAccessId,
    assignee:
      view.assignee?.userAccessId == null
        ? null
        : {
            user_access_id: view.assignee.userAccessId,
            user_id: view.assignee.userId!,
            full_name: fullName(view.assignee.firstName, view.assignee.lastName),
            email: view.assignee.email!,
          },
    value: lead.value === null ? null : Number(lead.value),
    currency: lead.currency,
    external_id: lead.externalId,
    answers: view.answers as { question_id: number; value: string | number | boolean | string[] | null }[],
    attributes: lead.attributes as Record<string, string | number | boolean | null>,
    created_at: lead.createdAt.toISOString(),
    updated_at: lead.updatedAt.toISOString(),
  };
}
