import { index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, ref } from './columns.ts';
import { companies, users } from './identity.ts';
import { accesses } from './reference.ts';

/**
 * A company's API keys (API.md "Integrations"): a server-to-server credential acting in the company (and its
 * descendants) with one access. Only the SHA-256 of the secret is stored: the secret is shown once, at creation.
 * Revoked keys stay (revoked_at set) so an audit can still say which key did what; they are not listed.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    accessId: ref()
      .notNull()
      .references(() => accesses.id),
    name: text().notNull(),
    /** The first characters of the secret (`lsk_` + 8), shown in lists to tell keys apart. */
    prefix: text().notNull(),
    secretHash: text().notNull(),
    /** Who made it; writes made with the key are attributed to them. */
    createdByUserId: ref().references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp({ withTimezone: true }),
    lastUsedAt: timestamp({ withTimezone: true }),
    revokedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    // Every authenticated request with a key looks it up by this.
    uniqueIndex('api_keys_secret_hash_unique').on(t.secretHash),
    index().on(t.companyId, t.id),
    index().on(t.accessId),
    index().on(t.createdByUserId),
  ],
);
