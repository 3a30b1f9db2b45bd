import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { events } from '../../db/schema/index.ts';
import { EVENTS_CHANNEL } from '../outbox/outbox.repository.ts';

export type EventRow = typeof events.$inferSelect;

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
