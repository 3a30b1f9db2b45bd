import { sql } from 'drizzle-orm';
import { bigint, index, json, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, ref } from './columns.ts';
import { companies } from './identity.ts';

/**
 * The transactional outbox of the integrations (API.md "Integrations"): one row per change, written in the
 * transaction of the change, read by webhook deliveries and the event stream. `seq` numbers a company's events in
 * commit order (event_counters is locked until the writer commits), so "everything after seq N" never misses an
 * event that committed late; `id` is the global id integrators see (`evt_<id>`).
 */
export const events = pgTable(
  'events',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    seq: bigint({ mode: 'number' }).notNull(),
    type: text().notNull(),
    /**
     * The resource exactly as the API shows it at the time of the change (a deletion: its tombstone). `json`, not
     * `jsonb`: the text is kept as written, so a webhook body and an SSE event show the keys in the API's order.
     */
    data: json().$type<Record<string, unknown>>().notNull(),
    /**
     * The lead the event is about, and the user access it was assigned to after the change (an appointment: the
     * user access it is booked for). An agent's lead scope is by user access (authz.policies.ts leadScope), so an
     * agent's stream shows exactly the events whose assignee is their access in the company.
     */
    leadId: ref(),
    assigneeUserAccessId: ref(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('events_company_seq_unique').on(t.companyId, t.seq),
    index('events_created_at_index').on(t.createdAt),
  ],
);

/** The last `seq` given out per company. Its row is the last lock a writer takes (src/db/locks.ts, step 5). */
export const eventCounters = pgTable('event_counters', {
  companyId: ref()
    .primaryKey()
    .references(() => companies.id, { onDelete: 'cascade' }),
  lastSeq: bigint({ mode: 'number' }).notNull().default(sql`0`),
});
