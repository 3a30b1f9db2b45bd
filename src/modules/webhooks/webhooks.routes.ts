import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { EmptyBody, optionalBody } from '../../lib/schema.ts';
import { problemResponse } from '../../plugins/docs.ts';
import {
  CompanyParams,
  CreateWebhookBody,
  DeliveryEnvelope,
  DeliveryList,
  DeliveryParams,
  ListQuery,
  presentDelivery,
  presentWebhook,
  UpdateWebhookBody,
  WebhookEnvelope,
  WebhookList,
  WebhookParams,
  WebhookWithSecret,
} from './webhooks.schemas.ts';
import type { WebhooksService } from './webhooks.service.ts';

const tags = ['Webhooks'];
const config = { policy: { permission: 'integrations:manage' as const } };
const disabled = problemResponse('The webhook is disabled (`webhook_disabled`): enable it first.');
const base = '/api/v1/companies/:company_id/webhooks';

const DELIVERY_RULES =
  'Deliveries follow the Standard Webhooks specification: a `POST` with `content-type: application/json` and the ' +
  'headers `webhook-id` (the event id, the same on every attempt), `webhook-timestamp` (Unix seconds) and ' +
  '`webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the base64-decoded part of ' +
  'the secret after `whsec_`; two, space-separated, during a rotation); the body is `{"type","timestamp","data"}`. ' +
  'A 2xx within 10 s is success; anything else (a redirect included: they are not followed) is retried on the ' +
  "server's schedule (WEBHOOK_RETRY_SCHEDULE, about a day by default, with jitter), then the delivery is `failed` " +
  'and the next one goes. Events reach an endpoint in the order they happened, one delivery at a time: a delivery ' +
  'waiting for its retry holds back the later ones. An endpoint whose every delivery failed for 5 days is disabled ' +
  '(`enabled: false`, `disabled_reason`); turning it back on sends what waited, in order. At least once: a ' +
  'receiver should drop a `webhook-id` it has seen.';

export const webhooksRoutes: FastifyPluginAsyncTypebox<{ service: WebhooksService }> = async (app, { service }) => {
  app.post(
    base,
    {
      config,
      schema: {
        operationId: 'createWebhook',
        tags,
        summary: 'Subscribe a URL to events',
        description:
          `${DELIVERY_RULES} The URL is checked without contacting it: \`https://\` only, and no private, loopback ` +
          'or link-local address (422 naming `url`), unless the server allows them (WEBHOOK_ALLOW_PRIVATE). The ' +
          'endpoint receives the events from its creation on. At most 20 per company (422 `too_many_webhooks`). ' +
          'The `secret` is shown in this answer only.',
        params: CompanyParams,
        body: CreateWebhookBody,
        response: { 201: WebhookWithSecret },
      },
    },
    async (request, reply) => {
      const { webhook, secret } = await service.create(request.params.company_id, request.body);
      return reply.code(201).send({ webhook: presentWebhook(webhook), secret });
    },
  );

  app.get(
    base,
    {
      config,
      schema: {
        operationId: 'listWebhooks',
        tags,
        summary: "List a company's webhooks",
        description: 'Oldest first, keyset pages (`limit` ≤ 100, `cursor`). Secrets are never listed.',
        params: CompanyParams,
        querystring: ListQuery,
        response: { 200: WebhookList },
      },
    },
    async (request) => {
      const page = await service.list(request.params.company_id, request.query);
      return { webhooks: page.items.map(presentWebhook), meta: page.meta };
    },
  );

  app.get(
    `${base}/:webhook_id`,
    {
      config,
      schema: {
        operationId: 'getWebhook',
        tags,
        summary: 'Show a webhook',
        description: 'The endpoint, its subscribed events and whether it is enabled (the secret is never shown again).',
        params: WebhookParams,
        response: { 200: WebhookEnvelope },
      },
    },
    async (request) => ({
      webhook: presentWebhook(await service.get(request.params.company_id, request.params.webhook_id)),
    }),
  );

  app.patch(
    `${base}/:webhook_id`,
    {
      config,
      schema: {
        operationId: 'updateWebhook',
        tags,
        summary: 'Update a webhook',
        description:
          'Changes `url` (checked as at creation), `events`, `description` or `enabled`. A change of `events` ' +
          'applies to the events that happen after it. Turning a disabled webhook back on clears ' +
          '`disabled_reason` and sends what waited while it was off, in order.',
        params: WebhookParams,
        body: UpdateWebhookBody,
        response: { 200: WebhookEnvelope },
      },
    },
    async (request) => {
      const { company_id, webhook_id } = request.params;
      return { webhook: presentWebhook(await service.update(company_id, webhook_id, request.body)) };
    },
  );

  app.delete(
    `${base}/:webhook_id`,
    {
      config,
      schema: {
        operationId: 'deleteWebhook',
        tags,
        summary: 'Delete a webhook',
        description: 'Deletes the webhook and its delivery log; nothing more is sent to it.',
        params: WebhookParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await service.remove(request.params.company_id, request.params.webhook_id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:webhook_id/rotate_secret`,
    {
      config,
      schema: {
        operationId: 'rotateWebhookSecret',
        tags,
        summary: "Rotate a webhook's signing secret",
        description:
          'Answers a new secret (shown this once). For the next 24 hours every delivery carries two signatures, ' +
          "the new secret's first and the old one's second, so the receiver can switch at its own pace; then only " +
          "the new one's. Rotating again within the 24 hours drops the oldest secret at once.",
        params: WebhookParams,
        body: EmptyBody,
        response: { 200: WebhookWithSecret },
      },
      preValidation: optionalBody,
    },
    async (request) => {
      const { webhook, secret } = await service.rotateSecret(request.params.company_id, request.params.webhook_id);
      return { webhook: presentWebhook(webhook), secret };
    },
  );

  app.get(
    `${base}/:webhook_id/deliveries`,
    {
      config,
      schema: {
        operationId: 'listWebhookDeliveries',
        tags,
        summary: "A webhook's deliveries",
        description:
          'Newest first, keyset pages (`limit` ≤ 100, `cursor`), each with its attempts (status, duration, error, ' +
          'an excerpt of the answer). Deliveries are kept as long as their event (EVENT_RETENTION, 30 days).',
        params: WebhookParams,
        querystring: ListQuery,
        response: { 200: DeliveryList },
      },
    },
    async (request) => {
      const { company_id, webhook_id } = request.params;
      const page = await service.deliveries(company_id, webhook_id, request.query);
      return { deliveries: page.items.map(presentDelivery), meta: page.meta };
    },
  );

  app.get(
    `${base}/:webhook_id/deliveries/:delivery_id`,
    {
      config,
      schema: {
        operationId: 'getWebhookDelivery',
        tags,
        summary: 'Show one delivery',
        description: 'One event sent to this webhook: its status, every attempt with its answer, and the next attempt.',
        params: DeliveryParams,
        response: { 200: DeliveryEnvelope },
      },
    },
    async (request) => {
      const { company_id, webhook_id, delivery_id } = request.params;
      return { delivery: presentDelivery(await service.delivery(company_id, webhook_id, delivery_id)) };
    },
  );

  app.post(
    `${base}/:webhook_id/deliveries/:delivery_id/retry`,
    {
      config,
      schema: {
        operationId: 'retryWebhookDelivery',
        tags,
        summary: 'Send a delivery again',
        description:
          'One more attempt as soon as possible, with the same `webhook-id`. A pending delivery stops waiting for ' +
          'its retry; a succeeded or failed one is sent once more, ahead of the queue, and ends succeeded or failed ' +
          'by that attempt alone. 409 `webhook_disabled` while the webhook is disabled.',
        params: DeliveryParams,
        body: EmptyBody,
        response: { 202: DeliveryEnvelope, 409: disabled },
      },
      preValidation: optionalBody,
    },
    async (request, reply) => {
      const { company_id, webhook_id, delivery_id } = request.params;
      const delivery = await service.retry(company_id, webhook_id, delivery_id);
      return reply.code(202).send({ delivery: presentDelivery(delivery) });
    },
  );

  app.post(
    `${base}/:webhook_id/ping`,
    {
      config,
      schema: {
        operationId: 'pingWebhook',
        tags,
        summary: 'Send a test event',
        description:
          'Sends a `webhook.ping` event, whose `data` is this webhook, to this webhook only (in its turn, after ' +
          'what is already waiting). Answers its delivery, to follow with `GET …/deliveries/{delivery_id}`. 409 ' +
          '`webhook_disabled` while the webhook is disabled.',
        params: WebhookParams,
        body: EmptyBody,
        response: { 202: DeliveryEnvelope, 409: disabled },
      },
      preValidation: optionalBody,
    },
    async (request, reply) => {
      const delivery = await service.ping(request.params.company_id, request.params.webhook_id);
      return reply.code(202).send({ delivery: presentDelivery(delivery) });
    },
  );
};
