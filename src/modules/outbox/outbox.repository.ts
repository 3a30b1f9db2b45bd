import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import type { EventType } from './event-types.ts';
import { noteWake } from './event-wakes.ts';

/**
 * The transactional outbox: the one write every change's events go through, in the change's own transaction. It
 * knows no feature — leads, imports, appointments, accesses and webhooks all import it, and the event stream
 * (modules/events) and webhook deliveries (modules/webhooks) read what it wrote — so no module cycle runs through it.
 */

/** The kind of a webhook endpoint's delivery job: the outbox queues it, modules/webhooks runs it. */
export const WEBHOOK_DELIVER_JOB = 'webhooks.deliver';

/** The channel every append notifies at commit (payload: the company id); it only wakes readers of the outbox. */
export const EVENTS_CHANNEL = 'leadsy_events';

export type NewEvent = {
  type: EventType;
  /** The resource exactly as the API shows it (a deletion: its tombstone). */
  data: Record<string, unknown>;
  leadId?: number | null;
  /** The user access the lead is assigned to after the change (an appointment: the one it is booked for). */
  assigneeUserAccessId?: number | null;
};

/**
 * Appends a company's events to the outbox, in the caller's transaction: the change and its events commit together
 * or not at all. The company's counter row is locked until that commit (src/db/locks.ts, step 5: the last lock of
 * any writer), so `seq` follows commit order and a reader resuming "after seq N" never misses a late commit.
 * One statement for the whole batch (an import batch appends hundreds at once), which also queues a NOTIFY: it is
 * delivered at commit only, so a stream woken by it always finds the rows (and a rolled-back change wakes nobody).
 */
export async function appendEvents(tx: Executor, companyId: number, items: readonly NewEvent[]): Promise<void> {
  if (items.length === 0) return;
  const n = items.length;
  await tx.execute(sql`
    with counter as (
      insert into event_counters (company_id, last_seq) values (${companyId}, ${n})
      on conflict (company_id) do update set last_seq = event_counters.last_seq + ${n}
      returning last_seq
    ), appended as (
      insert into events (company_id, seq, type, data, lead_id, assignee_user_access_id)
      select ${companyId}, counter.last_seq - ${n} + v.ord, v.type, v.data, v.lead_id, v.assignee_user_access_id
      from counter, unnest(
        ${sql.param(items.map((e) => e.type))}::text[],
        ${sql.param(items.map((e) => JSON.stringify(e.data)))}::json[],
        ${sql.param(items.map((e) => e.leadId ?? null))}::bigint[],
        ${sql.param(items.map((e) => e.assigneeUserAccessId ?? null))}::bigint[]
      ) with ordinality as v(type, data, lead_id, assignee_user_access_id, ord)
      returning 1
    )
    select pg_notify(${EVENTS_CHANNEL}, ${String(companyId)}) from (select count(*) from appended) as done`);
  // With REDIS_URL streams are woken through Redis instead, after the commit (event-wakes.ts).
  noteWake(tx, companyId);
  await wakeCompanyWebhooks(tx, companyId);
}

/**
 * The outbox's wake-up, in the transaction that appends a company's events, after its counter lock (step 5):
 * one statement that locks nothing, queuing a delivery job per enabled endpoint of the company that has none
 * queued yet. A queued job, whenever it runs, waits for every writer of the company still holding the counter
 * (webhook-delivery.job.ts) before it reads, so the events of the writer that found it queued are never missed.
 */
async function wakeCompanyWebhooks(db: Executor, companyId: number): Promise<void> {
  // Literals, not parameters, in the NOT EXISTS: the planner then matches jobs_webhook_deliver_queued_index.
  await db.execute(sql`
    insert into jobs (kind, payload)
    select ${WEBHOOK_DELIVER_JOB}, jsonb_build_object('companyId', w.company_id, 'webhookId', w.id)
    from webhook_endpoints w
    where w.company_id = ${companyId} and w.enabled
      and not exists (
        select 1 from jobs j
        where j.status = 'queued' and j.kind = 'webhooks.deliver'
          and (j.payload->>'webhookId') = w.id::text
      )`);
}
