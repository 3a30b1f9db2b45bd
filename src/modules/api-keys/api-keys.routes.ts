import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { accessOf, principalOf } from '../../plugins/auth.ts';
import {
  ApiKeyEnvelope,
  ApiKeyList,
  ApiKeyParams,
  CompanyParams,
  CreateApiKeyBody,
  CreatedApiKey,
  ListApiKeysQuery,
  presentApiKey,
} from './api-keys.schemas.ts';
import type { ApiKeysService } from './api-keys.service.ts';

const tags = ['API keys'];
// People only: a key that could make keys would let a leaked one outlive its own revocation.
const manage = { policy: { permission: 'integrations:manage' as const }, apiKeys: 'refused' as const };

export const apiKeysRoutes: FastifyPluginAsyncTypebox<{ service: ApiKeysService }> = async (app, { service }) => {
  app.post(
    '/api/v1/companies/:company_id/api_keys',
    {
      config: manage,
      schema: {
        operationId: 'createApiKey',
        tags,
        summary: 'Create an API key for a company',
        description:
          'A server-to-server credential: send `Authorization: Bearer <secret>`. The key acts in this company and ' +
          "its descendants with the permissions of `access_id` (up to the caller's own access), never in other " +
          'companies (404) and never on routes for signed-in users (403 `api_key_not_allowed`). An agent key is an ' +
          'agent to whom nothing is assigned: it creates leads, which distribution assigns. What it writes is ' +
          "attributed to the key's creator. The `secret` (`lsk_…`) is in this answer only: it is stored as its " +
          'SHA-256 and never shown again. `expires_at` must be in the future (422).',
        params: CompanyParams,
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey },
      },
    },
    async (request, reply) => {
      const { view, secret } = await service.create(principalOf(request), accessOf(request), request.body);
      return reply.code(201).send({ api_key: presentApiKey(view), secret });
    },
  );

  app.get(
    '/api/v1/companies/:company_id/api_keys',
    {
      config: manage,
      schema: {
        operationId: 'listApiKeys',
        tags,
        summary: "List a company's API keys",
        description:
          'Keys not revoked (expired ones included, with their `expires_at`), newest first, without secrets. ' +
          'Keyset pages (`limit` ≤ 100, `cursor`). A revoked key is no longer listed.',
        params: CompanyParams,
        querystring: ListApiKeysQuery,
        response: { 200: ApiKeyList },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      return { api_keys: page.items.map(presentApiKey), meta: page.meta };
    },
  );

  app.get(
    '/api/v1/companies/:company_id/api_keys/:api_key_id',
    {
      config: manage,
      schema: {
        operationId: 'getApiKey',
        tags,
        summary: 'Show an API key',
        description: 'Without its secret. A revoked or unknown key answers 404.',
        params: ApiKeyParams,
        response: { 200: ApiKeyEnvelope },
      },
    },
    async (request) => ({
      api_key: presentApiKey(await service.show(request.params.company_id, request.params.api_key_id)),
    }),
  );

  app.delete(
    '/api/v1/companies/:company_id/api_keys/:api_key_id',
    {
      config: manage,
      schema: {
        operationId: 'revokeApiKey',
        tags,
        summary: 'Revoke an API key',
        description:
          'The next request with the key answers 401, on every API process. The key then vanishes from lists; ' +
          'revoking it again answers 404.',
        params: ApiKeyParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.revoke(request.params.company_id, request.params.api_key_id);
      return reply.code(204).send(null);
    },
  );
};
