import { type Static, Type } from 'typebox';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import { Nullable } from '../../lib/schema.ts';
import type { ApiKeyView } from './api-keys.repository.ts';

const Id = Type.Integer({ minimum: 1 });
const DateTime = Type.String({ format: 'date-time' });

export const ApiKeyJson = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    prefix: Type.String({ description: 'The first characters of the secret (`lsk_` + 8), to tell keys apart.' }),
    access: Type.Object(
      { id: Type.Integer(), code: Type.Enum(['admin', 'manager', 'agent']), name: Type.String() },
      { description: 'The role the key acts with, in the company and its descendants.' },
    ),
    created_at: DateTime,
    expires_at: Nullable(DateTime),
    last_used_at: Nullable({
      ...DateTime,
      description: 'When the key last authenticated a request, to the minute (written at most once a minute).',
    }),
    created_by: Nullable(
      Type.Object(
        { id: Type.Integer(), full_name: Type.String() },
        { description: 'The admin who created the key; what the key writes is attributed to them.' },
      ),
    ),
  },
  {
    title: 'ApiKey',
    description: 'A company API key, without its secret.',
    examples: [
      {
        id: 2,
        name: 'Website form',
        prefix: 'lsk_Zm9vYmFy',
        access: { id: 2, code: 'manager', name: 'Manager' },
        created_at: '2026-03-23T15:30:28.000Z',
        expires_at: null,
        last_used_at: '2026-03-24T08:01:00.000Z',
        created_by: { id: 5, full_name: 'Luis Pérez' },
      },
    ],
  },
);

export const CreatedApiKey = Type.Object({
  api_key: ApiKeyJson,
  secret: Type.String({
    description: 'The key itself, `lsk_…`: shown in this answer only (stored hashed), sent as `Authorization: Bearer`.',
  }),
});
export const ApiKeyEnvelope = Type.Object({ api_key: ApiKeyJson });
export const ApiKeyList = Type.Object({ api_keys: Type.Array(ApiKeyJson), meta: PageMeta });

export const CompanyParams = Type.Object({ company_id: Id });
export const ApiKeyParams = Type.Object({ company_id: Id, api_key_id: Id });

export const CreateApiKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'What the key is for, e.g. "Website form".' }),
    access_id: Type.Integer({ minimum: 1, description: 'The access (role) the key acts with: GET /accesses.' }),
    expires_at: Type.Optional(
      Type.String({ format: 'date-time', description: 'Must be in the future. Without it the key does not expire.' }),
    ),
  },
  {
    title: 'ApiKeyCreate',
    additionalProperties: false,
    description:
      '`access_id`: an access of GET /accesses (the example says 2, the manager access of the seeded catalog).',
    examples: [{ name: 'Website form', access_id: 2 }],
  },
);
export const ListApiKeysQuery = Type.Object(PageQuery);

export type CreateApiKeyInput = Static<typeof CreateApiKeyBody>;
export type PageInput = Static<typeof ListApiKeysQuery>;

export function presentApiKey({ key, access, creator }: ApiKeyView) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    access: { id: access.id, code: access.code, name: access.name },
    created_at: key.createdAt.toISOString(),
    expires_at: key.expiresAt?.toISOString() ?? null,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    created_by: creator ? { id: creator.id, full_name: `${creator.firstName} ${creator.lastName}`.trim() } : null,
  };
}
