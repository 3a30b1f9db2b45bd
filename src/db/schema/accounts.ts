import { sql } from 'drizzle-orm';
import { index, pgTable, text, timestamp, unique, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, ref, timestamps } from './columns.ts';
import { companies, users } from './identity.ts';
import { accesses, legalTerms, memberships } from './reference.ts';

/** Who accepted which version of which legal document, when, from where. Never updated. */
export const legalTermAcceptances = pgTable(
  'legal_term_acceptances',
  {
    id: id(),
    userId: ref()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    legalTermId: ref()
      .notNull()
      .references(() => legalTerms.id),
    acceptedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    ip: text(),
    userAgent: text(),
  },
  (t) => [unique('legal_term_acceptances_user_term_unique').on(t.userId, t.legalTermId), index().on(t.legalTermId)],
);

/**
 * Invitations into a company. The code is shown once (in the 201 and the email) and stored only as a SHA-256.
 * Pending: not accepted, not deleted, not expired. One pending invitation per company and address.
 */
export const invitations = pgTable(
  'invitations',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    email: text().notNull(),
    accessId: ref()
      .notNull()
      .references(() => accesses.id),
    codeHash: text().notNull(),
    invitedByUserId: ref().references(() => users.id, { onDelete: 'set null' }),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    acceptedAt: timestamp({ withTimezone: true }),
    acceptedByUserId: ref().references(() => users.id, { onDelete: 'set null' }),
    deletedAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('invitations_code_hash_unique').on(t.codeHash),
    uniqueIndex('invitations_open_email_unique')
      .on(t.companyId, t.email)
      .where(sql`${t.acceptedAt} is null and ${t.deletedAt} is null`),
    index().on(t.companyId, t.id),
    index().on(t.email),
    index().on(t.accessId),
    // The daily invitation budgets count by company and by inviter over the last 24 hours.
    index().on(t.companyId, t.createdAt),
    index().on(t.invitedByUserId, t.createdAt),
    index().on(t.acceptedByUserId),
  ],
);

/**
 * A company's subscription to a plan. `active` renews; `canceled` runs until `current_period_end`; `ended` is
 * history (replaced by a plan change, or past its end). At most one active-or-canceled row per company.
 */
export const subscriptions = pgTable(
  'subscriptions',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    membershipId: ref()
      .notNull()
      .references(() => memberships.id),
    status: text({ enum: ['active', 'canceled', 'ended'] }).notNull(),
    currentPeriodStart: timestamp({ withTimezone: true }).notNull(),
    currentPeriodEnd: timestamp({ withTimezone: true }).notNull(),
    canceledAt: timestamp({ withTimezone: true }),
    endedAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('subscriptions_current_unique').on(t.companyId).where(sql`${t.status} in ('active', 'canceled')`),
    index().on(t.companyId, t.id),
    index().on(t.membershipId),
  ],
);

/** External sign-in identities linked to a user (OpenID Connect); `password` is implied by users.password_hash. */
export const userProviders = pgTable(
  'user_providers',
  {
    id: id(),
    userId: ref()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text().notNull(),
    subject: text().notNull(),
    email: text().notNull(),
    linkedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('user_providers_provider_subject_unique').on(t.provider, t.subject), index().on(t.userId)],
);
