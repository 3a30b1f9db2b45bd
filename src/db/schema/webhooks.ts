import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, ref, timestamps } from './columns.ts';
import { events } from './events.ts';
import { companies } from './identity.ts';

/** One attempt of a delivery, as kept in `webhook_deliveries.attempts` (API.md "Shapes", plus the excerpt). */
export type WebhookAttempt = {
  at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  /** The first bytes of the receiver's answer (capped when read, see webhook-send.ts). */
  response_excerpt: string | null;
};

/**
 * A company's webhook endpoints (API.md "Integrations"). The signing secret is sealed (AES-GCM under the
 * installation secret), not hashed like API keys: every delivery is signed with it, so it must be readable by the
 * worker. During a rotation the previous secret keeps signing beside the new one until `previous_secret_expires_at`.
 * `cursor_seq` is the last event `seq` of the company handed to this endpoint (turned into deliveries); the lease
 * columns make one delivery job at a time per endpoint, which keeps its events in order.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    url: text().notNull(),
    events: text().array().notNull(),
    description: text(),
    enabled: boolean().notNull().default(true),
    disabledReason: text(),
    secretSealed: text().notNull(),
    previousSecretSealed: text(),
    previousSecretExpiresAt: timestamp({ withTimezone: true }),
    cursorSeq: bigint({ mode: 'number' }).notNull().default(0),
    /** Since when every attempt failed (null after any success): 5 days of it disables the endpoint. */
    failingSince: timestamp({ withTimezone: true }),
    /** The delivery job (jobs.id) delivering to this endpoint now, and until when its claim holds. */
    leaseJobId: ref(),
    leaseUntil: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [index().on(t.companyId, t.id)],
);

/** One event to one endpoint: pending until a 2xx, failed once the retry schedule is exhausted. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    webhookId: ref()
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: ref()
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    /** The event's per-company `seq`: the endpoint's delivery order. */
    eventSeq: bigint({ mode: 'number' }).notNull(),
    eventType: text().notNull(),
    status: text({ enum: ['pending', 'succeeded', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: jsonb().$type<WebhookAttempt[]>().notNull().default([]),
    /** Attempts counted by the retry schedule (a replay asked through the API is not one of them). */
    scheduledAttempts: integer().notNull().default(0),
    /** A replay asked through the API: one attempt out of order, then back to succeeded or failed. */
    replay: boolean().notNull().default(false),
    nextAttemptAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_webhook_event_unique').on(t.webhookId, t.eventId),
    // The log, newest first, and one delivery by id under its webhook.
    index().on(t.webhookId, t.id),
    // The next one to send: a replay first, else in event order.
    index('webhook_deliveries_pending_index')
      .on(t.webhookId, t.replay.desc().nullsFirst(), t.eventSeq)
      .where(sql`status = 'pending'`),
    index().on(t.eventId),
    index().on(t.companyId),
  ],
);
