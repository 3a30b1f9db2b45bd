/**
 * How an outbox row is shown to integrators, the same on the event stream and in webhook deliveries: its public id
 * (the SSE `id:` and the `webhook-id` header) and its body (`{"type","timestamp","data"}`, the Standard Webhooks
 * payload and the SSE `data:`).
 */

/** The public id of an event: `evt_` and the outbox row's id (global, and increasing with `seq` in a company). */
export const publicEventId = (row: { id: number }) => `evt_${row.id}`;

const EVENT_ID = /^evt_([1-9][0-9]{0,15})$/;

/** The outbox id of a public event id; undefined when it is not one (a Last-Event-ID sent by hand, say). */
export function parseEventId(value: string): number | undefined {
  const match = EVENT_ID.exec(value.trim());
  return match ? Number(match[1]) : undefined;
}

/**
 * The body of an event. `timestamp` is the outbox row's `created_at`: when the change's transaction began (not its
 * commit: the order of events is their seq, not this), ISO 8601 UTC; `data` is the resource as the API showed it.
 */
export function eventBody(row: { type: string; createdAt: Date; data: Record<string, unknown> | null }): string {
  return JSON.stringify({ type: row.type, timestamp: row.createdAt.toISOString(), data: row.data });
}
