import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { events } from '../../db/schema/index.ts';
import { wakeWebhooks } from '../webhooks/webhook-wake.ts';
import { noteWake } from './event-wakes.ts';
import type { EventType } from './events.types.ts';

export type EventRow = typeof events.$inferSelect;

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
  await wakeWebhooks(tx, companyId);
}

/** The company's event with this id, if any (a Last-Event-ID to resume after). */
export async function findEventSeq(db: Executor, companyId: number, eventId: number): Promise<number | undefined> {
  const [row] = await db
    .select({ seq: events.seq })
    .from(events)
    .where(and(eq(events.companyId, companyId), eq(events.id, eventId)));
  return row?.seq;
}

/** The company's last `seq` given out (0: none yet): a stream that does not resume starts after it. */
export async function lastSeq(db: Executor, companyId: number): Promise<number> {
  const result = await db.execute<{ last_seq: number | string | null }>(
    sql`select (select last_seq from event_counters where company_id = ${companyId}) as last_seq`,
  );
  return Number(result.rows[0]?.last_seq ?? 0);
}

/**
 * The company's next `limit` events after `afterSeq`, in seq order. `visible` says whether a reader sees one:
 * `webhook.ping` (a webhook's own test) never; with `assigneeUserAccessId` (an agent's stream) only the events
 * about that user access's leads. Hidden rows come without their data but still count, so a reader with a narrow
 * view moves through the company's events a page at a time, and `seq` of the last row is where the next page starts.
 */
export async function eventsAfter(
  db: Executor,
  companyId: number,
  afterSeq: number,
  limit: number,
  assigneeUserAccessId?: number,
) {
  const visible = and(
    sql`${events.type} <> 'webhook.ping'`,
    assigneeUserAccessId === undefined ? undefined : eq(events.assigneeUserAccessId, assigneeUserAccessId),
  )!;
  return db
    .select({
      id: events.id,
      seq: events.seq,
      type: events.type,
      createdAt: events.createdAt,
      visible: sql<boolean>`coalesce(${visible}, false)`,
      data: sql<Record<string, unknown> | null>`case when ${visible} then ${events.data} end`,
    })
    .from(events)
    .where(and(eq(events.companyId, companyId), gt(events.seq, afterSeq)))
    .orderBy(asc(events.seq))
    .limit(limit);
}

/** A NOTIFY on the events channel through the pool: the hub's probe that its listener hears the database. */
export async function notifyEvents(db: Executor, payload: string): Promise<void> {
  await db.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${payload})`);
}
