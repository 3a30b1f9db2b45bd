import { type Static, Type } from 'typebox';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import { AccessCode } from '../reference/reference.schemas.ts';
import type { AssignedUserAccess, SourceRow } from './sources.repository.ts';

/** A company's live sources are capped so that a reorder can always list them all in one body. */
export const MAX_SOURCES = 500;

const Id = Type.Integer({ minimum: 1 });
const DateTime = Type.String({ format: 'date-time' });
const Name = Type.String({ minLength: 1, maxLength: 120, pattern: '\\S', description: 'Trimmed; 1..120 characters.' });
const Priority = Type.Integer({
  minimum: 1,
  maximum: 1_000_000,
  description: 'The place in the order (1 = first). The sources at or after it move down by one.',
});

const sourceUserAccessExample = { id: 31, user_id: 43, full_name: 'Luis Pérez', access_code: 'agent' };

export const SourceUserAccessJson = Type.Object(
  {
    id: Type.Integer({ description: 'The user access id.' }),
    user_id: Type.Integer(),
    full_name: Type.String(),
    access_code: AccessCode,
  },
  {
    title: 'SourceUserAccess',
    description: "A user access assigned to a source: the source's leads go to them.",
    examples: [sourceUserAccessExample],
  },
);

export const SourceJson = Type.Object(
  {
    id: Type.Integer(),
    company_id: Type.Integer(),
    name: Type.String(),
    priority: Type.Integer(),
    user_accesses: Type.Array(SourceUserAccessJson, { description: 'The user accesses assigned to this source.' }),
    created_at: DateTime,
    updated_at: DateTime,
  },
  {
    title: 'Source',
    description: 'Where leads come from (a web form, a fair, a partner), in the order of `priority`.',
    examples: [
      {
        id: 11,
        company_id: 7,
        name: 'Website',
        priority: 1,
        user_accesses: [sourceUserAccessExample],
        created_at: '2026-03-02T09:30:00.000Z',
        updated_at: '2026-03-02T09:30:00.000Z',
      },
    ],
  },
);

export const SourceEnvelope = Type.Object({ source: SourceJson });
export const SourceList = Type.Object({ sources: Type.Array(SourceJson), meta: PageMeta });
export const SourceArray = Type.Object({ sources: Type.Array(SourceJson) });

export const CompanyParams = Type.Object({ company_id: Id });
export const SourceParams = Type.Object({ company_id: Id, source_id: Id });
export const SourceUserAccessParams = Type.Object({ company_id: Id, source_id: Id, user_access_id: Id });
export const ListSourcesQuery = Type.Object(PageQuery);

export const CreateSourceBody = Type.Object(
  { name: Name, priority: Type.Optional(Priority) },
  { additionalProperties: false, title: 'SourceCreate', examples: [{ name: 'Website', priority: 1 }] },
);
export const UpdateSourceBody = Type.Object(
  { name: Type.Optional(Name), priority: Type.Optional(Priority) },
  { additionalProperties: false, minProperties: 1, title: 'SourceUpdate', examples: [{ name: 'Website form' }] },
);
export const ReorderSourcesBody = Type.Object(
  {
    source_ids: Type.Array(Id, {
      maxItems: MAX_SOURCES,
      description: 'Every live source id of the company, exactly once, in the new order (first = priority 1).',
    }),
  },
  { additionalProperties: false, title: 'SourcePriorityUpdate', examples: [{ source_ids: [12, 11] }] },
);
export const AssignUserAccessBody = Type.Object(
  { user_access_id: Type.Integer({ minimum: 1, description: 'A direct user access of this company.' }) },
  { additionalProperties: false, title: 'SourceUserAccessCreate', examples: [{ user_access_id: 31 }] },
);

export type CreateSourceInput = Static<typeof CreateSourceBody>;
export type UpdateSourceInput = Static<typeof UpdateSourceBody>;
export type PageInput = Static<typeof ListSourcesQuery>;

export type SourceView = { source: SourceRow; userAccesses: AssignedUserAccess[] };

export function presentSource({ source, userAccesses }: SourceView) {
  return {
    id: source.id,
    company_id: source.companyId,
    name: source.name,
    priority: source.priority,
    user_accesses: userAccesses.map((ua) => ({
      id: ua.id,
      user_id: ua.userId,
      full_name: `${ua.firstName} ${ua.lastName}`.trim(),
      access_code: ua.accessCode,
    })),
    created_at: source.createdAt.toISOString(),
    updated_at: source.updatedAt.toISOString(),
  };
}
