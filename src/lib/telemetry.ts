/**
 * What the work of a process tells its metrics (src/plugins/metrics.ts implements it with Prometheus counters).
 * Features report through this type, so they know nothing of how, or whether, it is scraped.
 */
export type ImportRowOutcome = 'imported' | 'updated' | 'duplicate' | 'failed';
export type WebhookAttemptOutcome = 'succeeded' | 'failed';

export type Telemetry = {
  /** A batch of an import committed: its rows by outcome, and how long its transaction took. */
  importBatch(rows: Record<ImportRowOutcome, number>, seconds: number): void;
  /** One webhook delivery attempt (a 2xx, or not) and how long the receiver took. */
  webhookAttempt(outcome: WebhookAttemptOutcome, seconds: number): void;
};

/** For processes and tests that keep no metrics. */
export const noTelemetry: Telemetry = { importBatch: () => {}, webhookAttempt: () => {} };

/** The webhooks of every company at a glance, as /metrics shows them (webhooks.repository.ts webhookBacklog). */
export type WebhookBacklog = {
  enabled: number;
  disabled: number;
  /** Deliveries waiting for an attempt or a retry, over all endpoints. */
  pending: number;
  /** When the oldest pending delivery was created (null: none). */
  oldestPendingAt: Date | null;
  /** Events enabled endpoints have not yet examined (a worker behind, or none running). */
  eventsBehind: number;
};
