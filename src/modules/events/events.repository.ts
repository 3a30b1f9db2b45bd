import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { wakeWebhooks } from '../webhooks/webhook-wake.ts';
import type { EventType } from './events.types.ts';

export type NewEvent = {
  type: EventType;
  /** The resource exactly as the API shows it (a deletion: its tombstone). */
  data: Record<string, unknown>;
  leadId?: number | null;
  assigneeUserId?: number | null;
};

/**
 * Appends a company's events to the outbox, in the caller's transaction: the change and its events commit together
 * or not at all. The company's counter row is locked until that commit (src/db/locks.ts, step 5: the last lock of
 * any writer), so `seq` follows commit order and a reader resuming "after seq N" never misses a late commit.
 * One statement for the whole batch (an import batch appends hundreds at once).
 */
export async function appendEvents(tx: Executor, companyId: number, items: readonly NewEvent[]): Promise<void> {
  if (items.length === 0) return;
  const n = items.length;
  await tx.execute(sql`
    with counter as (
      insert into event_counters (company_id, last_seq) values (${companyId}, ${n})
      on conflict (company_id) do update set last_seq = event_counters.last_seq + ${n}
      returning last_seq
    )
    insert into events (company_id, seq, type, data, lead_id, assignee_user_id)
    select ${companyId}, counter.last_seq - ${n} + v.ord, v.type, v.data, v.lead_id, v.assignee_user_id
    from counter, unnest(
      ${sql.param(items.map((e) => e.type))}::text[],
      ${sql.param(items.map((e) => JSON.stringify(e.data)))}::jsonb[],
      ${sql.param(items.map((e) => e.leadId ?? null))}::bigint[],
      ${sql.param(items.map((e) => e.assigneeUserId ?? null))}::bigint[]
    ) with ordinality as v(type, data, lead_id, assignee_user_id, ord)`);
  await wakeWebhooks(tx, companyId);
}
