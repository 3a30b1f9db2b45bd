import { type Static, Type } from 'typebox';
import type { WebhookAttempt } from '../../db/schema/index.ts';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import { publicEventId } from '../outbox/event-json.ts';
import { EVENT_TYPES, type EventType } from '../outbox/event-types.ts';
import type { DeliveryRow, WebhookRow } from './webhooks.repository.ts';

/** A company's endpoints are capped: every event of the company queues one job per endpoint. */
export const MAX_WEBHOOKS = 20;

const Id = Type.Integer({ minimum: 1 });
const DateTime = Type.String({ format: 'date-time' });
/** What an endpoint may subscribe to: every event type but the ping, which goes only to the endpoint pinged. */
export const SUBSCRIBABLE = EVENT_TYPES.filter((type) => type !== 'webhook.ping');

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'An `https://` URL of a public host (private, loopback and link-local addresses are refused at creation and ' +
    'at each delivery), unless the server runs with `WEBHOOK_ALLOW_PRIVATE=true`.',
});
const Events = Type.Array(Type.Enum([...SUBSCRIBABLE]), {
  minItems: 1,
  maxItems: SUBSCRIBABLE.length,
  uniqueItems: true,
  description: 'The event types delivered to this endpoint (`webhook.ping` goes to a pinged endpoint only).',
});
const Description = Type.String({ maxLength: 500 });

const webhookExample = {
  id: 4,
  url: 'https://hooks.example.com/leadsy',
  events: ['lead.created', 'lead.updated'],
  enabled: true,
  description: 'CRM sync',
  created_at: '2026-03-23T15:30:28.000Z',
  disabled_reason: null,
};

export const WebhookJson = Type.Object(
  {
    id: Type.Integer(),
    url: Type.String(),
    events: Type.Array(Type.Enum([...SUBSCRIBABLE])),
    enabled: Type.Boolean(),
    description: Type.Union([Type.String(), Type.Null()]),
    created_at: DateTime,
    disabled_reason: Type.Union([Type.String(), Type.Null()], {
      description:
        'Why the server disabled it (every delivery failed for 5 days); null when enabled or turned off by hand.',
    }),
  },
  {
    title: 'Webhook',
    description: 'An HTTPS endpoint that receives the events it subscribes to, signed with its secret.',
    examples: [webhookExample],
  },
);

export const WebhookAttemptJson = Type.Object({
  at: DateTime,
  status_code: Type.Union([Type.Integer(), Type.Null()], { description: 'Null when no answer came.' }),
  duration_ms: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Null for a 2xx.' }),
  response_excerpt: Type.Union([Type.String(), Type.Null()], {
    description: 'The first 4 KiB of the answer, at most (the rest is not read).',
  }),
});

export const WebhookDeliveryJson = Type.Object(
  {
    id: Type.Integer(),
    event_id: Type.String({ description: 'The event id, as sent in `webhook-id` (the same on every attempt).' }),
    event_type: Type.Enum([...EVENT_TYPES]),
    status: Type.Enum(['pending', 'succeeded', 'failed']),
    attempts: Type.Array(WebhookAttemptJson, { description: 'Oldest first; the last 50 are kept.' }),
    created_at: DateTime,
    next_attempt_at: Type.Union([DateTime, Type.Null()]),
  },
  {
    title: 'WebhookDelivery',
    description: 'One event sent to one webhook, with every attempt.',
    examples: [
      {
        id: 90,
        event_id: 'evt_42',
        event_type: 'lead.created',
        status: 'succeeded',
        attempts: [
          {
            at: '2026-03-23T15:30:29.000Z',
            status_code: 200,
            duration_ms: 84,
            error: null,
            response_excerpt: 'ok',
          },
        ],
        created_at: '2026-03-23T15:30:28.000Z',
        next_attempt_at: null,
      },
    ],
  },
);

export const WebhookEnvelope = Type.Object({ webhook: WebhookJson });
export const WebhookWithSecret = Type.Object({
  webhook: WebhookJson,
  secret: Type.String({
    description: 'The signing secret, `whsec_` + base64 of 32 random bytes: shown this once, never again.',
  }),
});
export const WebhookList = Type.Object({ webhooks: Type.Array(WebhookJson), meta: PageMeta });
export const DeliveryEnvelope = Type.Object({ delivery: WebhookDeliveryJson });
export const DeliveryList = Type.Object({ deliveries: Type.Array(WebhookDeliveryJson), meta: PageMeta });

export const CompanyParams = Type.Object({ company_id: Id });
export const WebhookParams = Type.Object({ company_id: Id, webhook_id: Id });
export const DeliveryParams = Type.Object({ company_id: Id, webhook_id: Id, delivery_id: Id });
export const ListQuery = Type.Object(PageQuery);

export const CreateWebhookBody = Type.Object(
  { url: Url, events: Events, description: Type.Optional(Description) },
  {
    title: 'WebhookCreate',
    additionalProperties: false,
    examples: [
      { url: 'https://hooks.example.com/leadsy', events: ['lead.created', 'lead.updated'], description: 'CRM sync' },
    ],
  },
);
export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    enabled: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
  },
  {
    title: 'WebhookUpdate',
    additionalProperties: false,
    minProperties: 1,
    description: 'Only the fields to change.',
    examples: [{ events: ['lead.created', 'lead.updated', 'lead.deleted'], enabled: true }],
  },
);

export type CreateWebhookInput = Static<typeof CreateWebhookBody>;
export type UpdateWebhookInput = Static<typeof UpdateWebhookBody>;
export type PageInput = Static<typeof ListQuery>;

export function presentWebhook(row: WebhookRow) {
  return {
    id: row.id,
    url: row.url,
    // Written only through the create and update bodies, which accept these types alone.
    events: row.events as (typeof SUBSCRIBABLE)[number][],
    enabled: row.enabled,
    description: row.description,
    created_at: row.createdAt.toISOString(),
    disabled_reason: row.disabledReason,
  };
}

export function presentDelivery(row: DeliveryRow) {
  return {
    id: row.id,
    event_id: publicEventId({ id: row.eventId }),
    event_type: row.eventType as EventType,
    status: row.status,
    attempts: row.attempts.map((attempt: WebhookAttempt) => ({
      at: attempt.at,
      status_code: attempt.status_code,
      duration_ms: attempt.duration_ms,
      error: attempt.error,
      response_excerpt: attempt.response_excerpt,
    })),
    created_at: row.createdAt.toISOString(),
    next_attempt_at: row.nextAttemptAt?.toISOString() ?? null,
  };
}
