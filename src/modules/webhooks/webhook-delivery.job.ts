import type { Db } from '../../db/client.ts';
import { enqueue } from '../../jobs/queue.ts';
import { type GiveUp, type JobHandler, JobInterruptedError } from '../../jobs/runner.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Sealer } from '../../lib/sealed.ts';
import type { Telemetry } from '../../lib/telemetry.ts';
import { eventBody, publicEventId } from '../outbox/event-json.ts';
import { signatureHeader, type WebhookSender } from './webhook-send.ts';
import {
  claimWebhook,
  DELIVER_JOB,
  type DueDelivery,
  dueDeliveries,
  enqueueDelivery,
  materializeDeliveries,
  noteEndpointOutcome,
  recordAttempt,
  releaseWebhook,
  releaseWebhooksOfJob,
  settledLastSeq,
  type WebhookRow,
} from './webhooks.repository.ts';

export { DELIVER_JOB } from './webhooks.repository.ts';

export type DeliveryDeps = {
  db: Db;
  clock: Clock;
  sealer: Sealer;
  sender: WebhookSender;
  retryScheduleMs: readonly number[];
  timeoutMs: number;
  disableAfterMs: number;
  telemetry: Telemetry;
};

/** Events turned into deliveries per statement. */
const MATERIALIZE_BATCH = 1_000;
/** Pending deliveries read at once, in order. */
const PAGE = 100;
/** Deliveries between renewals of the claim on the endpoint. */
const RENEW_EVERY = 25;
/** Deliveries per job run before it hands over to a follow-up job (other endpoints' jobs get their turn). */
const DELIVERIES_PER_RUN = 500;
const RUN_BUDGET_MS = 20_000;
/** A delayed attempt is `delay` to `delay × (1 + JITTER)`: never sooner than the schedule, so it spans a day. */
const JITTER = 0.2;

/** The secrets that sign now: the current one, and the previous one during the 24 h after a rotation. */
function signingSecrets(endpoint: WebhookRow, sealer: Sealer, now: Date): string[] {
  const secrets = [sealer.open<string>(endpoint.secretSealed)];
  if (endpoint.previousSecretSealed && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    secrets.push(sealer.open<string>(endpoint.previousSecretSealed));
  }
  return secrets.filter((secret): secret is string => typeof secret === 'string');
}

/**
 * The `webhooks.deliver` job of one endpoint ({companyId, webhookId}). It claims the endpoint (one job at a time
 * per endpoint: any other job for it exits, the holder will see its events), turns new events into deliveries,
 * then sends pending deliveries oldest first until one must wait for its retry (a follow-up job is queued for
 * then), nothing is left, or its budget is spent (a follow-up is queued at once). A worker killed mid-delivery
 * leaves the delivery pending: the job is claimed again after its lease and sends it again with the same
 * `webhook-id` (at least once).
 */
export function createWebhookDeliveryJob(deps: DeliveryDeps): { run: JobHandler; onGiveUp: GiveUp } {
  const { db, clock } = deps;
  const leaseMs = deps.timeoutMs * 2 + 30_000;

  async function claim(companyId: number, webhookId: number, jobId: number) {
    const now = clock.now();
    return claimWebhook(db, companyId, webhookId, jobId, now, new Date(now.getTime() + leaseMs));
  }

  type Outcome = { ok: boolean; enabled: boolean };

  /**
   * Sends one delivery and records the attempt. `failing` is whether the endpoint has a failing streak: a success
   * then clears it (and a failure starts or continues it, disabling the endpoint when it has lasted long enough) in
   * the same transaction. A success on a healthy endpoint is one statement, handed to `background` so the next
   * delivery goes out while it commits (the caller waits for it before reading the pending deliveries again).
   */
  async function attempt(
    endpoint: WebhookRow,
    delivery: DueDelivery,
    failing: boolean,
    signal: AbortSignal,
    background: (write: Promise<unknown>) => void,
  ): Promise<Outcome> {
    const now = clock.now();
    const id = publicEventId(delivery.event);
    const timestamp = Math.floor(now.getTime() / 1000);
    const body = eventBody(delivery.event);
    const result = await deps.sender.send(
      {
        url: endpoint.url,
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Leadsy-Webhooks/1',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(signingSecrets(endpoint, deps.sealer, now), id, timestamp, body),
        },
      },
      signal,
    );
    // Stopped mid-request: whether it arrived is unknown, so nothing is recorded and it is sent again later.
    if (signal.aborted) throw signal.reason;
    deps.telemetry.webhookAttempt(result.ok ? 'succeeded' : 'failed', result.durationMs / 1000);
    const after = clock.now();
    const scheduled = !delivery.replay;
    const delay = deps.retryScheduleMs[delivery.scheduledAttempts];
    let status: 'pending' | 'succeeded' | 'failed' = result.ok ? 'succeeded' : 'failed';
    let nextAttemptAt: Date | null = null;
    if (!result.ok && scheduled && delay !== undefined) {
      status = 'pending';
      nextAttemptAt = new Date(after.getTime() + Math.round(delay * (1 + Math.random() * JITTER)));
    }
    const record = {
      attempt: {
        at: now.toISOString(),
        status_code: result.statusCode,
        duration_ms: result.durationMs,
        error: result.error,
        response_excerpt: result.excerpt,
      },
      status,
      scheduled,
      nextAttemptAt,
      now: after,
    };
    if (result.ok && !failing) {
      background(recordAttempt(db, endpoint.companyId, delivery.id, record));
      return { ok: true, enabled: true };
    }
    const enabled = await db.transaction(async (tx) => {
      await recordAttempt(tx, endpoint.companyId, delivery.id, record);
      return noteEndpointOutcome(tx, endpoint.companyId, endpoint.id, {
        ok: result.ok,
        now: after,
        disableAfterMs: deps.disableAfterMs,
        reason: `Every delivery failed for ${Math.round(deps.disableAfterMs / 3_600_000)} h (last: ${result.error}).`,
      });
    });
    return { ok: result.ok, enabled };
  }

  /**
   * One pass over the claimed endpoint: pending deliveries in order, a page at a time; when none is left, the
   * events that arrived meanwhile become deliveries. Answers when a follow-up job should run, or undefined for none.
   */
  async function deliver(start: WebhookRow, jobId: number, signal: AbortSignal): Promise<Date | undefined> {
    let recording: Promise<unknown> = Promise.resolve();
    let failure: { error: unknown } | undefined;
    const background = (write: Promise<unknown>) => {
      recording = Promise.all([recording, write.catch((error: unknown) => (failure ??= { error }))]);
    };
    const flush = async () => {
      await recording;
      if (failure) throw failure.error;
    };
    let next: Date | undefined;
    try {
      next = await sendPending(start, jobId, signal, background, flush);
    } finally {
      await recording;
    }
    // A success whose record failed: the job fails and runs again, sending that delivery again (at least once).
    if (failure) throw failure.error;
    return next;
  }

  async function sendPending(
    start: WebhookRow,
    jobId: number,
    signal: AbortSignal,
    background: (write: Promise<unknown>) => void,
    flush: () => Promise<void>,
  ): Promise<Date | undefined> {
    const { companyId, id: webhookId } = start;
    const started = Date.now();
    let endpoint = start;
    let failing = start.failingSince !== null;
    let cursor = start.cursorSeq;
    let sent = 0;
    let sinceRenewal = 0;
    while (!signal.aborted) {
      const page = await dueDeliveries(db, companyId, webhookId, PAGE);
      if (page.length === 0) {
        const lastSeq = await settledLastSeq(db, companyId);
        if (lastSeq <= cursor) return undefined;
        const moved = await materializeDeliveries(db, companyId, webhookId, {
          jobId,
          lastSeq,
          limit: MATERIALIZE_BATCH,
          now: clock.now(),
        });
        if (moved === undefined) return undefined; // no longer ours (deleted, or the claim expired)
        cursor = moved;
        continue;
      }
      for (const next of page) {
        if (signal.aborted) break;
        const now = clock.now();
        if (next.nextAttemptAt && next.nextAttemptAt > now) return next.nextAttemptAt;
        if (sent >= DELIVERIES_PER_RUN || Date.now() - started > RUN_BUDGET_MS) return now;
        // The claim is renewed every few deliveries: it also brings the endpoint's changes (URL, enabled, secret).
        if (sinceRenewal >= RENEW_EVERY || (endpoint.leaseUntil?.getTime() ?? 0) - now.getTime() < leaseMs / 2) {
          const renewed = await claim(companyId, webhookId, jobId);
          if (!renewed) return undefined;
          endpoint = renewed;
          sinceRenewal = 0;
        }
        sent++;
        sinceRenewal++;
        const outcome = await attempt(endpoint, next, failing, signal, background);
        if (!outcome.enabled) return undefined; // just disabled
        failing = !outcome.ok;
        // A failure reschedules this one (or gives it up): what comes next is read again.
        if (!outcome.ok) break;
      }
      // The page's records are in before the pending deliveries are read again.
      await flush();
    }
    throw signal.reason;
  }

  const run: JobHandler = async (job, context) => {
    const companyId = Number(job.payload.companyId);
    const webhookId = Number(job.payload.webhookId);
    let endpoint = await claim(companyId, webhookId, job.id);
    // Busy (its holder sees our events before letting go, see below), disabled or deleted: nothing to do.
    while (endpoint) {
      let followUp: Date | undefined;
      try {
        followUp = await deliver(endpoint, job.id, context.signal);
      } catch (error) {
        // Stopping: let the endpoint go at once so another worker's job can take it. Lease lost: the job (same
        // id) belongs to another worker now, and so does the endpoint; leave it be.
        const reason = context.signal.reason;
        if (!(reason instanceof JobInterruptedError && reason.interruption === 'lease-lost')) {
          await releaseWebhook(db, companyId, webhookId, job.id).catch(() => {});
        }
        throw error;
      }
      if (followUp) await enqueueDelivery(db, companyId, webhookId, followUp);
      await releaseWebhook(db, companyId, webhookId, job.id);
      if (followUp) return;
      // Idle. A job that found the endpoint busy meanwhile has exited, trusting this one to see its events: look
      // once more, after every writer still appending to the company has committed (settledLastSeq), and carry on
      // if something arrived.
      const lastSeq = await settledLastSeq(db, companyId);
      endpoint = await claim(companyId, webhookId, job.id);
      if (endpoint && endpoint.cursorSeq >= lastSeq) {
        await releaseWebhook(db, companyId, webhookId, job.id);
        return;
      }
    }
  };

  /**
   * The job failed for good (the database kept failing, or its workers kept dying): free the endpoint and queue a
   * fresh job in a few minutes, so its pending deliveries are not stranded until the company's next event.
   */
  const onGiveUp: GiveUp = async (tx, job, now) => {
    await releaseWebhooksOfJob(tx, job.id);
    await enqueue(tx, {
      kind: DELIVER_JOB,
      payload: { companyId: job.payload.companyId, webhookId: job.payload.webhookId },
      runAt: new Date(now.getTime() + 5 * 60_000),
    });
  };

  return { run, onGiveUp };
}
