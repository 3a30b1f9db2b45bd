import type { Db } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { conflict, invalid, notFound, unprocessable } from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import type { Sealer } from '../../lib/sealed.ts';
import { appendEvents } from '../outbox/outbox.repository.ts';
import { generateSecret } from './webhook-send.ts';
import { targetProblem } from './webhook-target.ts';
import {
  countWebhooks,
  type DeliveryRow,
  deleteWebhook,
  enqueueDelivery,
  findDelivery,
  findWebhook,
  holdWebhook,
  insertDelivery,
  insertWebhook,
  latestEvent,
  listDeliveries,
  listWebhooks,
  lockCompanyWebhooks,
  requestAttempt,
  rotateWebhookSecret,
  updateWebhook,
  type WebhookRow,
} from './webhooks.repository.ts';
import {
  type CreateWebhookInput,
  MAX_WEBHOOKS,
  type PageInput,
  presentWebhook,
  type UpdateWebhookInput,
} from './webhooks.schemas.ts';

/** How long the previous secret keeps signing after a rotation (API.md: 24 h). */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

export type WebhooksDeps = {
  db: Db;
  clock: Clock;
  /** Seals signing secrets at rest (createSealer with the installation secret). */
  sealer: Sealer;
  allowPrivate: boolean;
  /** Wakes this process's job runner: a retry or a ping should not wait for the next poll. */
  notify: () => void;
};

export function createWebhooksService(deps: WebhooksDeps) {
  const { db, clock, sealer } = deps;

  function checkUrl(url: string) {
    const problem = targetProblem(url, deps.allowPrivate);
    if (problem) throw invalid([{ field: 'url', code: 'invalid_target', message: problem }]);
  }

  async function webhookOf(companyId: number, id: number): Promise<WebhookRow> {
    const row = await findWebhook(db, companyId, id);
    if (!row) throw notFound('Webhook');
    return row;
  }

  return {
    /** The secret is answered once here and only sealed afterwards. */
    async create(companyId: number, input: CreateWebhookInput): Promise<{ webhook: WebhookRow; secret: string }> {
      checkUrl(input.url);
      const secret = generateSecret();
      const webhook = await db.transaction(async (tx) => {
        await lockCompanyWebhooks(tx, companyId);
        if ((await countWebhooks(tx, companyId)) >= MAX_WEBHOOKS) {
          throw unprocessable('too_many_webhooks', `A company has at most ${MAX_WEBHOOKS} webhooks.`, 'url');
        }
        return insertWebhook(tx, companyId, {
          url: input.url,
          events: input.events,
          description: input.description ?? null,
          secretSealed: sealer.seal(secret),
          now: clock.now(),
        });
      });
      return { webhook, secret };
    },

    async list(companyId: number, query: PageInput) {
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['id']);
      const rows = await listWebhooks(db, companyId, { limit, ...(after ? { after: after[0] } : {}) });
      const total = query.count ? await countWebhooks(db, companyId) : undefined;
      return toPage(rows, limit, (row) => [row.id], total);
    },

    get: webhookOf,

    async update(companyId: number, id: number, input: UpdateWebhookInput): Promise<WebhookRow> {
      if (input.url !== undefined) checkUrl(input.url);
      const before = await webhookOf(companyId, id);
      const reenable = input.enabled === true && !before.enabled;
      const row = await db.transaction(async (tx) => {
        const updated = await updateWebhook(tx, companyId, id, {
          ...(input.url !== undefined ? { url: input.url } : {}),
          ...(input.events !== undefined ? { events: input.events } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
          reenable,
          now: clock.now(),
        });
        if (!updated) throw notFound('Webhook');
        // Back on: what waited while it was off (pending deliveries, later events) goes out now, in order.
        if (reenable) await enqueueDelivery(tx, companyId, id, clock.now());
        return updated;
      });
      if (reenable) deps.notify();
      return row;
    },

    async remove(companyId: number, id: number): Promise<void> {
      if (!(await deleteWebhook(db, companyId, id))) throw notFound('Webhook');
    },

    /** A new secret; the current one keeps signing beside it for 24 h (a rotation under way loses its oldest). */
    async rotateSecret(companyId: number, id: number): Promise<{ webhook: WebhookRow; secret: string }> {
      const current = await webhookOf(companyId, id);
      const secret = generateSecret();
      const now = clock.now();
      const webhook = await rotateWebhookSecret(db, companyId, id, {
        secretSealed: sealer.seal(secret),
        previousSecretSealed: current.secretSealed,
        previousSecretExpiresAt: new Date(now.getTime() + ROTATION_OVERLAP_MS),
        now,
      });
      if (!webhook) throw notFound('Webhook');
      return { webhook, secret };
    },

    async deliveries(companyId: number, webhookId: number, query: PageInput) {
      await webhookOf(companyId, webhookId);
      const limit = query.limit ?? 25;
      const before = decodeCursor(query.cursor, ['id']);
      const rows = await listDeliveries(db, companyId, webhookId, { limit, ...(before ? { before: before[0] } : {}) });
      return toPage(rows, limit, (row) => [row.id]);
    },

    async delivery(companyId: number, webhookId: number, id: number): Promise<DeliveryRow> {
      const row = await findDelivery(db, companyId, webhookId, id);
      if (!row) throw notFound('Delivery');
      return row;
    },

    /** One more attempt now, whatever the delivery's state (a failed one included). */
    async retry(companyId: number, webhookId: number, id: number): Promise<DeliveryRow> {
      const webhook = await webhookOf(companyId, webhookId);
      if (!webhook.enabled) throw conflict('webhook_disabled', 'The webhook is disabled: enable it first.');
      const row = await db.transaction(async (tx) => {
        const updated = await requestAttempt(tx, companyId, webhookId, id, clock.now());
        if (!updated) throw notFound('Delivery');
        await enqueueDelivery(tx, companyId, webhookId, clock.now());
        return updated;
      });
      deps.notify();
      return row;
    },

    /**
     * A `webhook.ping` event whose data is this webhook, delivered to this webhook only (other endpoints never
     * subscribe to pings, and the event stream does not show them). Its delivery is made here, so the answer can
     * name it.
     */
    async ping(companyId: number, webhookId: number): Promise<DeliveryRow> {
      const row = await db.transaction(async (tx) => {
        const webhook = await holdWebhook(tx, companyId, webhookId);
        if (!webhook) throw notFound('Webhook');
        if (!webhook.enabled) throw conflict('webhook_disabled', 'The webhook is disabled: enable it first.');
        await appendEvents(tx, companyId, [{ type: 'webhook.ping', data: presentWebhook(webhook) }]);
        const event = await latestEvent(tx, companyId);
        const now = clock.now();
        const delivery = await insertDelivery(tx, companyId, {
          webhookId,
          eventId: event!.id,
          eventSeq: event!.seq,
          eventType: event!.type,
          now,
        });
        await enqueueDelivery(tx, companyId, webhookId, now);
        return delivery!;
      });
      deps.notify();
      return row;
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
