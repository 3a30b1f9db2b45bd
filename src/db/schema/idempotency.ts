import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { id } from './columns.ts';

/**
 * `Idempotency-Key`s of POSTs (API.md "Integrations", src/plugins/idempotency.ts): one row per principal and key,
 * claimed before the handler runs and completed with the answer it gave. Not a tenant table: a key belongs to the
 * principal that sent it (`user:<id>`, `key:<id>`), whichever company its request was about, so there is no
 * company_id to filter by and no foreign key (a key outlives nothing: rows expire after 24 h).
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    id: id(),
    /** callerKey(request): `user:<id>` or `key:<id>`. */
    caller: text().notNull(),
    key: text().notNull(),
    /** HMAC of method, route, path parameters, query and body: the same key on another request is refused. */
    fingerprint: text().notNull(),
    /** Which process's request holds the claim: only it may complete or release it. */
    claim: uuid().notNull(),
    /** When the key was first used (the 24 h count from here), by the application's clock. */
    createdAt: timestamp({ withTimezone: true }).notNull(),
    /** When the running request claimed it: a claim older than the request timeout and grace is a dead process's. */
    claimedAt: timestamp({ withTimezone: true }).notNull(),
    /** Null while the first request runs. */
    status: integer(),
    /** The answer (status, headers that matter, body), sealed: bodies may hold secrets shown once. */
    response: text(),
  },
  (t) => [
    uniqueIndex('idempotency_keys_caller_key_unique').on(t.caller, t.key),
    index('idempotency_keys_created_at_index').on(t.createdAt),
  ],
);
