import { and, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { events, jobs, type WebhookAttempt, webhookDeliveries, webhookEndpoints } from '../../db/schema/index.ts';
import type { WebhookBacklog } from '../../lib/telemetry.ts';

export type WebhookRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookChanges = Partial<Pick<WebhookRow, 'url' | 'events' | 'description' | 'enabled'>>;

import { WEBHOOK_DELIVER_JOB } from '../outbox/outbox.repository.ts';

// Every statement on one endpoint or one delivery names its company too (tenancy in every query).
const endpointIs = (companyId: number, id: number) =>
  and(eq(webhookEndpoints.companyId, companyId), eq(webhookEndpoints.id, id));
const deliveryIs = (companyId: number, webhookId: number, id: number) =>
  and(
    eq(webhookDeliveries.companyId, companyId),
    eq(webhookDeliveries.webhookId, webhookId),
    eq(webhookDeliveries.id, id),
  );

export const DELIVER_JOB = WEBHOOK_DELIVER_JOB;
/** At most this many attempts are kept per delivery (replays asked again and again cannot grow a row forever). */
const KEPT_ATTEMPTS = 50;

/** Serializes creations in one company, so the cap on endpoints holds under concurrent POSTs. */
export async function lockCompanyWebhooks(db: Executor, companyId: number): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtext(${`webhooks:${companyId}`}))`);
}

export async function countWebhooks(db: Executor, companyId: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.companyId, companyId));
  return Number(row?.n ?? 0);
}

/**
 * A new endpoint starts at the company's latest event: it receives what happens from now on, not the history.
 * (The counter is read without a lock: an event committing at this very moment may or may not be included.)
 */
export async function insertWebhook(
  db: Executor,
  companyId: number,
  values: { url: string; events: string[]; description: string | null; secretSealed: string; now: Date },
): Promise<WebhookRow> {
  const [row] = await db
    .insert(webhookEndpoints)
    .values({
      companyId,
      url: values.url,
      events: values.events,
      description: values.description,
      secretSealed: values.secretSealed,
      cursorSeq: sql`coalesce((select last_seq from event_counters where company_id = ${companyId}), 0)`,
      createdAt: values.now,
      updatedAt: values.now,
    })
    .returning();
  return row!;
}

export async function findWebhook(db: Executor, companyId: number, id: number): Promise<WebhookRow | undefined> {
  const [row] = await db.select().from(webhookEndpoints).where(endpointIs(companyId, id));
  return row;
}

/**
 * Takes a KEY SHARE lock on the endpoint until the transaction ends: a ping holds it before appending its event
 * (lock step 5 comes last), so inserting the ping's delivery afterwards waits on nothing.
 */
export async function holdWebhook(db: Executor, companyId: number, id: number): Promise<WebhookRow | undefined> {
  const [row] = await db.select().from(webhookEndpoints).where(endpointIs(companyId, id)).for('key share');
  return row;
}

export async function listWebhooks(db: Executor, companyId: number, page: { limit: number; after?: number }) {
  return db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.companyId, companyId),
        page.after !== undefined ? gt(webhookEndpoints.id, page.after) : undefined,
      ),
    )
    .orderBy(webhookEndpoints.id)
    .limit(page.limit + 1);
}

export async function updateWebhook(
  db: Executor,
  companyId: number,
  id: number,
  changes: WebhookChanges & { reenable?: boolean; now: Date },
): Promise<WebhookRow | undefined> {
  const { reenable, now, ...rest } = changes;
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      ...rest,
      // Turned back on: it starts afresh (the 5 days of failures count again from its next failure).
      ...(reenable ? { disabledReason: null, failingSince: null } : {}),
      updatedAt: now,
    })
    .where(endpointIs(companyId, id))
    .returning();
  return row;
}

export async function rotateWebhookSecret(
  db: Executor,
  companyId: number,
  id: number,
  values: { secretSealed: string; previousSecretSealed: string; previousSecretExpiresAt: Date; now: Date },
): Promise<WebhookRow | undefined> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ ...values, updatedAt: values.now })
    .where(endpointIs(companyId, id))
    .returning();
  return row;
}

/** Hard delete: its deliveries go with it (ON DELETE CASCADE); a delivery job running for it finds nothing. */
export async function deleteWebhook(db: Executor, companyId: number, id: number): Promise<boolean> {
  const rows = await db
    .delete(webhookEndpoints)
    .where(endpointIs(companyId, id))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/** The latest event of the company: inside a transaction that just appended one, that event. */
export async function latestEvent(db: Executor, companyId: number) {
  const [row] = await db
    .select({ id: events.id, seq: events.seq, type: events.type })
    .from(events)
    .where(eq(events.companyId, companyId))
    .orderBy(desc(events.seq))
    .limit(1);
  return row;
}

/** A delivery of one event (the ping's, made at once so the API can answer with it); none twice. */
export async function insertDelivery(
  db: Executor,
  companyId: number,
  values: { webhookId: number; eventId: number; eventSeq: number; eventType: string; now: Date },
): Promise<DeliveryRow | undefined> {
  const [row] = await db
    .insert(webhookDeliveries)
    .values({ companyId, ...values, nextAttemptAt: values.now, createdAt: values.now, updatedAt: values.now })
    .onConflictDoNothing()
    .returning();
  return row;
}

export async function listDeliveries(
  db: Executor,
  companyId: number,
  webhookId: number,
  page: { limit: number; before?: number },
) {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.companyId, companyId),
        eq(webhookDeliveries.webhookId, webhookId),
        page.before !== undefined ? lt(webhookDeliveries.id, page.before) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(page.limit + 1);
}

export async function findDelivery(
  db: Executor,
  companyId: number,
  webhookId: number,
  id: number,
): Promise<DeliveryRow | undefined> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(deliveryIs(companyId, webhookId, id));
  return row;
}

/**
 * One more attempt now. A pending delivery just stops waiting for its backoff; a finished one (succeeded or
 * failed) becomes a replay: one attempt out of order, after which it is succeeded or failed again.
 */
export async function requestAttempt(
  db: Executor,
  companyId: number,
  webhookId: number,
  id: number,
  now: Date,
): Promise<DeliveryRow | undefined> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({
      replay: sql`${webhookDeliveries.status} <> 'pending'`,
      status: 'pending',
      nextAttemptAt: now,
      updatedAt: now,
    })
    .where(deliveryIs(companyId, webhookId, id))
    .returning();
  return row;
}

/**
 * Queues a delivery job for one endpoint at `runAt`, unless one is already queued to run by then (a job that
 * finds the endpoint busy or idle costs little, but piles of them would crowd the queue).
 */
export async function enqueueDelivery(db: Executor, companyId: number, webhookId: number, runAt: Date) {
  await db.execute(sql`
    insert into jobs (kind, payload, run_at)
    select ${DELIVER_JOB}, ${JSON.stringify({ companyId, webhookId })}::jsonb, ${runAt}
    where not exists (
      select 1 from jobs
      where status = 'queued' and kind = 'webhooks.deliver' and run_at <= ${runAt}
        and (payload->>'webhookId') = ${String(webhookId)}
    )`);
}

// ---- The delivery job's side ----

/**
 * Makes `jobId` the one job delivering to this endpoint until `until`: free, expired, or already this job's
 * (the same job claimed again after its worker died). Undefined when the endpoint is gone, disabled or busy.
 */
export async function claimWebhook(
  db: Executor,
  companyId: number,
  id: number,
  jobId: number,
  now: Date,
  until: Date,
): Promise<WebhookRow | undefined> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ leaseJobId: jobId, leaseUntil: until })
    .where(
      and(
        eq(webhookEndpoints.companyId, companyId),
        eq(webhookEndpoints.id, id),
        eq(webhookEndpoints.enabled, true),
        sql`(${webhookEndpoints.leaseUntil} is null or ${webhookEndpoints.leaseUntil} < ${now} or ${webhookEndpoints.leaseJobId} = ${jobId})`,
      ),
    )
    .returning();
  return row;
}

export async function releaseWebhook(db: Executor, companyId: number, id: number, jobId: number): Promise<void> {
  await db
    .update(webhookEndpoints)
    .set({ leaseJobId: null, leaseUntil: null })
    .where(
      and(
        eq(webhookEndpoints.companyId, companyId),
        eq(webhookEndpoints.id, id),
        eq(webhookEndpoints.leaseJobId, jobId),
      ),
    );
}

/** Frees whatever endpoint a given-up job held (its worker died on its last attempt). */
export async function releaseWebhooksOfJob(db: Executor, jobId: number): Promise<void> {
  await db
    .update(webhookEndpoints)
    .set({ leaseJobId: null, leaseUntil: null })
    .where(eq(webhookEndpoints.leaseJobId, jobId));
}

/**
 * The company's last event `seq`, read under FOR SHARE: this waits for every transaction still appending events to
 * the company (they hold the counter row until they commit), so everything up to the answer is committed and
 * visible to the next statement. Held for this one statement only.
 */
export async function settledLastSeq(db: Executor, companyId: number): Promise<number> {
  const result = await db.execute<{ last_seq: string | number }>(
    sql`select last_seq from event_counters where company_id = ${companyId} for share`,
  );
  return Number(result.rows[0]?.last_seq ?? 0);
}

/**
 * Turns the company's events after the endpoint's cursor (up to `lastSeq`, at most `limit` of them) that it
 * subscribes to, or that are pings naming it, into pending deliveries, and moves the cursor past them: one
 * statement, so a crash leaves either both or neither. Answers the new cursor (undefined: the lease was lost).
 */
export async function materializeDeliveries(
  db: Executor,
  companyId: number,
  webhookId: number,
  options: { jobId: number; lastSeq: number; limit: number; now: Date },
): Promise<number | undefined> {
  const { jobId, lastSeq, limit, now } = options;
  const result = await db.execute<{ cursor_seq: string | number }>(sql`
    with endpoint as (
      select id, events as types, cursor_seq from webhook_endpoints
      where id = ${webhookId} and company_id = ${companyId} and lease_job_id = ${jobId}
    ), picked as (
      select e.id, e.seq, e.type from events e, endpoint p
      where e.company_id = ${companyId} and e.seq > p.cursor_seq and e.seq <= ${lastSeq}
        and (e.type = any(p.types) or (e.type = 'webhook.ping' and e.data->>'id' = p.id::text))
      order by e.seq
      limit ${limit}
    ), inserted as (
      insert into webhook_deliveries
        (company_id, webhook_id, event_id, event_seq, event_type, next_attempt_at, created_at, updated_at)
      select ${companyId}, ${webhookId}, id, seq, type, ${now}, ${now}, ${now} from picked order by seq
      on conflict (webhook_id, event_id) do nothing
    )
    update webhook_endpoints w
    set cursor_seq = case when (select count(*) from picked) >= ${limit} then (select max(seq) from picked)
                          else ${lastSeq} end
    from endpoint p
    where w.id = p.id and w.cursor_seq = p.cursor_seq
    returning w.cursor_seq`);
  const row = result.rows[0];
  return row ? Number(row.cursor_seq) : undefined;
}

export type DueDelivery = DeliveryRow & {
  event: { id: number; type: string; data: Record<string, unknown>; createdAt: Date };
};

/**
 * The endpoint's next pending deliveries, in the order they go: replays first (asked through the API, out of
 * order), then by event. The caller sends each only when its time has come: later events wait behind it
 * (per-endpoint order).
 */
export async function dueDeliveries(
  db: Executor,
  companyId: number,
  webhookId: number,
  limit: number,
): Promise<DueDelivery[]> {
  const rows = await db
    .select({ delivery: webhookDeliveries, event: events })
    .from(webhookDeliveries)
    .innerJoin(events, eq(events.id, webhookDeliveries.eventId))
    .where(
      and(
        eq(webhookDeliveries.companyId, companyId),
        eq(webhookDeliveries.webhookId, webhookId),
        eq(webhookDeliveries.status, 'pending'),
      ),
    )
    .orderBy(desc(webhookDeliveries.replay), webhookDeliveries.eventSeq)
    .limit(limit);
  return rows.map(({ delivery, event }) => ({
    ...delivery,
    event: { id: event.id, type: event.type, data: event.data, createdAt: event.createdAt },
  }));
}

/** Records one attempt and what follows it (the delivery's new status and next attempt). */
export async function recordAttempt(
  db: Executor,
  companyId: number,
  id: number,
  outcome: {
    attempt: WebhookAttempt;
    status: 'pending' | 'succeeded' | 'failed';
    scheduled: boolean;
    nextAttemptAt: Date | null;
    now: Date;
  },
): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({
      attempts: sql`jsonb_path_query_array(${webhookDeliveries.attempts} || ${JSON.stringify([outcome.attempt])}::jsonb, ${`$[last - ${KEPT_ATTEMPTS - 1} to last]`})`,
      status: outcome.status,
      scheduledAttempts: outcome.scheduled
        ? sql`${webhookDeliveries.scheduledAttempts} + 1`
        : webhookDeliveries.scheduledAttempts,
      replay: false,
      nextAttemptAt: outcome.nextAttemptAt,
      updatedAt: outcome.now,
    })
    .where(and(eq(webhookDeliveries.companyId, companyId), eq(webhookDeliveries.id, id)));
}

/**
 * After an attempt: a success clears the endpoint's failing streak; a failure starts it (or continues it) and,
 * once it has lasted `disableAfterMs`, disables the endpoint. Answers whether the endpoint is still enabled.
 */
export async function noteEndpointOutcome(
  db: Executor,
  companyId: number,
  id: number,
  outcome: { ok: boolean; now: Date; disableAfterMs: number; reason: string },
): Promise<boolean> {
  const { ok, now } = outcome;
  const disableBefore = new Date(now.getTime() - outcome.disableAfterMs);
  const result = await db.execute<{ enabled: boolean }>(sql`
    update webhook_endpoints
    set failing_since = case when ${ok} then null else coalesce(failing_since, ${now}) end,
        enabled = enabled and (${ok} or coalesce(failing_since, ${now}) > ${disableBefore}),
        disabled_reason = case when not ${ok} and enabled and coalesce(failing_since, ${now}) <= ${disableBefore}
                               then ${outcome.reason} else disabled_reason end
    where id = ${id} and company_id = ${companyId}
    returning enabled`);
  return result.rows[0]?.enabled === true;
}

/**
 * Retention: deletes up to `batch` events older than `before` that no pending delivery still needs (their
 * deliveries and attempts go with them, ON DELETE CASCADE). Answers how many went.
 */
export async function pruneEvents(db: Executor, before: Date, batch: number): Promise<number> {
  const result = await db.execute<{ id: string | number }>(sql`
    delete from events where id in (
      select e.id from events e
      where e.created_at < ${before}
        and not exists (select 1 from webhook_deliveries d where d.event_id = e.id and d.status = 'pending')
      limit ${batch}
    )
    returning id`);
  return result.rows.length;
}

/** Queues `kind` at `runAt` unless one is queued or running already; across processes (an advisory lock). */
export async function ensureSingletonJob(db: Executor, kind: string, runAt: Date, exceptJobId?: number) {
  await db.execute(sql`select pg_advisory_xact_lock(hashtext(${`singleton-job:${kind}`}))`);
  const [existing] = await db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        eq(jobs.kind, kind),
        // Literals, so the planner uses the partial indexes on queued and running jobs.
        sql`(${jobs.status} = 'queued' or ${jobs.status} = 'running')`,
        exceptJobId !== undefined ? sql`${jobs.id} <> ${exceptJobId}` : undefined,
      ),
    )
    .limit(1);
  if (existing) return;
  await db.insert(jobs).values({ kind, payload: {}, runAt });
}

/**
 * Every company's webhooks at once, for /metrics. The pending count reads the partial index of pending deliveries
 * only; the events behind compare each enabled endpoint's cursor with its company's counter (one row each).
 */
export async function webhookBacklog(db: Executor): Promise<WebhookBacklog> {
  const result = await db.execute<{
    enabled: number;
    disabled: number;
    pending: number;
    oldest_pending_at: string | Date | null;
    events_behind: string | number;
  }>(sql`
    select
      (select count(*)::int from webhook_endpoints where enabled) as enabled,
      (select count(*)::int from webhook_endpoints where not enabled) as disabled,
      (select count(*)::int from webhook_deliveries where status = 'pending') as pending,
      (select min(created_at) from webhook_deliveries where status = 'pending') as oldest_pending_at,
      (select coalesce(sum(greatest(c.last_seq - e.cursor_seq, 0)), 0)
         from webhook_endpoints e join event_counters c on c.company_id = e.company_id
        where e.enabled) as events_behind`);
  const row = result.rows[0]!;
  return {
    enabled: Number(row.enabled),
    disabled: Number(row.disabled),
    pending: Number(row.pending),
    oldestPendingAt: row.oldest_pending_at === null ? null : new Date(row.oldest_pending_at),
    eventsBehind: Number(row.events_behind),
  };
}
